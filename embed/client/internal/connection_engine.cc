// ConnectionEngine, part 1: construction and the thread-safe public methods
// (called from user threads; they change the core under mutex_ and wake the
// I/O thread). The I/O thread's side is in connection_engine_io.cc.

#include "embed/client/internal/connection_engine.h"

#include <boost/asio/post.hpp>
#include <utility>

namespace embed::client::internal {
namespace {

using Clock = std::chrono::steady_clock;

// Bytes queued for the socket beyond which publishers wait for the writer.
constexpr std::size_t kMaxQueuedOutputBytes = 8 * 1024 * 1024;
// Extra wait beyond a core deadline before a blocked caller gives up on its
// own (the core reports timeouts; this only guards against a lost wake-up).
constexpr std::chrono::seconds kWaiterGrace{2};

ClientCoreOptions CoreOptions(const ConnectionOptions& options) {
  ClientCoreOptions core;
  core.name = options.name;
  core.echo = options.echo;
  core.inbox_prefix = options.inbox_prefix;
  core.ping_interval = options.ping_interval;
  core.max_pings_outstanding = options.max_pings_outstanding;
  core.reconnect_buffer_bytes = options.reconnect_buffer_bytes;
  core.handshake_timeout = options.connect_timeout;
  return core;
}

}  // namespace

ConnectionEngine::ConnectionEngine(ConnectionOptions options, std::vector<ServerUrl> servers)
    : options_(std::move(options)),
      servers_(std::move(servers)),
      work_(asio::make_work_guard(io_)),
      close_timer_(io_),
      core_timer_(io_),
      reconnect_timer_(io_),
      dispatcher_(options_.on_error),
      core_(CoreOptions(options_)),
      reconnect_policy_(servers_.size(), options_.max_reconnect_attempts, options_.reconnect_wait,
                        options_.reconnect_jitter, options_.reconnect_wait_max),
      rng_(std::random_device{}()) {}

ConnectionEngine::~ConnectionEngine() { Close(); }

Status ConnectionEngine::Start() {
  // TLS settings fail Connect() at once, not on the first attempt.
  EMBED_RETURN_IF_ERROR(ValidateTlsOptions(options_.tls));
  if (options_.tls.is_configured()) {
    // Credentials must never go out in clear when the user asked for TLS.
    for (const ServerUrl& server : servers_) {
      if (server.scheme == UrlScheme::kWs) {
        return InvalidArgumentError("TLS options are set but " + server.ToString() +
                                    " is plain WebSocket: use wss://");
      }
    }
  }
  bool needs_tls = options_.tls.is_configured();
  for (const ServerUrl& server : servers_) needs_tls = needs_tls || server.is_tls();
  if (needs_tls) {
    auto context = MakeClientTlsContext(options_.tls);
    if (!context.ok()) {
      return Status(context.status().code(),
                    "bad TLS options: " + std::string(context.status().message()));
    }
    tls_context_ = std::move(context).value();
  }
  io_thread_ = std::thread([this] { io_.run(); });
  asio::post(io_, [this] { StartConnectAttempt(0); });
  std::unique_lock<std::mutex> lock(mutex_);
  state_changed_.wait(lock, [this] { return initial_result_.has_value(); });
  return *initial_result_;
}

Status ConnectionEngine::Publish(std::string_view subject, ByteView payload,
                                 std::string_view reply_to, const wire::Headers* headers) {
  std::unique_lock<std::mutex> lock(mutex_);
  EMBED_RETURN_IF_ERROR(core_.Publish(subject, reply_to, headers, payload));
  WakeLocked();
  // Back-pressure: a publisher faster than the socket waits for the writer.
  while (core_.output_bytes() > kMaxQueuedOutputBytes && transport_up_ && !is_closed_) {
    output_space_.wait(lock);
  }
  return Status::Ok();
}

Result<Message> ConnectionEngine::Request(const Message& request,
                                          std::chrono::milliseconds timeout) {
  const auto deadline = Clock::now() + timeout;
  auto slot = std::make_shared<ReplySlot>();
  std::unique_lock<std::mutex> lock(mutex_);
  auto id = core_.StartRequest(request, deadline);
  if (!id.ok()) return id.status();
  requests_[*id] = PendingRequest{slot, nullptr};
  WakeLocked();
  if (!slot->done_cv.wait_until(lock, deadline + kWaiterGrace, [&] { return slot->is_done; })) {
    core_.CancelRequest(*id);
    requests_.erase(*id);
    return TimeoutError("request timed out");
  }
  return std::move(*slot->reply);
}

void ConnectionEngine::RequestAsync(const Message& request, std::chrono::milliseconds timeout,
                                    ReplyHandler on_reply) {
  const auto deadline = Clock::now() + timeout;
  std::unique_lock<std::mutex> lock(mutex_);
  auto id = core_.StartRequest(request, deadline);
  if (!id.ok()) {
    if (is_closed_) {
      // The dispatcher may be gone: answer on the caller's thread.
      lock.unlock();
      if (on_reply) on_reply(id.status());
      return;
    }
    dispatcher_.Post([on_reply = std::move(on_reply), status = id.status()] {
      if (on_reply) on_reply(status);
    });
    return;
  }
  requests_[*id] = PendingRequest{nullptr, std::move(on_reply)};
  WakeLocked();
}

Status ConnectionEngine::Flush(std::chrono::milliseconds timeout) {
  const auto deadline = Clock::now() + timeout;
  std::unique_lock<std::mutex> lock(mutex_);
  return FlushLocked(lock, deadline);
}

Status ConnectionEngine::Unsubscribe(SubscriptionState& subscription, std::uint64_t max_messages) {
  std::lock_guard<std::mutex> lock(mutex_);
  if (subscription.is_unsubscribed || subscription.is_finished) {
    // Still stop the deliveries queued for it: the caller is done with it.
    if (max_messages == 0) subscription.is_unsubscribed = true;
    return FailedPreconditionError("subscription is no longer valid");
  }
  if (max_messages == 0) subscription.is_unsubscribed = true;
  Status status = core_.HasSubscription(subscription.sid)
                      ? core_.Unsubscribe(subscription.sid, max_messages)
                      : Status::Ok();
  if (!core_.HasSubscription(subscription.sid)) {
    if (max_messages != 0) subscription.is_finished = true;
    subscriptions_.erase(subscription.sid);
  }
  WakeLocked();
  return status;
}

Status ConnectionEngine::DrainSubscription(SubscriptionState& subscription,
                                           std::chrono::milliseconds timeout) {
  const auto deadline = Clock::now() + timeout;
  if (dispatcher_.IsDispatcherThread()) {
    // Its pending messages wait for this very thread.
    return FailedPreconditionError("cannot drain a subscription from a handler");
  }
  {
    std::unique_lock<std::mutex> lock(mutex_);
    if (is_closed_) return FailedPreconditionError("connection is closed");
    if (subscription.is_unsubscribed) {
      return FailedPreconditionError("subscription is no longer valid");
    }
    if (!subscription.is_finished && core_.HasSubscription(subscription.sid)) {
      EMBED_RETURN_IF_ERROR(core_.DrainSubscription(subscription.sid));
      WakeLocked();
    }
    if (!state_changed_.wait_until(lock, deadline,
                                   [&] { return subscription.is_finished.load() || is_closed_; })) {
      return TimeoutError("subscription drain timed out");
    }
  }
  if (!dispatcher_.WaitUntilDrained(subscription, deadline)) {
    return TimeoutError("subscription drain timed out waiting for the handler");
  }
  return Status::Ok();
}

std::size_t ConnectionEngine::PendingMessages(const SubscriptionState& s) const {
  return dispatcher_.PendingMessages(s);
}

ConnectionState ConnectionEngine::state() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return state_;
}

