#pragma once
// ClientCore: the sans-I/O client side of the NATS protocol. A driver feeds it
// the bytes read from the server and the current time; it returns the bytes to
// write (TakeOutput), events (TakeEvents) and the next deadline at which
// OnTimer() must be called. It owns the handshake, subscriptions (sids,
// auto-unsubscribe, resubscribe after reconnect), the shared request inbox,
// flush (PING/PONG FIFO), client pings and stale detection, the bounded buffer
// of publishes made while disconnected, and local limits (max_payload,
// subject grammar). No sockets, threads, clocks or locks: not thread-safe, the
// driver serialises calls. Portable (builds with em++ 3.1.6).
//
//   ClientCore core(options);
//   core.StartHandshake(now, credentials);     // transport is connected
//   core.Feed(bytes, now);                      // bytes read from the server
//   core.TakeOutput(out); write(out);           // bytes to send
//   core.TakeEvents(events);                    // connected, messages, replies...
//
// TLS on the NATS port (tls://): the server sends INFO in plaintext, then
// expects the TLS handshake. With a TlsPolicy that upgrades, the core stops
// in kAwaitingTls after INFO without producing CONNECT; the driver starts
// TLS on its transport, then calls TlsStarted(), which queues CONNECT + PING
// (they go out encrypted).

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <tuple>
#include <unordered_map>
#include <utility>
#include <variant>
#include <vector>

#include "embed/base/bytes.h"
#include "embed/base/clock.h"
#include "embed/base/result.h"
#include "embed/base/status.h"
#include "embed/client/message.h"
#include "embed/wire/headers.h"
#include "embed/wire/limits.h"
#include "embed/wire/nuid.h"
#include "embed/wire/server_info.h"
#include "embed/wire/server_op_parser.h"

