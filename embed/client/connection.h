#pragma once
// A connection to a NATS-protocol server (our broker or nats-server): publish,
// subscribe, request/reply, flush, drain, with reconnect and resubscribe, over
// nats:// (TCP), tls://, ws://, wss:// or inproc://<name> (a broker in the
// same process); the API, reconnect and buffering are the same on each.
// The connection runs its I/O on its own thread and calls user handlers on a
// separate dispatcher thread, so a slow handler never stalls the socket.
// All methods are thread-safe; do not call the blocking ones (Request, Flush,
// Drain, Close) from a handler.
//
//   auto conn = Connection::Connect(options);
//   auto sub = (*conn)->Subscribe("greet.*", [](const Message& m) { ... });
//   (*conn)->Publish("greet.joe", "hello");
//   auto reply = (*conn)->Request("svc.echo", "hi", std::chrono::seconds(1));

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string_view>

#include "embed/base/bytes.h"
#include "embed/base/result.h"
#include "embed/client/connection_options.h"
#include "embed/client/message.h"
#include "embed/client/subscription.h"

namespace embed::client {

struct SubscribeOptions {
  std::string queue_group;  // empty = plain subscription
  // 0 = use ConnectionOptions' defaults.
  std::size_t pending_messages_limit = 0;
  std::size_t pending_bytes_limit = 0;
};

// The handler gets the dispatcher's own copy of the message, which is dropped
// when the handler returns: a handler taking `Message&` may move from it.
// A handler taking `const Message&` converts as well.
using MessageHandler = std::function<void(Message&)>;
// Called once with the reply or an error (kTimeout; kUnavailable for no responders).
using ReplyHandler = std::function<void(Result<Message>)>;

class Connection {
 public:
  // Connects to the first reachable server and completes the handshake
  // (CONNECT + PING/PONG). kUnavailable when no server answers (or TLS
  // fails: "TLS handshake failed: ...", "secure connection not available"),
  // kUnauthenticated on an authorization violation, kInvalidArgument on a bad
  // URL or bad TLS options (kIoError when a TLS file cannot be read).
  static Result<std::unique_ptr<Connection>> Connect(const ConnectionOptions& options);

  virtual ~Connection() = default;  // Close()s

  // Publishes; kInvalidArgument for a bad subject, kResourceExhausted when the
  // payload exceeds the server's max_payload or the reconnect buffer is full,
  // kFailedPrecondition when closed.
  virtual Status Publish(std::string_view subject, ByteView payload,
                         std::string_view reply_to = {}) = 0;
  // Publishes with headers when message.has_headers or headers are present.
  virtual Status Publish(const Message& message) = 0;

  // Subscribes; `handler` runs on the dispatcher thread, in order per subscription.
  virtual Result<std::unique_ptr<Subscription>> Subscribe(std::string_view subject,
                                                          MessageHandler handler,
                                                          const SubscribeOptions& options = {}) = 0;

  // Sends a request over the shared inbox and waits for the first reply.
  // kTimeout when none arrives in time; kUnavailable when there are no responders.
  virtual Result<Message> Request(std::string_view subject, ByteView payload,
                                  std::chrono::milliseconds timeout) = 0;
  virtual Result<Message> Request(const Message& request, std::chrono::milliseconds timeout) = 0;
  // Asynchronous form: `on_reply` runs once on the dispatcher thread (on the
  // calling thread, at once, when the connection is already closed).
  virtual void RequestAsync(const Message& request, std::chrono::milliseconds timeout,
                            ReplyHandler on_reply) = 0;

  // Sends PING and waits for the PONG: every earlier publish reached the server.
  // kTimeout; kUnavailable when not connected (reconnecting) or when the
  // connection is lost meanwhile; kFailedPrecondition when closed.
  virtual Status Flush(std::chrono::milliseconds timeout) = 0;
  // Unsubscribes everything, delivers what is pending to handlers, flushes
  // publishes, then closes. kTimeout if that takes longer than `timeout`.
  virtual Status Drain(std::chrono::milliseconds timeout) = 0;
  // Closes now: publishes already queued are written first, for at most
  // about a second; messages pending for handlers are dropped, and no handler
  // starts after Close() returns (one running finishes first, unless Close()
  // is called from it). Idempotent.
  virtual void Close() = 0;

  virtual ConnectionState state() const = 0;
  // The URL of the server currently connected ("" when none).
  virtual std::string connected_url() const = 0;
  // The server's max_payload from INFO.
  virtual std::int64_t max_payload() const = 0;
  // A fresh unique inbox subject ("_INBOX.<nuid>").
  virtual std::string NewInbox() = 0;
};

}  // namespace embed::client
