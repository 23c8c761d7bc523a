#pragma once
// SessionCore: the protocol rules of one client connection, sans I/O. It is
// fed the bytes the client sent and the time, parses them with
// wire::ClientOpParser and enforces handshake, authentication, limits, ping
// and auth timers (nats-wire.md §1, §2.2, §5, §6). It asks its SessionHost to
// send bytes to the peer, publish, subscribe and unsubscribe, and it reports
// when the connection must close. It owns no socket, timer, thread or lock.
// Not thread-safe: one per connection, used on that connection's thread.
//
//   SessionCore core(config, host, client_id, "10.0.0.7", now);
//   core.Start(now);                 // sends INFO
//   core.Feed(bytes, now);           // any number of times
//   core.OnTick(now);                // periodically: ping / auth timeout
//   if (core.is_closing()) ...;      // flush what was sent, then close

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>

#include "embed/base/bytes.h"
#include "embed/base/clock.h"
#include "embed/base/result.h"
#include "embed/broker/outbox.h"
#include "embed/broker/router.h"
#include "embed/broker/session_config.h"
#include "embed/wire/client_op_parser.h"
#include "embed/wire/client_ops.h"
#include "embed/wire/connect_options.h"

namespace embed::broker {

// What the core asks of its driver. Every call happens synchronously inside
// Start(), Feed() or OnTick(), in protocol order.
class SessionHost {
 public:
  virtual ~SessionHost() = default;
  // Queues protocol bytes for the peer (in order with messages routed to it).
  virtual void Send(ByteView bytes) = 0;
  // Routes a published message; returns how many subscriptions received it.
  virtual std::size_t Publish(const Message& message) = 0;
  // Creates and indexes a subscription of this connection. kInvalidArgument
  // when the index rejects the subject.
  virtual Result<SubscriptionPtr> Subscribe(std::string_view subject,
                                            std::string_view queue_group,
                                            std::string_view sid) = 0;
  // Removes a subscription from the index (idempotent).
  virtual void Unsubscribe(const SubscriptionPtr& subscription) = 0;
  // The client's CONNECT was accepted.
  virtual void OnConnected(const wire::ConnectOptions& options) = 0;
};

// Why a connection closed; mirrors nats-server's /connz reasons.
enum class CloseReason {
  kNone,
  kClientClosed,
  kProtocolViolation,
  kParseError,
  kAuthenticationFailure,
  kAuthenticationTimeout,
  kStaleConnection,
  kMaxPayloadExceeded,
  kMaxControlLineExceeded,
  kMaxConnectionsExceeded,
  kSlowConsumerPendingBytes,
  kSlowConsumerWriteDeadline,
  kWriteError,
  kServerShutdown,
  kTlsHandshakeError,
};

std::string_view CloseReasonName(CloseReason reason);

// The WebSocket close status for a reason (nats-wire.md §7.6): 1000 client
// closed, 1008 policy (auth, limits, slow consumer), 1002 protocol error,
// 1009 payload too big, 1001 going away (I/O error, stale, shutdown), 1015
// TLS handshake, 1011 otherwise.
int WebSocketCloseCode(CloseReason reason);

class SessionCore {
 public:
  // `config` and `host` must outlive the core.
  SessionCore(const SessionConfig& config, SessionHost& host, std::uint64_t client_id,
              std::string client_ip, SteadyTime now);
  SessionCore(const SessionCore&) = delete;
  SessionCore& operator=(const SessionCore&) = delete;

  // Sends INFO. Call once, first.
  void Start(SteadyTime now);
  // Sends INFO and -ERR 'maximum connections exceeded', then closes.
  void RejectMaxConnections();

  // Processes every complete op in `bytes` (plus what earlier calls left).
  // Does nothing once closing.
  void Feed(ByteView bytes, SteadyTime now);

  // Runs the ping and authentication timers. Call at least every
  // tick_interval().
  void OnTick(SteadyTime now);

  // Removes every subscription of this connection (on close; auto-unsubscribe
  // limits are ignored, nats-wire.md §6.9).
  void ReleaseSubscriptions();

  // The peer must be disconnected; bytes already sent should be flushed first.
  bool is_closing() const { return close_reason_ != CloseReason::kNone; }
  CloseReason close_reason() const { return close_reason_; }
  // CONNECT was processed.
  bool is_connected() const { return is_connected_; }
  const wire::ConnectOptions& connect_options() const { return options_; }
  std::size_t subscription_count() const { return subscriptions_.size(); }
  std::uint64_t client_id() const { return client_id_; }

 private:
  void Handle(const wire::Connect& op);
  void Handle(const wire::Pub& op);
  void Handle(const wire::HPub& op);
  void Handle(const wire::Sub& op);
  void Handle(const wire::Unsub& op);
  void Handle(const wire::Ping& op);
  void Handle(const wire::Pong& op);
  void Handle(const wire::ClientInfo& op);
  void Handle(const wire::ClientOk& op);
  void Handle(const wire::ClientErr& op);

  // Checks reserved subjects, routes, and answers no-responders / +OK.
  void Publish(const Message& message);
  bool Authenticate(const wire::ConnectOptions& options) const;
  void SendNoResponders(std::string_view reply_to);
  // Forgets subscriptions that left the index (auto-unsubscribed).
  void SweepRemovedSubscriptions();
  void SendOk();
  void SendErr(std::string_view text);
  // -ERR '<text>' then close.
  void Fail(std::string_view text, CloseReason reason);
  void Close(CloseReason reason);

  const SessionConfig& config_;
  SessionHost& host_;
  const std::uint64_t client_id_;
  const std::string client_ip_;
  wire::ClientOpParser parser_;
  wire::ConnectOptions options_;
  bool is_connected_ = false;
  CloseReason close_reason_ = CloseReason::kNone;
  std::unordered_map<std::string, SubscriptionPtr> subscriptions_;  // by sid
  // subscriptions_ is swept of removed entries when it reaches this size.
  static constexpr std::size_t kMinSweepThreshold = 64;
  std::size_t sweep_threshold_ = kMinSweepThreshold;

  // Timers.
  SteadyTime started_at_{};
  SteadyTime last_activity_{};
  SteadyTime next_ping_{};
  int pings_outstanding_ = 0;
  bool has_rtt_ = false;
};

}  // namespace embed::broker
