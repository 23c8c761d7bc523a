#include "embed/broker/session_core.h"

#include <algorithm>
#include <cstdio>
#include <utility>
#include <variant>

#include "embed/subject/subject.h"
#include "embed/wire/encoder.h"
#include "embed/wire/server_info.h"

namespace embed::broker {

namespace {

constexpr std::string_view kPing = "PING\r\n";
constexpr std::string_view kPong = "PONG\r\n";

// Go's %q for the subjects nats-server quotes in -ERR texts.
std::string GoQuote(std::string_view text) {
  std::string quoted = "\"";
  for (char c : text) {
    auto byte = static_cast<unsigned char>(c);
    if (c == '"' || c == '\\') {
      quoted.push_back('\\');
      quoted.push_back(c);
    } else if (byte < 0x20 || byte == 0x7f) {
      char escaped[8];
      std::snprintf(escaped, sizeof(escaped), "\\x%02x", byte);
      quoted += escaped;
    } else {
      quoted.push_back(c);
    }
  }
  quoted.push_back('"');
  return quoted;
}

// NATS §1.4: reply prefixes reserved for the server's own routing.
bool IsReservedReply(std::string_view reply_to) {
  return reply_to.starts_with("_R_.") || reply_to.starts_with("_GR_.") ||
         reply_to.starts_with("$JS.ACK.");
}

bool ConstantTimeEquals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  unsigned char difference = 0;
  for (std::size_t i = 0; i < a.size(); ++i) {
    difference = static_cast<unsigned char>(difference | (a[i] ^ b[i]));
  }
  return difference == 0;
}

}  // namespace

int WebSocketCloseCode(CloseReason reason) {
  switch (reason) {
    case CloseReason::kNone:
    case CloseReason::kClientClosed: return 1000;
    case CloseReason::kAuthenticationFailure:
    case CloseReason::kAuthenticationTimeout:
    case CloseReason::kMaxConnectionsExceeded:
    case CloseReason::kMaxControlLineExceeded:
    case CloseReason::kSlowConsumerPendingBytes:
    case CloseReason::kSlowConsumerWriteDeadline: return 1008;
    case CloseReason::kProtocolViolation:
    case CloseReason::kParseError: return 1002;
    case CloseReason::kMaxPayloadExceeded: return 1009;
    case CloseReason::kStaleConnection:
    case CloseReason::kWriteError:
    case CloseReason::kServerShutdown: return 1001;
    case CloseReason::kTlsHandshakeError: return 1015;
  }
  return 1011;
}

std::string_view CloseReasonName(CloseReason reason) {
  switch (reason) {
    case CloseReason::kNone: return "";
    case CloseReason::kClientClosed: return "Client Closed";
    case CloseReason::kProtocolViolation: return "Protocol Violation";
    case CloseReason::kParseError: return "Parse Error";
    case CloseReason::kAuthenticationFailure: return "Authentication Failure";
    case CloseReason::kAuthenticationTimeout: return "Authentication Timeout";
    case CloseReason::kStaleConnection: return "Stale Connection";
    case CloseReason::kMaxPayloadExceeded: return "Maximum Message Payload Exceeded";
    case CloseReason::kMaxControlLineExceeded: return "Maximum Control Line Exceeded";
    case CloseReason::kMaxConnectionsExceeded: return "Maximum Connections Exceeded";
    case CloseReason::kSlowConsumerPendingBytes: return "Slow Consumer (Pending Bytes)";
    case CloseReason::kSlowConsumerWriteDeadline: return "Slow Consumer (Write Deadline)";
    case CloseReason::kWriteError: return "Write Error";
    case CloseReason::kServerShutdown: return "Server Shutdown";
    case CloseReason::kTlsHandshakeError: return "TLS Handshake Error";
  }
  return "";
}

SessionCore::SessionCore(const SessionConfig& config, SessionHost& host, std::uint64_t client_id,
                         std::string client_ip, SteadyTime now)
    : config_(config),
      host_(host),
      client_id_(client_id),
      client_ip_(std::move(client_ip)),
      parser_(config.limits),
      started_at_(now),
      last_activity_(now),
      next_ping_(now + config.ping_interval) {
  // NATS §1.3: before an authenticated CONNECT nothing but CONNECT is
  // accepted, so do not let the client make us buffer a message body.
  if (config_.is_auth_required()) parser_.set_max_payload_bytes(0);
}

void SessionCore::Start(SteadyTime now) {
  started_at_ = now;
  last_activity_ = now;
  next_ping_ = now + config_.ping_interval;
  wire::ServerInfo info = config_.info;
  info.client_id = client_id_;
  info.client_ip = client_ip_;
  std::string out;
  wire::EncodeInfo(out, wire::EncodeServerInfo(info));
  host_.Send(out);
}

void SessionCore::RejectMaxConnections() {
  Start(started_at_);
  Fail("maximum connections exceeded", CloseReason::kMaxConnectionsExceeded);
}

