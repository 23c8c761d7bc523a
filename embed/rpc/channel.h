#pragma once
// Channel: the client side of Embed RPC over one client::Connection. Calls go
// to the subject "<package>.<Service>.<Method>"; whichever instance of the
// service's queue group takes the call answers. Generated stubs call these
// raw-bytes methods; tools (`embed rpc`, the C ABI) call them directly.
// Thread-safe; the Connection must outlive the Channel.
//
//   embed::rpc::Channel channel(*connection);
//   greeter::v1::Greeter::Client greeter(channel);
//   greeter::v1::HelloReply reply;
//   embed::rpc::RpcStatus status = greeter.SayHello(request, &reply);

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include "embed/rpc/call_options.h"
#include "embed/rpc/rpc_status.h"
#include "embed/rpc/service.h"

namespace embed::client {
class Connection;
}

namespace embed::rpc {
namespace internal {
class ChannelState;
}

struct ChannelOptions {
  // Deadline of unary calls whose CallOptions set none.
  std::chrono::milliseconds default_timeout{30'000};
  // Messages the server may send ahead on a stream before this side has
  // consumed them (the flow-control window this side grants). 1..65536.
  std::uint32_t stream_window = 64;
  // A stream with no traffic sends a keepalive this often, and the other
  // side is declared gone (UNAVAILABLE) after 3 intervals without hearing
  // from it. Sent to the server, which uses the same interval.
  std::chrono::milliseconds keepalive_interval{1'000};
};

// The client's end of a streaming call. Write/WritesDone from one thread,
// Read/Finish from one thread (it may be another); Cancel from any.
class ClientStream {
 public:
  virtual ~ClientStream() = default;  // cancels the call if not finished
  // Sends a message (client- and bidi-streaming calls); blocks while the
  // server's window is full. Not OK when the call is over (the call's final
  // status) or after WritesDone (FAILED_PRECONDITION).
  virtual RpcStatus Write(std::string message) = 0;
  // Half-closes: the server's Read() returns false after the messages sent.
  virtual RpcStatus WritesDone() = 0;
  // Blocks for the next message from the server; false at the end of the
  // stream or on an error (then Finish() says which). For a client-streaming
  // call the single response is read here after WritesDone().
  virtual bool Read(std::string* message) = 0;
  // Blocks until the call is over and returns its status (messages still
  // unread are dropped).
  virtual RpcStatus Finish() = 0;
  // Ends the call now: the server's context is cancelled and this side's
  // status becomes CANCELLED (unless the call was already over).
  virtual void Cancel() = 0;
  // Ends the call with `status` as its final status (the typed wrappers use
  // it when a response cannot be parsed); the server sees a cancellation.
  virtual void Abort(RpcStatus status) = 0;
};

using UnaryCallback = std::function<void(RpcStatus status, std::string response)>;
using StreamMessageCallback = std::function<void(std::string_view message)>;
using StreamDoneCallback = std::function<void(RpcStatus status)>;

class Channel {
 public:
  explicit Channel(client::Connection& connection, ChannelOptions options = {});
  // Cancels open streams and waits until no callback of this channel runs;
  // unary callbacks not yet run get CANCELLED. Not from one of its own
  // callbacks (it would wait for itself).
  ~Channel();
  Channel(const Channel&) = delete;
  Channel& operator=(const Channel&) = delete;

  // Unary call, blocking. UNAVAILABLE when no instance of the service is
  // running (no responders), UNIMPLEMENTED when the service has no such
  // method, DEADLINE_EXCEEDED when the deadline passes, or the handler's
  // status.
  RpcStatus CallUnary(std::string_view method, std::string_view request, std::string* response,
                      const CallOptions& options = {});
  // Unary call; `done` runs once, on the connection's dispatcher thread (on
  // the calling thread at once when the call cannot be sent).
  void CallUnaryAsync(std::string_view method, std::string_view request,
                      const CallOptions& options, UnaryCallback done);

  // Opens a streaming call of `kind` (not kUnary). `request` is the one
  // request of a server-streaming call and must be empty otherwise. Never
  // null; a call that cannot start reports its status from Read()/Finish().
  std::unique_ptr<ClientStream> OpenStream(std::string_view method, MethodKind kind,
                                           std::string_view request,
                                           const CallOptions& options = {});
  // Server-streaming call with callbacks: `on_message` per message, in order,
  // on the connection's dispatcher thread (the window is refilled as it
  // returns; an exception from it ends the call with INTERNAL), then
  // `on_done` once, never while `on_message` runs: on the dispatcher thread,
  // or on the channel's timer thread when the deadline passes or the server
  // goes silent, or on the thread that cancels. Cancel it by destroying the
  // Channel or with the returned handle's Cancel(); the handle may be dropped.
  std::shared_ptr<ClientStream> CallServerStreamingAsync(std::string_view method,
                                                         std::string_view request,
                                                         const CallOptions& options,
                                                         StreamMessageCallback on_message,
                                                         StreamDoneCallback on_done);

  const ChannelOptions& options() const;

 private:
  std::shared_ptr<internal::ChannelState> state_;
};

}  // namespace embed::rpc