std::string ConnectionEngine::connected_url() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return state_ == ConnectionState::kConnected || state_ == ConnectionState::kDraining
             ? servers_[server_index_].ToString()
             : std::string();
}

std::int64_t ConnectionEngine::max_payload() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return core_.max_payload();
}

std::string ConnectionEngine::NewInbox() {
  std::lock_guard<std::mutex> lock(mutex_);
  return core_.NewInbox();
}

void ConnectionEngine::WakeLocked() {
  if (wake_posted_ || is_closed_) return;
  const auto deadline = core_.NextDeadline();
  const bool needs_write = transport_up_ && !write_in_flight_ && core_.has_output();
  const bool needs_timer = deadline && (!armed_deadline_ || *deadline < *armed_deadline_);
  if (!needs_write && !needs_timer && !core_.has_events()) return;
  wake_posted_ = true;
  asio::post(io_, [this] {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      wake_posted_ = false;
    }
    AfterCoreActivity();
  });
}

Status ConnectionEngine::FlushLocked(std::unique_lock<std::mutex>& lock,
                                     Clock::time_point deadline) {
  auto id = core_.StartFlush(deadline);
  if (!id.ok()) return id.status();
  auto slot = std::make_shared<FlushSlot>();
  flushes_[*id] = slot;
  WakeLocked();
  if (!slot->done_cv.wait_until(lock, deadline + kWaiterGrace, [&] { return slot->is_done; })) {
    flushes_.erase(*id);
    return TimeoutError("flush timed out");
  }
  return slot->status;
}