void SessionCore::Feed(ByteView bytes, SteadyTime now) {
  if (is_closing()) return;
  last_activity_ = now;
  parser_.Feed(bytes);
  while (!is_closing()) {
    auto next = parser_.Next();
    if (!next.ok()) {
      // NATS §1.3: with auth required, anything but CONNECT first is an
      // authorization violation.
      if (config_.is_auth_required() && !is_connected_) {
        return Fail("Authorization Violation", CloseReason::kAuthenticationFailure);
      }
      switch (parser_.violation()) {
        case wire::Violation::kControlLineTooLong:
          return Fail("maximum control line exceeded", CloseReason::kMaxControlLineExceeded);
        case wire::Violation::kPayloadTooLarge:
          return Fail("Maximum Payload Violation", CloseReason::kMaxPayloadExceeded);
        case wire::Violation::kUnknownOperation:
          return Fail("Unknown Protocol Operation", CloseReason::kProtocolViolation);
        case wire::Violation::kMalformed:
        case wire::Violation::kNone:
          // NATS §5: syntax errors close without -ERR.
          return Close(CloseReason::kParseError);
      }
      return Close(CloseReason::kParseError);
    }
    if (!next->has_value()) return;
    const wire::ClientOp& op = **next;
    if (config_.is_auth_required() && !is_connected_ && !std::holds_alternative<wire::Connect>(op)) {
      return Fail("Authorization Violation", CloseReason::kAuthenticationFailure);
    }
    std::visit([this](const auto& typed_op) { Handle(typed_op); }, op);
  }
}

void SessionCore::OnTick(SteadyTime now) {
  if (is_closing()) return;
  if (config_.is_auth_required() && !is_connected_ &&
      now - started_at_ >= config_.auth_timeout) {
    return Fail("Authentication Timeout", CloseReason::kAuthenticationTimeout);
  }
  if (config_.ping_interval.count() <= 0 || now < next_ping_) return;
  next_ping_ = now + config_.ping_interval;
  // NATS §6.2: ping only a silent client (or one whose RTT is unknown); a
  // PING that would exceed ping_max outstanding means the client is stale.
  bool is_active = now - last_activity_ < config_.ping_interval;
  if (is_active && has_rtt_) return;
  if (pings_outstanding_ + 1 > config_.ping_max) {
    return Fail("Stale Connection", CloseReason::kStaleConnection);
  }
  ++pings_outstanding_;
  host_.Send(kPing);
}

void SessionCore::ReleaseSubscriptions() {
  for (auto& [sid, subscription] : subscriptions_) host_.Unsubscribe(subscription);
  subscriptions_.clear();
}

bool SessionCore::Authenticate(const wire::ConnectOptions& options) const {
  if (!config_.auth_token.empty()) {
    return ConstantTimeEquals(options.auth_token, config_.auth_token);
  }
  for (const UserPassword& user : config_.users) {
    if (user.user == options.user) return ConstantTimeEquals(options.pass, user.password);
  }
  return false;
}

void SessionCore::Handle(const wire::Connect& op) {
  auto parsed = wire::ParseConnectOptions(op.json);
  // NATS §1.3: malformed CONNECT JSON closes without -ERR.
  if (!parsed.ok()) return Close(CloseReason::kParseError);
  wire::ConnectOptions options = std::move(parsed).value();
  if (options.has_legacy_account) {
    return Fail("Authorization Violation", CloseReason::kAuthenticationFailure);
  }
  if (config_.is_auth_required() && !Authenticate(options)) {
    return Fail("Authorization Violation", CloseReason::kAuthenticationFailure);
  }
  if (options.protocol < 0 || options.protocol > 1) {
    return Fail("invalid client protocol", CloseReason::kProtocolViolation);
  }
  if (options.no_responders && !options.headers) {
    return Fail("no responders requires headers support", CloseReason::kProtocolViolation);
  }
  options_ = std::move(options);
  is_connected_ = true;
  parser_.set_max_payload_bytes(config_.limits.max_payload_bytes);
  host_.OnConnected(options_);
  if (options_.verbose) SendOk();
}

void SessionCore::Handle(const wire::Pub& op) {
  Publish(Message{op.subject, op.reply_to, {}, op.payload});
}

void SessionCore::Handle(const wire::HPub& op) {
  // NATS §1.5: HPUB without negotiated headers closes without -ERR.
  if (!options_.headers) return Close(CloseReason::kProtocolViolation);
  Publish(Message{op.subject, op.reply_to, op.headers, op.payload});
}

