#include "embed/client/internal/client_core.h"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <iterator>

#include "embed/subject/subject.h"
#include "embed/wire/connect_options.h"
#include "embed/wire/encoder.h"

namespace embed::client::internal {
namespace {

// Bound of one inbound message (headers + payload; headers alone are bounded
// only by it). Not the server's max_payload: that bounds what we publish, and
// a server may deliver more (accounts, clusters).
constexpr std::size_t kMaxInboundMessageBytes = 64 * 1024 * 1024;

wire::Limits InboundLimits(wire::Limits limits) {
  limits.max_payload_bytes = kMaxInboundMessageBytes;
  limits.max_header_bytes = kMaxInboundMessageBytes;
  return limits;
}

std::string ToLower(std::string_view text) {
  std::string out(text);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

bool StartsWith(std::string_view text, std::string_view prefix) {
  return text.substr(0, prefix.size()) == prefix;
}

std::optional<std::uint64_t> ParseDecimal(std::string_view text) {
  std::uint64_t value = 0;
  const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (error != std::errc() || end != text.data() + text.size() || text.empty()) {
    return std::nullopt;
  }
  return value;
}

Status WithServerText(StatusCode code, std::string_view what, std::string_view text) {
  std::string message(what);
  message += ": '";
  message += EscapeForLog(text);
  message += "'";
  return Status(code, message);
}

}  // namespace

ServerErrorReaction ClassifyServerError(std::string_view text) {
  using Action = ServerErrorReaction::Action;
  const std::string lower = ToLower(text);
  // NATS (nats.go processErr): stale/limit errors reconnect, permission and
  // subscription-limit errors are asynchronous, auth errors end the
  // transport, anything else closes the connection.
  if (lower == "stale connection" || lower == "maximum connections exceeded" ||
      lower == "maximum account active connections exceeded") {
    return {Action::kReconnect, WithServerText(StatusCode::kUnavailable, "server error", text)};
  }
  if (StartsWith(lower, "permissions violation")) {
    return {Action::kReport, WithServerText(StatusCode::kPermissionDenied, "server error", text)};
  }
  if (StartsWith(lower, "maximum subscriptions exceeded")) {
    return {Action::kReport, WithServerText(StatusCode::kResourceExhausted, "server error", text)};
  }
  if (StartsWith(lower, "authorization violation") ||
      StartsWith(lower, "user authentication expired") ||
      StartsWith(lower, "user authentication revoked") ||
      StartsWith(lower, "account authentication expired") ||
      StartsWith(lower, "authentication timeout")) {
    return {Action::kReconnect,
            WithServerText(StatusCode::kUnauthenticated, "server rejected credentials", text)};
  }
  if (StartsWith(lower, "maximum payload violation")) {
    return {Action::kClose, WithServerText(StatusCode::kResourceExhausted, "server error", text)};
  }
  return {Action::kClose, WithServerText(StatusCode::kProtocolError, "server error", text)};
}

ClientCore::ClientCore(ClientCoreOptions options)
    : options_(std::move(options)), parser_(InboundLimits(options_.limits)) {}

void ClientCore::StartHandshake(SteadyTime now, const Credentials& credentials,
                                TlsPolicy tls) {
  if (state_ == CoreState::kClosed) return;
  if (state_ != CoreState::kDisconnected) OnTransportClosed();
  credentials_ = credentials;
  tls_policy_ = tls;
  parser_ = wire::ServerOpParser(InboundLimits(options_.limits));
  output_.clear();
  state_ = CoreState::kAwaitingInfo;
  handshake_deadline_ = now + options_.handshake_timeout;
}

void ClientCore::Feed(ByteView bytes, SteadyTime now) {
  if (state_ == CoreState::kDisconnected || state_ == CoreState::kClosed) return;
  parser_.Feed(bytes);
  while (state_ != CoreState::kDisconnected && state_ != CoreState::kClosed) {
    auto op = parser_.Next();
    if (!op.ok()) {
      std::string reason = "server broke the protocol: ";
      reason += op.status().message();
      Disconnect(ProtocolError(reason), AfterDisconnect::kReconnect);
      return;
    }
    if (!op->has_value()) return;
    HandleOp(**op, now);
    // The rest of the input (if any) belongs to the TLS session the driver
    // starts next; nothing is parsed before that.
    if (state_ == CoreState::kAwaitingTls) return;
  }
}

void ClientCore::HandleOp(const wire::ServerOp& op, SteadyTime now) {
  if (state_ == CoreState::kAwaitingInfo && !std::holds_alternative<wire::Info>(op)) {
    // A server starts with INFO (nats-wire.md §6.1), as nats.go expects.
    // Answering anything earlier would write before a TLS upgrade.
    Disconnect(ProtocolError("server sent protocol before INFO"), AfterDisconnect::kReconnect);
    return;
  }
  if (const auto* msg = std::get_if<wire::Msg>(&op)) {
    HandleMessage(msg->subject, msg->sid, msg->reply_to, nullptr, msg->payload);
  } else if (const auto* hmsg = std::get_if<wire::HMsg>(&op)) {
    HandleMessage(hmsg->subject, hmsg->sid, hmsg->reply_to, &hmsg->headers, hmsg->payload);
  } else if (std::holds_alternative<wire::ServerPing>(op)) {
    // NATS: either side answers PING with PONG.
    wire::EncodePong(output_);
  } else if (std::holds_alternative<wire::ServerPong>(op)) {
    HandlePong(now);
  } else if (const auto* info = std::get_if<wire::Info>(&op)) {
    HandleInfo(info->json, now);
  } else if (const auto* err = std::get_if<wire::Err>(&op)) {
    HandleErr(err->message);
  }
  // +OK: only sent with verbose, which we never ask for; ignored.
}

void ClientCore::HandleInfo(std::string_view json, SteadyTime /*now*/) {
  auto info = wire::ParseServerInfo(json);
  if (!info.ok()) {
    std::string reason = "bad INFO from server: ";
    reason += info.status().message();
    Disconnect(ProtocolError(reason), AfterDisconnect::kReconnect);
    return;
  }
  // max_payload bounds only what we publish: a server may deliver larger
  // messages (accounts, clusters), so the inbound parser keeps its own limit.
  server_info_ = std::move(info).value();
  if (state_ != CoreState::kAwaitingInfo) {
    events_.emplace_back(InfoEvent{server_info_});
    return;
  }
  switch (tls_policy_) {
    case TlsPolicy::kUnsupported:
      if (server_info_.tls_required) {
        Disconnect(UnavailableError("server requires TLS, which this client does not support"),
                   AfterDisconnect::kReconnect);
        return;
      }
      break;
    case TlsPolicy::kBelowProtocol:
      break;
    case TlsPolicy::kIfRequired:
      if (server_info_.tls_required) {
        state_ = CoreState::kAwaitingTls;
        return;
      }
      break;
    case TlsPolicy::kRequired:
      if (!server_info_.tls_required && !server_info_.tls_available) {
        Disconnect(UnavailableError("secure connection not available (the server offers no TLS)"),
                   AfterDisconnect::kReconnect);
        return;
      }
      state_ = CoreState::kAwaitingTls;
      return;
  }
  SendConnect();
}

void ClientCore::TlsStarted(SteadyTime /*now*/) {
  if (state_ != CoreState::kAwaitingTls) return;
  // Plaintext the server sent after INFO (none is allowed) is not part of the
  // TLS session: drop it.
  parser_ = wire::ServerOpParser(InboundLimits(options_.limits));
  SendConnect();
}

void ClientCore::SendConnect() {
  wire::ConnectOptions connect;
  // NATS: clients always send verbose:false and pedantic:false (server
  // defaults are true); headers/no_responders only when INFO has headers.
  connect.verbose = false;
  connect.pedantic = false;
  connect.protocol = 1;
  connect.echo = options_.echo;
  connect.headers = server_info_.headers;
  connect.no_responders = server_info_.headers;
  connect.name = options_.name;
  connect.lang = options_.lang;
  connect.version = options_.version;
  connect.user = credentials_.user;
  connect.pass = credentials_.password;
  connect.auth_token = credentials_.token;
  wire::EncodeConnect(output_, wire::EncodeConnectOptions(connect));
  wire::EncodePing(output_);
  pong_waiters_.push_back({PongWaiterKind::kHandshake, 0});
  state_ = CoreState::kAwaitingPong;
}

void ClientCore::HandlePong(SteadyTime now) {
  // NATS: any PONG proves the server is alive.
  pings_outstanding_ = 0;
  if (pong_waiters_.empty()) return;
  const PongWaiter waiter = pong_waiters_.front();
  pong_waiters_.pop_front();
  switch (waiter.kind) {
    case PongWaiterKind::kHandshake:
      if (state_ == CoreState::kAwaitingPong) CompleteHandshake(now);
      break;
    case PongWaiterKind::kPing:
      break;
    case PongWaiterKind::kFlush:
      if (const auto it = flushes_.find(waiter.id); it != flushes_.end()) {
        deadlines_.erase({it->second, DeadlineKind::kFlush, waiter.id});
        flushes_.erase(it);
        events_.emplace_back(FlushEvent{waiter.id, Status::Ok()});
      }
      break;
    case PongWaiterKind::kDrain:
      if (const auto it = subscriptions_.find(waiter.id);
          it != subscriptions_.end() && it->second.is_draining) {
        subscriptions_.erase(it);
        events_.emplace_back(SubscriptionDoneEvent{waiter.id});
      }
      break;
  }
}

void ClientCore::CompleteHandshake(SteadyTime now) {
  state_ = CoreState::kConnected;
  handshake_deadline_.reset();
  next_ping_ = now + options_.ping_interval;
  pings_outstanding_ = 0;
  // Resubscribe, with the remaining auto-unsubscribe count, before the
  // publishes buffered while disconnected (as nats.go).
  for (const auto& [sid, entry] : subscriptions_) {
    const std::string sid_text = std::to_string(sid);
    wire::EncodeSub(output_, entry.subject, entry.queue_group, sid_text);
    if (entry.max_messages > 0) {
      wire::EncodeUnsub(output_, sid_text, entry.max_messages - entry.delivered);
    }
  }
  output_.append(reconnect_buffer_);
  reconnect_buffer_.clear();
  events_.emplace_back(ConnectedEvent{server_info_, has_connected_});
  has_connected_ = true;
}

void ClientCore::HandleMessage(std::string_view subject, std::string_view sid_text,
                               std::string_view reply_to, const std::string_view* headers,
                               std::string_view payload) {
  const auto sid = ParseDecimal(sid_text);
  if (!sid) return;  // not one of ours
  if (*sid == request_inbox_sid_ && request_inbox_sid_ != 0) {
    HandleReply(subject, headers, payload);
    return;
  }
  const auto it = subscriptions_.find(*sid);
  if (it == subscriptions_.end()) return;  // unsubscribed; in flight
  MessageEvent event;
  event.sid = *sid;
  event.message.subject = std::string(subject);
  event.message.reply_to = std::string(reply_to);
  event.message.payload = std::string(payload);
  if (headers != nullptr) {
    auto parsed = wire::ParseHeaders(*headers, kMaxInboundMessageBytes);
    if (parsed.ok()) {
      event.message.headers = std::move(parsed).value();
      event.message.has_headers = true;
    } else {
      events_.emplace_back(ErrorEvent{ProtocolError("message with undecodable headers")});
    }
  }
  SubscriptionEntry& entry = it->second;
  ++entry.delivered;
  events_.emplace_back(std::move(event));
  if (entry.max_messages > 0 && entry.delivered >= entry.max_messages) {
    subscriptions_.erase(it);
    events_.emplace_back(SubscriptionDoneEvent{*sid});
  }
}

void ClientCore::HandleReply(std::string_view subject, const std::string_view* headers,
                             std::string_view payload) {
  // The request id is the last token: "<inbox>.<id>".
  if (subject.size() <= request_inbox_.size() + 1 || !StartsWith(subject, request_inbox_) ||
      subject[request_inbox_.size()] != '.') {
    return;
  }
  const auto id = ParseDecimal(subject.substr(request_inbox_.size() + 1));
  if (!id) return;
  const auto it = requests_.find(*id);
  if (it == requests_.end()) return;  // late reply after timeout
  deadlines_.erase({it->second, DeadlineKind::kRequest, *id});
  requests_.erase(it);
  Message message;
  message.subject = std::string(subject);
  message.payload = std::string(payload);
  if (headers != nullptr) {
    auto parsed = wire::ParseHeaders(*headers, kMaxInboundMessageBytes);
    if (!parsed.ok()) {
      events_.emplace_back(ReplyEvent{*id, ProtocolError("reply with undecodable headers")});
      return;
    }
    message.headers = std::move(parsed).value();
    message.has_headers = true;
    // NATS: a 503 status with an empty payload means no responders.
    if (message.headers.status() == 503 && payload.empty()) {
      events_.emplace_back(ReplyEvent{*id, UnavailableError("no responders for request")});
      return;
    }
  }
  events_.emplace_back(ReplyEvent{*id, std::move(message)});
}

void ClientCore::HandleErr(std::string_view text) {
  using Action = ServerErrorReaction::Action;
  ServerErrorReaction reaction = ClassifyServerError(text);
  if (state_ != CoreState::kConnected) {
    // Any -ERR during the handshake fails this attempt (as nats.go).
    Disconnect(reaction.status, reaction.action == Action::kClose ? AfterDisconnect::kClose
                                                                  : AfterDisconnect::kReconnect);
    return;
  }
  switch (reaction.action) {
    case Action::kReport:
      events_.emplace_back(ErrorEvent{reaction.status});
      break;
    case Action::kReconnect:
      Disconnect(reaction.status, AfterDisconnect::kReconnect);
      break;
    case Action::kClose:
      Disconnect(reaction.status, AfterDisconnect::kClose);
      break;
  }
}

void ClientCore::Disconnect(Status reason, AfterDisconnect after) {
  OnTransportClosed();
  events_.emplace_back(DisconnectedEvent{std::move(reason), after});
}

void ClientCore::OnTransportClosed() {
  if (state_ == CoreState::kDisconnected || state_ == CoreState::kClosed) return;
  state_ = CoreState::kDisconnected;
  handshake_deadline_.reset();
  next_ping_.reset();
  pings_outstanding_ = 0;
  output_.clear();
  FailFlushes(UnavailableError("connection lost before the flush completed"));
}

void ClientCore::FailFlushes(const Status& status) {
  for (const PongWaiter& waiter : pong_waiters_) {
    if (waiter.kind == PongWaiterKind::kDrain) {
      // The server dropped the subscription with the connection.
      if (const auto it = subscriptions_.find(waiter.id);
          it != subscriptions_.end() && it->second.is_draining) {
        subscriptions_.erase(it);
        events_.emplace_back(SubscriptionDoneEvent{waiter.id});
      }
    }
  }
  pong_waiters_.clear();
  for (const auto& [id, deadline] : flushes_) {
    deadlines_.erase({deadline, DeadlineKind::kFlush, id});
    events_.emplace_back(FlushEvent{id, status});
  }
  flushes_.clear();
}

void ClientCore::Close() {
  if (state_ == CoreState::kClosed) return;
  FailFlushes(CancelledError("connection closed"));
  OnTransportClosed();
  state_ = CoreState::kClosed;
  for (const auto& [id, deadline] : requests_) {
    events_.emplace_back(ReplyEvent{id, CancelledError("connection closed")});
  }
  requests_.clear();
  deadlines_.clear();
  subscriptions_.clear();
  reconnect_buffer_.clear();
  output_.clear();
}

void ClientCore::OnTimer(SteadyTime now) {
  if (handshake_deadline_ && now >= *handshake_deadline_) {
    Disconnect(TimeoutError("handshake with the server timed out"), AfterDisconnect::kReconnect);
  }
  while (!deadlines_.empty() && std::get<0>(*deadlines_.begin()) <= now) {
    const auto [deadline, kind, id] = *deadlines_.begin();
    deadlines_.erase(deadlines_.begin());
    if (kind == DeadlineKind::kRequest) {
      requests_.erase(id);
      events_.emplace_back(ReplyEvent{id, TimeoutError("request timed out")});
    } else {
      flushes_.erase(id);
      events_.emplace_back(FlushEvent{id, TimeoutError("flush timed out")});
    }
  }
  if (next_ping_ && now >= *next_ping_ && state_ == CoreState::kConnected) {
    if (pings_outstanding_ >= options_.max_pings_outstanding) {
      Disconnect(UnavailableError("stale connection: server did not answer pings"),
                 AfterDisconnect::kReconnect);
      return;
    }
    ++pings_outstanding_;
    wire::EncodePing(output_);
    pong_waiters_.push_back({PongWaiterKind::kPing, 0});
    next_ping_ = now + options_.ping_interval;
  }
}

std::optional<SteadyTime> ClientCore::NextDeadline() const {
  std::optional<SteadyTime> next = handshake_deadline_;
  const auto consider = [&next](SteadyTime t) {
    if (!next || t < *next) next = t;
  };
  if (!deadlines_.empty()) consider(std::get<0>(*deadlines_.begin()));
  if (next_ping_) consider(*next_ping_);
  return next;
}

Status ClientCore::Publish(std::string_view subject, std::string_view reply_to,
                           const wire::Headers* headers, ByteView payload) {
  if (state_ == CoreState::kClosed) return FailedPreconditionError("connection is closed");
  EMBED_RETURN_IF_ERROR(subject::ValidatePublishSubject(subject));
  if (!reply_to.empty()) EMBED_RETURN_IF_ERROR(subject::ValidatePublishSubject(reply_to));
  std::size_t total_bytes = payload.size();
  if (headers != nullptr) {
    if (!server_info_.headers) {
      return FailedPreconditionError("the server does not support headers");
    }
    for (const auto& entry : headers->entries()) {
      if (!wire::IsValidHeaderKey(entry.first)) {
        return InvalidArgumentError("invalid header key");
      }
    }
    scratch_.clear();
    headers->EncodeTo(scratch_);
    total_bytes += scratch_.size();
  }
  // NATS: max_payload covers headers + payload; the server would close us.
  if (server_info_.max_payload > 0 &&
      total_bytes > static_cast<std::size_t>(server_info_.max_payload)) {
    return ResourceExhaustedError("message is larger than the server's max_payload");
  }
  std::string& sink = Sink();
  const std::size_t old_size = sink.size();
  if (headers != nullptr) {
    wire::EncodeHPub(sink, subject, reply_to, scratch_, payload);
  } else {
    wire::EncodePub(sink, subject, reply_to, payload);
  }
  if (&sink == &reconnect_buffer_ && sink.size() > options_.reconnect_buffer_bytes) {
    sink.resize(old_size);
    return ResourceExhaustedError("reconnect buffer is full");
  }
  return Status::Ok();
}

Result<std::uint64_t> ClientCore::Subscribe(std::string_view subject,
                                            std::string_view queue_group) {
  if (state_ == CoreState::kClosed) return FailedPreconditionError("connection is closed");
  EMBED_RETURN_IF_ERROR(subject::ValidateSubscribeSubject(subject));
  if (!queue_group.empty()) EMBED_RETURN_IF_ERROR(subject::ValidateQueueName(queue_group));
  const std::uint64_t sid = next_sid_++;
  SubscriptionEntry entry;
  entry.subject = std::string(subject);
  entry.queue_group = std::string(queue_group);
  subscriptions_.emplace(sid, std::move(entry));
  // While not connected the SUB is sent by the resubscription on connect.
  if (is_connected()) wire::EncodeSub(output_, subject, queue_group, std::to_string(sid));
  return sid;
}

Status ClientCore::Unsubscribe(std::uint64_t sid, std::uint64_t max_messages) {
  if (state_ == CoreState::kClosed) return FailedPreconditionError("connection is closed");
  const auto it = subscriptions_.find(sid);
  if (it == subscriptions_.end()) return NotFoundError("no such subscription");
  const std::string sid_text = std::to_string(sid);
  if (max_messages == 0 || max_messages <= it->second.delivered) {
    subscriptions_.erase(it);
    if (is_connected()) wire::EncodeUnsub(output_, sid_text);
    // The maximum is already reached: the subscription ends now, and a
    // caller waiting for its end (as for any auto-unsubscribe) learns it.
    if (max_messages > 0) events_.emplace_back(SubscriptionDoneEvent{sid});
    return Status::Ok();
  }
  it->second.max_messages = max_messages;
  if (is_connected()) wire::EncodeUnsub(output_, sid_text, max_messages);
  return Status::Ok();
}

Status ClientCore::DrainSubscription(std::uint64_t sid) {
  if (state_ == CoreState::kClosed) return FailedPreconditionError("connection is closed");
  const auto it = subscriptions_.find(sid);
  if (it == subscriptions_.end()) return NotFoundError("no such subscription");
  if (it->second.is_draining) return Status::Ok();
  if (!is_connected()) {
    subscriptions_.erase(it);
    events_.emplace_back(SubscriptionDoneEvent{sid});
    return Status::Ok();
  }
  it->second.is_draining = true;
  // NATS: the server handles ops in order, so the PONG after this UNSUB
  // follows every message it sent for the sid.
  wire::EncodeUnsub(output_, std::to_string(sid));
  wire::EncodePing(output_);
  pong_waiters_.push_back({PongWaiterKind::kDrain, sid});
  return Status::Ok();
}

void ClientCore::EnsureRequestInbox() {
  if (request_inbox_sid_ != 0) return;
  request_inbox_ = NewInbox();
  request_inbox_sid_ = next_sid_++;
  SubscriptionEntry entry;
  entry.subject = request_inbox_ + ".*";
  if (is_connected()) {
    wire::EncodeSub(output_, entry.subject, {}, std::to_string(request_inbox_sid_));
  }
  subscriptions_.emplace(request_inbox_sid_, std::move(entry));
}

Result<std::uint64_t> ClientCore::StartRequest(const Message& request, SteadyTime deadline) {
  if (state_ == CoreState::kClosed) return FailedPreconditionError("connection is closed");
  EMBED_RETURN_IF_ERROR(subject::ValidatePublishSubject(request.subject));
  EnsureRequestInbox();
  const std::uint64_t id = next_request_id_++;
  std::string reply_to = request_inbox_;
  reply_to += '.';
  reply_to += std::to_string(id);
  const bool with_headers = request.has_headers || !request.headers.empty();
  EMBED_RETURN_IF_ERROR(
      Publish(request.subject, reply_to, with_headers ? &request.headers : nullptr,
              request.payload));
  requests_.emplace(id, deadline);
  deadlines_.insert({deadline, DeadlineKind::kRequest, id});
  return id;
}

void ClientCore::CancelRequest(std::uint64_t request_id) {
  const auto it = requests_.find(request_id);
  if (it == requests_.end()) return;
  deadlines_.erase({it->second, DeadlineKind::kRequest, request_id});
  requests_.erase(it);
}

Result<std::uint64_t> ClientCore::StartFlush(SteadyTime deadline) {
  if (state_ == CoreState::kClosed) return FailedPreconditionError("connection is closed");
  if (!is_connected()) return UnavailableError("not connected");
  const std::uint64_t id = next_flush_id_++;
  wire::EncodePing(output_);
  pong_waiters_.push_back({PongWaiterKind::kFlush, id});
  flushes_.emplace(id, deadline);
  deadlines_.insert({deadline, DeadlineKind::kFlush, id});
  return id;
}

void ClientCore::TakeOutput(std::string& out) {
  out.clear();
  out.swap(output_);
}

void ClientCore::TakeEvents(std::vector<ClientEvent>& out) {
  if (out.empty()) {
    out.swap(events_);
  } else {
    std::move(events_.begin(), events_.end(), std::back_inserter(out));
  }
  events_.clear();
}

std::vector<std::uint64_t> ClientCore::UserSids() const {
  std::vector<std::uint64_t> sids;
  sids.reserve(subscriptions_.size());
  for (const auto& [sid, entry] : subscriptions_) {
    if (sid != request_inbox_sid_) sids.push_back(sid);
  }
  return sids;
}

std::string ClientCore::NewInbox() {
  std::string inbox = options_.inbox_prefix;
  inbox += '.';
  inbox += nuid_.Next();
  return inbox;
}

}  // namespace embed::client::internal