void ConnectionEngine::SetStateLocked(ConnectionState state) {
  state_ = state;
  state_changed_.notify_all();
}

void ConnectionEngine::EmitEventLocked(ConnectionEvent event) {
  if (!options_.on_event) return;
  // Tasks capture copies, never `this`: a dispatcher detached by a Close()
  // from a handler may run them after the Engine is gone.
  dispatcher_.Post([on_event = options_.on_event, event] { on_event(event); });
}

void ConnectionEngine::Log(LogLevel level, const std::string& message) {
  if (options_.logger != nullptr && options_.logger->IsEnabled(level)) {
    options_.logger->Log(level, message);
  }
}

void ConnectionEngine::LogLocked(LogLevel level, std::string message) {
  if (options_.logger != nullptr && options_.logger->IsEnabled(level)) {
    pending_logs_.emplace_back(level, std::move(message));
  }
}

void ConnectionEngine::EmitPendingLogs() {
  std::vector<std::pair<LogLevel, std::string>> logs;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    logs.swap(pending_logs_);
  }
  for (const auto& [level, message] : logs) Log(level, message);
}

Result<std::shared_ptr<SubscriptionState>> ConnectionEngine::Subscribe(
    std::string_view subject, MessageHandler handler, const SubscribeOptions& options) {
  if (!handler) return InvalidArgumentError("handler must not be empty");
  std::lock_guard<std::mutex> lock(mutex_);
  if (state_ == ConnectionState::kDraining) {
    return FailedPreconditionError("connection is draining");
  }
  auto sid = core_.Subscribe(subject, options.queue_group);
  if (!sid.ok()) return sid.status();
  auto state = std::make_shared<SubscriptionState>();
  state->sid = *sid;
  state->subject = std::string(subject);
  state->handler = std::move(handler);
  state->pending_messages_limit = options.pending_messages_limit != 0
                                      ? options.pending_messages_limit
                                      : options_.pending_messages_limit;
  state->pending_bytes_limit =
      options.pending_bytes_limit != 0 ? options.pending_bytes_limit : options_.pending_bytes_limit;
  subscriptions_[*sid] = state;
  WakeLocked();
  return state;
}

Status ConnectionEngine::Drain(std::chrono::milliseconds timeout) {
  const auto deadline = Clock::now() + timeout;
  Status result;
  {
    std::unique_lock<std::mutex> lock(mutex_);
    if (is_closed_) return FailedPreconditionError("connection is closed");
    if (state_ == ConnectionState::kDraining) return FailedPreconditionError("already draining");
    SetStateLocked(ConnectionState::kDraining);
    for (std::uint64_t sid : core_.UserSids()) core_.DrainSubscription(sid).IgnoreError();
    WakeLocked();
    // Every subscription's UNSUB was confirmed by the server (or the
    // connection went away).
    if (!state_changed_.wait_until(lock, deadline,
                                   [&] { return subscriptions_.empty() || is_closed_; })) {
      result = TimeoutError("drain timed out waiting for the server");
    }
  }
  // Handlers finish what is pending.
  if (result.ok() && !dispatcher_.WaitUntilIdle(deadline)) {
    result = TimeoutError("drain timed out waiting for handlers");
  }
  if (result.ok()) {
    std::unique_lock<std::mutex> lock(mutex_);
    if (!is_closed_ && core_.is_connected()) {
      Status flushed = FlushLocked(lock, deadline);
      if (!flushed.ok()) result = flushed;
    }
  }
  Close();
  return result;
}

void ConnectionEngine::Close() {
  {
    std::lock_guard<std::mutex> lock(close_mutex_);
    if (close_started_) {
      // Another thread closes; a handler must not wait for its own thread.
      if (dispatcher_.IsDispatcherThread()) return;
    }
    close_started_ = true;
    if (io_thread_.joinable()) {
      asio::post(io_, [this] { CloseFromIo(CancelledError("connection closed by the user")); });
      io_thread_.join();
    }
  }
  dispatcher_.Shutdown();
}

}  // namespace embed::client::internal