void SessionCore::Publish(const Message& message) {
  if (options_.pedantic) {
    subject::SubjectLimits limits{config_.limits.max_subject_bytes,
                                  config_.limits.max_subject_tokens};
    // NATS §1.4: reported, but the message is still processed.
    if (!subject::IsValidPublishSubject(message.subject, limits)) {
      SendErr("Invalid Publish Subject");
    }
  }
  if (message.subject.starts_with("_GR_.")) {
    return SendErr("Permissions Violation for Publish to " + GoQuote(message.subject));
  }
  if (!message.reply_to.empty() && IsReservedReply(message.reply_to)) {
    return SendErr("Permissions Violation for Publish with Reply of " +
                   GoQuote(message.reply_to));
  }
  if (options_.verbose) SendOk();
  std::size_t deliveries = host_.Publish(message);
  if (deliveries == 0 && options_.no_responders && !message.reply_to.empty()) {
    SendNoResponders(message.reply_to);
  }
}

void SessionCore::SendNoResponders(std::string_view reply_to) {
  // NATS §3.4: only to the requester's own plain subscription on the reply.
  for (const auto& [sid, subscription] : subscriptions_) {
    if (subscription->removed.load(std::memory_order_relaxed)) continue;
    if (!subscription->queue_group.empty()) continue;
    if (!subject::SubjectMatches(subscription->subject, reply_to)) continue;
    std::string out;
    wire::EncodeHMsg(out, reply_to, sid, "", "NATS/1.0 503\r\n\r\n", "");
    host_.Send(out);
    return;
  }
}

void SessionCore::Handle(const wire::Sub& op) {
  subject::SubjectLimits limits{config_.limits.max_subject_bytes,
                                config_.limits.max_subject_tokens};
  if (!subject::IsValidSubscribeSubject(op.subject, limits)) {
    return SendErr("Invalid Subject");
  }
  auto existing = subscriptions_.find(std::string(op.sid));
  if (existing != subscriptions_.end()) {
    if (!existing->second->removed.load(std::memory_order_acquire)) {
      // NATS §1.6: a duplicate sid is ignored; the first subscription stays.
      if (options_.verbose) SendOk();
      return;
    }
    subscriptions_.erase(existing);
  }
  // Subscriptions that reached their UNSUB max left the index but are still
  // here; sweep them when the map has doubled since the last sweep, so that
  // old-style requests (SUB inbox, UNSUB 1, PUB) cost amortized O(1).
  if (subscriptions_.size() >= sweep_threshold_) SweepRemovedSubscriptions();
  if (config_.max_subscriptions != 0 && subscriptions_.size() >= config_.max_subscriptions) {
    // Forget subscriptions that auto-unsubscribed before counting.
    SweepRemovedSubscriptions();
    if (subscriptions_.size() >= config_.max_subscriptions) {
      return SendErr("maximum subscriptions exceeded");
    }
  }
  auto subscription = host_.Subscribe(op.subject, op.queue_group, op.sid);
  if (!subscription.ok()) return SendErr("Invalid Subject");
  subscriptions_.emplace(std::string(op.sid), std::move(subscription).value());
  if (options_.verbose) SendOk();
}

void SessionCore::SweepRemovedSubscriptions() {
  std::erase_if(subscriptions_, [](const auto& entry) {
    return entry.second->removed.load(std::memory_order_acquire);
  });
  sweep_threshold_ = std::max(kMinSweepThreshold, 2 * subscriptions_.size());
}

void SessionCore::Handle(const wire::Unsub& op) {
  auto it = subscriptions_.find(std::string(op.sid));
  if (it != subscriptions_.end()) {
    SubscriptionPtr subscription = it->second;
    std::uint64_t max_msgs = op.max_msgs.value_or(0);
    // NATS §1.7: no max, or a max already reached, removes at once.
    if (max_msgs == 0 || max_msgs <= subscription->delivered.load(std::memory_order_acquire)) {
      host_.Unsubscribe(subscription);
      subscriptions_.erase(it);
    } else {
      subscription->max_msgs.store(max_msgs, std::memory_order_release);
      // A concurrent delivery may have passed the max before it was set.
      if (subscription->delivered.load(std::memory_order_acquire) >= max_msgs) {
        host_.Unsubscribe(subscription);
        subscriptions_.erase(it);
      }
    }
  }
  if (options_.verbose) SendOk();
}

void SessionCore::Handle(const wire::Ping&) { host_.Send(kPong); }

void SessionCore::Handle(const wire::Pong&) {
  pings_outstanding_ = 0;
  has_rtt_ = true;
}

void SessionCore::Handle(const wire::ClientInfo&) {}

void SessionCore::Handle(const wire::ClientOk&) {}

void SessionCore::Handle(const wire::ClientErr&) {
  // NATS §1.1: the server logs a client's -ERR and closes.
  Close(CloseReason::kProtocolViolation);
}

void SessionCore::SendOk() {
  std::string out;
  wire::EncodeOk(out);
  host_.Send(out);
}

void SessionCore::SendErr(std::string_view text) {
  std::string out;
  wire::EncodeErr(out, text);
  host_.Send(out);
}

void SessionCore::Fail(std::string_view text, CloseReason reason) {
  SendErr(text);
  Close(reason);
}

void SessionCore::Close(CloseReason reason) {
  if (close_reason_ == CloseReason::kNone) close_reason_ = reason;
}

}  // namespace embed::broker