namespace embed::client::internal {

struct ClientCoreOptions {
  std::string name;
  bool echo = true;
  std::string lang = "cpp";
  std::string version = "0.1.0";
  // Prefix of the shared request inbox ("_INBOX" -> "_INBOX.<nuid>.*").
  std::string inbox_prefix = "_INBOX";
  // Client pings: one every interval while connected; the connection is stale
  // (reconnect) when a ping would make more than max outstanding.
  std::chrono::milliseconds ping_interval{120'000};
  int max_pings_outstanding = 2;
  // Bound of the publishes (encoded bytes) buffered while not connected.
  std::size_t reconnect_buffer_bytes = 8 * 1024 * 1024;
  // From StartHandshake() until the handshake's PONG.
  std::chrono::milliseconds handshake_timeout{2'000};
  wire::Limits limits;
};

// Credentials sent in CONNECT (the URL's or the options').
struct Credentials {
  std::string user;
  std::string password;
  std::string token;
};

// How a handshake treats TLS on the NATS port (INFO's tls_required and
// tls_available), per transport.
enum class TlsPolicy {
  // The driver cannot upgrade: an INFO with tls_required fails the attempt.
  kUnsupported,
  // The transport secures itself or needs nothing (ws://, wss://, in-process):
  // INFO's TLS fields are ignored.
  kBelowProtocol,
  // nats://: upgrade when INFO has tls_required (as nats.go).
  kIfRequired,
  // tls:// or TLS configured: always upgrade; an INFO with neither
  // tls_required nor tls_available fails the attempt with kUnavailable
  // "secure connection not available".
  kRequired,
};

enum class CoreState {
  kDisconnected,  // no transport; publishes are buffered
  kAwaitingInfo,  // transport up, waiting for the server's INFO
  kAwaitingTls,   // INFO received; the driver must start TLS, then TlsStarted()
  kAwaitingPong,  // CONNECT + PING sent, waiting for PONG
  kConnected,
  kClosed,  // for good
};

// What the driver does after a DisconnectedEvent.
enum class AfterDisconnect { kReconnect, kClose };

// The handshake completed (PONG to the first PING). Subscriptions were re-sent
// and buffered publishes flushed into the output.
struct ConnectedEvent {
  wire::ServerInfo info;
  bool is_reconnect = false;
};
// The core gave up on the current transport (protocol error, -ERR that closes,
// stale connection, handshake failure or timeout). The driver must close the
// transport; the core is already kDisconnected (or kClosed).
struct DisconnectedEvent {
  Status reason;
  AfterDisconnect after = AfterDisconnect::kReconnect;
};
// An INFO received after the handshake.
struct InfoEvent {
  wire::ServerInfo info;
};
// A message for a user subscription.
struct MessageEvent {
  std::uint64_t sid = 0;
  Message message;
};
// The outcome of StartRequest(): the first reply, kUnavailable (no
// responders), kTimeout, or kCancelled (Close()).
struct ReplyEvent {
  std::uint64_t request_id = 0;
  Result<Message> reply;
};
// The outcome of StartFlush(): OK when the PONG arrived; kTimeout;
// kUnavailable when the transport was lost; kCancelled on Close().
struct FlushEvent {
  std::uint64_t flush_id = 0;
  Status status;
};
// An asynchronous error that keeps the connection (permissions violation,
// maximum subscriptions, undecodable headers).
struct ErrorEvent {
  Status status;
};
// A subscription is gone on the server: its auto-unsubscribe maximum was
// delivered, or its drain finished. No more MessageEvents for `sid`.
struct SubscriptionDoneEvent {
  std::uint64_t sid = 0;
};

using ClientEvent = std::variant<ConnectedEvent, DisconnectedEvent, InfoEvent, MessageEvent,
                                 ReplyEvent, FlushEvent, ErrorEvent, SubscriptionDoneEvent>;

// How a client reacts to a server -ERR text (nats-wire.md §5, as nats.go).
struct ServerErrorReaction {
  enum class Action {
    kReport,     // async error, connection kept
    kReconnect,  // drop this transport, reconnect
    kClose,      // close for good
  };
  Action action = Action::kClose;
  Status status;  // the error reported to the user; the server text is escaped
};
ServerErrorReaction ClassifyServerError(std::string_view text);

class ClientCore {
 public:
  explicit ClientCore(ClientCoreOptions options);

  // A new transport is connected: expects INFO, then sends CONNECT + PING.
  // The handshake must complete by now + handshake_timeout.
  void StartHandshake(SteadyTime now, const Credentials& credentials) {
    StartHandshake(now, credentials, TlsPolicy::kUnsupported);
  }
  void StartHandshake(SteadyTime now, const Credentials& credentials, TlsPolicy tls);
  // In kAwaitingTls: the driver started TLS on the transport; queues CONNECT
  // + PING. Ignored in any other state.
  void TlsStarted(SteadyTime now);
  // Bytes read from the server. Protocol errors end the transport with a
  // DisconnectedEvent. Bytes are ignored unless a handshake was started.
  void Feed(ByteView bytes, SteadyTime now);
  // Runs the timers that are due: handshake timeout, request and flush
  // timeouts, client pings / stale detection.
  void OnTimer(SteadyTime now);
  // The transport was lost (read/write error, EOF) or closed by the driver
  // after a DisconnectedEvent. Pending flushes fail with kUnavailable;
  // requests stay pending until their deadline.
  void OnTransportClosed();
  // Closes for good: pending requests and flushes end with kCancelled, later
  // calls fail with kFailedPrecondition.
  void Close();

  // Publishes (headers may be null). kInvalidArgument for a bad subject or
  // reply subject; kResourceExhausted when larger than max_payload or when the
  // reconnect buffer is full; kFailedPrecondition when closed or when headers
  // are given and the server does not support them.
  Status Publish(std::string_view subject, std::string_view reply_to,
                 const wire::Headers* headers, ByteView payload);
  // Subscribes; returns the sid. kInvalidArgument for a bad subject or queue.
  Result<std::uint64_t> Subscribe(std::string_view subject, std::string_view queue_group);
  // max_messages == 0: removes now (no event). Otherwise the subscription
  // ends once `max_messages` messages in total were delivered, with a
  // SubscriptionDoneEvent; when that many were delivered already it ends now
  // and the SubscriptionDoneEvent is queued at once.
  // kNotFound for an unknown sid.
  Status Unsubscribe(std::uint64_t sid, std::uint64_t max_messages = 0);
  // Sends UNSUB and keeps delivering what the server sent before it; a
  // SubscriptionDoneEvent follows once the server confirmed (PONG). When not
  // connected the subscription ends at once.
  Status DrainSubscription(std::uint64_t sid);
  // Publishes `request` with a reply subject on the shared inbox (subscribed
  // on first use). A ReplyEvent with the returned id follows.
  Result<std::uint64_t> StartRequest(const Message& request, SteadyTime deadline);
  // Forgets a request; no ReplyEvent follows.
  void CancelRequest(std::uint64_t request_id);
  // Sends PING; a FlushEvent with the returned id follows when the PONG
  // arrives or at `deadline`. kUnavailable when not connected.
  Result<std::uint64_t> StartFlush(SteadyTime deadline);

  // Moves the bytes to write into `out` (which is cleared first; swapping
  // keeps both buffers' capacity).
  void TakeOutput(std::string& out);
  bool has_output() const { return !output_.empty(); }
  std::size_t output_bytes() const { return output_.size(); }
  // Moves the pending events to the end of `out`.
  void TakeEvents(std::vector<ClientEvent>& out);
  bool has_events() const { return !events_.empty(); }
  // When OnTimer() must run next; nullopt when no timer is needed.
  std::optional<SteadyTime> NextDeadline() const;

  CoreState state() const { return state_; }
  bool is_connected() const { return state_ == CoreState::kConnected; }
  // The driver must start TLS now (and write nothing before it).
  bool awaiting_tls() const { return state_ == CoreState::kAwaitingTls; }
  bool is_closed() const { return state_ == CoreState::kClosed; }
  // The last INFO (default-constructed before the first).
  const wire::ServerInfo& server_info() const { return server_info_; }
  std::int64_t max_payload() const { return server_info_.max_payload; }
  // Sids of the user's subscriptions (not the request inbox).
  std::vector<std::uint64_t> UserSids() const;
  bool HasSubscription(std::uint64_t sid) const { return subscriptions_.count(sid) != 0; }
  std::size_t pending_request_count() const { return requests_.size(); }
  std::size_t buffered_bytes() const { return reconnect_buffer_.size(); }
  // "<inbox_prefix>.<nuid>".
  std::string NewInbox();

 private:
  struct SubscriptionEntry {
    std::string subject;
    std::string queue_group;
    std::uint64_t max_messages = 0;  // 0 = none
    std::uint64_t delivered = 0;
    bool is_draining = false;
  };
  enum class PongWaiterKind { kHandshake, kPing, kFlush, kDrain };
  struct PongWaiter {
    PongWaiterKind kind;
    std::uint64_t id;  // flush id or sid
  };
  enum class DeadlineKind { kRequest, kFlush };
  using DeadlineKey = std::tuple<SteadyTime, DeadlineKind, std::uint64_t>;

  void HandleOp(const wire::ServerOp& op, SteadyTime now);
  void HandleInfo(std::string_view json, SteadyTime now);
  void HandlePong(SteadyTime now);
  void HandleMessage(std::string_view subject, std::string_view sid_text,
                     std::string_view reply_to, const std::string_view* headers,
                     std::string_view payload);
  void HandleReply(std::string_view subject, const std::string_view* headers,
                   std::string_view payload);
  void HandleErr(std::string_view text);
  void SendConnect();
  void CompleteHandshake(SteadyTime now);
  void Disconnect(Status reason, AfterDisconnect after);
  void FailFlushes(const Status& status);
  void EnsureRequestInbox();
  // The buffer that publishes and SUB/UNSUB go to now.
  std::string& Sink() { return is_connected() ? output_ : reconnect_buffer_; }

  ClientCoreOptions options_;
  CoreState state_ = CoreState::kDisconnected;
  bool has_connected_ = false;
  Credentials credentials_;
  TlsPolicy tls_policy_ = TlsPolicy::kUnsupported;
  wire::ServerOpParser parser_;
  wire::ServerInfo server_info_;
  wire::Nuid nuid_;
  std::string output_;
  std::string reconnect_buffer_;
  std::string scratch_;
  std::vector<ClientEvent> events_;

  std::uint64_t next_sid_ = 1;
  std::map<std::uint64_t, SubscriptionEntry> subscriptions_;

  // The shared request inbox: "<prefix>.<nuid>" subscribed as "<...>.*".
  std::string request_inbox_;
  std::uint64_t request_inbox_sid_ = 0;
  std::uint64_t next_request_id_ = 1;
  std::unordered_map<std::uint64_t, SteadyTime> requests_;

  std::uint64_t next_flush_id_ = 1;
  std::unordered_map<std::uint64_t, SteadyTime> flushes_;
  std::deque<PongWaiter> pong_waiters_;
  std::set<DeadlineKey> deadlines_;

  std::optional<SteadyTime> handshake_deadline_;
  std::optional<SteadyTime> next_ping_;
  int pings_outstanding_ = 0;
};

}  // namespace embed::client::internal
