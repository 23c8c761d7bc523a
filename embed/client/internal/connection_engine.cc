#include "embed/client/internal/connection_engine.h"

#include <boost/asio/connect.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/write.hpp>
#include <utility>

namespace embed::client::internal {
namespace {

using Clock = std::chrono::steady_clock;

// Bytes queued for the socket beyond which publishers wait for the writer.
constexpr std::size_t kMaxQueuedOutputBytes = 8 * 1024 * 1024;
// Longest Close() spends writing what is queued before it closes the socket.
constexpr std::chrono::seconds kCloseFlushTimeout{1};
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
      socket_(io_),
      resolver_(io_),
      connect_timer_(io_),
      core_timer_(io_),
      reconnect_timer_(io_),
      dispatcher_(options_.on_error),
      core_(CoreOptions(options_)),
      reconnect_policy_(servers_.size(), options_.max_reconnect_attempts, options_.reconnect_wait,
                        options_.reconnect_jitter, options_.reconnect_wait_max),
      rng_(std::random_device{}()) {}

ConnectionEngine::~ConnectionEngine() { Close(); }

Status ConnectionEngine::Start() {
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

void ConnectionEngine::StartConnectAttempt(std::size_t index) {
  if (is_closed_flag_) return;
  const std::uint64_t generation = ++generation_;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    server_index_ = index;
  }
  reconnect_policy_.OnAttempt(index, Clock::now());
  Log(LogLevel::kDebug, "connecting to " + servers_[index].ToString());
  connect_timed_out_ = false;
  is_connect_pending_ = true;
  boost::system::error_code ignored;
  socket_.close(ignored);
  const ServerUrl& server = servers_[index];
  connect_timer_.expires_after(options_.connect_timeout);
  connect_timer_.async_wait([this, generation](const boost::system::error_code& error) {
    // A handler queued before the connect completed must not close it.
    if (error || generation != generation_ || !is_connect_pending_) return;
    connect_timed_out_ = true;
    resolver_.cancel();
    boost::system::error_code ignore;
    socket_.close(ignore);
  });
  resolver_.async_resolve(server.host, std::to_string(server.port),
                          [this, generation](const boost::system::error_code& error,
                                             const tcp::resolver::results_type& endpoints) {
                            if (generation != generation_) return;
                            if (error) {
                              ConnectFailed(generation, error);
                              return;
                            }
                            asio::async_connect(
                                socket_, endpoints,
                                [this, generation](const boost::system::error_code& connect_error,
                                                   const tcp::endpoint&) {
                                  if (generation != generation_) return;
                                  if (connect_error) {
                                    ConnectFailed(generation, connect_error);
                                    return;
                                  }
                                  TransportConnected(generation);
                                });
                          });
}

void ConnectionEngine::ConnectFailed(std::uint64_t generation,
                                     const boost::system::error_code& error) {
  is_connect_pending_ = false;
  connect_timer_.cancel();
  std::string message = "cannot connect to " + servers_[server_index_].ToString() + ": ";
  Status status = connect_timed_out_ ? TimeoutError(message + "connect timed out")
                                     : UnavailableError(message + error.message());
  HandleDisconnect(generation, std::move(status), AfterDisconnect::kReconnect);
}

void ConnectionEngine::TransportConnected(std::uint64_t generation) {
  is_connect_pending_ = false;
  connect_timer_.cancel();
  boost::system::error_code ignored;
  socket_.set_option(tcp::no_delay(true), ignored);
  const ServerUrl& server = servers_[server_index_];
  Credentials credentials;
  if (!server.user.empty() || !server.token.empty()) {
    credentials = {server.user, server.password, server.token};
  } else {
    credentials = {options_.user, options_.password, options_.token};
  }
  {
    std::lock_guard<std::mutex> lock(mutex_);
    transport_up_ = true;
    write_in_flight_ = false;
    core_.StartHandshake(Clock::now(), credentials);
  }
  StartRead(generation);
  AfterCoreActivity();
}

void ConnectionEngine::StartRead(std::uint64_t generation) {
  socket_.async_read_some(
      asio::buffer(read_buffer_),
      [this, generation](const boost::system::error_code& error, std::size_t bytes) {
        if (generation != generation_) return;
        if (error) {
          std::string reason = error == asio::error::eof ? "server closed the connection"
                                                         : "read failed: " + error.message();
          HandleDisconnect(generation, UnavailableError(reason), AfterDisconnect::kReconnect);
          return;
        }
        {
          std::lock_guard<std::mutex> lock(mutex_);
          core_.Feed(ByteView(read_buffer_.data(), bytes), Clock::now());
        }
        AfterCoreActivity();
        if (generation == generation_) StartRead(generation);
      });
}

void ConnectionEngine::StartWriteLocked() {
  if (write_in_flight_ || !transport_up_ || !core_.has_output()) return;
  core_.TakeOutput(write_buffer_);
  write_in_flight_ = true;
  const std::uint64_t generation = generation_;
  asio::async_write(socket_, asio::buffer(write_buffer_),
                    [this, generation](const boost::system::error_code& error, std::size_t) {
                      if (is_closed_flag_ && closing_write_in_flight_ &&
                          generation == closing_write_generation_) {
                        ClosingWriteDone(error);
                        return;
                      }
                      if (generation != generation_) return;
                      if (error) {
                        HandleDisconnect(generation,
                                         UnavailableError("write failed: " + error.message()),
                                         AfterDisconnect::kReconnect);
                        return;
                      }
                      std::lock_guard<std::mutex> lock(mutex_);
                      write_in_flight_ = false;
                      output_space_.notify_all();
                      StartWriteLocked();
                    });
}

void ConnectionEngine::ArmTimerLocked() {
  const auto deadline = core_.NextDeadline();
  if (deadline == armed_deadline_) return;
  armed_deadline_ = deadline;
  if (!deadline) {
    core_timer_.cancel();
    return;
  }
  core_timer_.expires_at(*deadline);
  core_timer_.async_wait([this](const boost::system::error_code& error) {
    if (error) return;  // re-armed or cancelled
    {
      std::lock_guard<std::mutex> lock(mutex_);
      armed_deadline_.reset();
      core_.OnTimer(Clock::now());
    }
    AfterCoreActivity();
  });
}

void ConnectionEngine::AfterCoreActivity() {
  std::optional<DisconnectedEvent> disconnected;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    if (is_closed_) return;
    core_.TakeEvents(events_);
    for (ClientEvent& event : events_) {
      if (auto* lost = std::get_if<DisconnectedEvent>(&event)) {
        disconnected = std::move(*lost);
      } else {
        HandleEventLocked(event);
      }
    }
    events_.clear();
    dispatcher_.Push(items_);
    StartWriteLocked();
    ArmTimerLocked();
  }
  EmitPendingLogs();
  if (disconnected) {
    HandleDisconnect(generation_, std::move(disconnected->reason), disconnected->after);
  }
}

void ConnectionEngine::HandleEventLocked(ClientEvent& event) {
  if (auto* message = std::get_if<MessageEvent>(&event)) {
    const auto it = subscriptions_.find(message->sid);
    if (it == subscriptions_.end()) return;
    items_.push_back(Dispatcher::Item{it->second, std::move(message->message), nullptr});
  } else if (auto* reply = std::get_if<ReplyEvent>(&event)) {
    const auto it = requests_.find(reply->request_id);
    if (it == requests_.end()) return;
    PendingRequest request = std::move(it->second);
    requests_.erase(it);
    if (request.slot) {
      request.slot->reply.emplace(std::move(reply->reply));
      request.slot->is_done = true;
      request.slot->done_cv.notify_all();
    } else if (request.handler) {
      items_.push_back(Dispatcher::Item{nullptr, Message{},
                                        [handler = std::move(request.handler),
                                         result = std::make_shared<Result<Message>>(std::move(
                                             reply->reply))]() { handler(std::move(*result)); }});
    }
  } else if (auto* flush = std::get_if<FlushEvent>(&event)) {
    const auto it = flushes_.find(flush->flush_id);
    if (it == flushes_.end()) return;
    it->second->status = flush->status;
    it->second->is_done = true;
    it->second->done_cv.notify_all();
    flushes_.erase(it);
  } else if (auto* done = std::get_if<SubscriptionDoneEvent>(&event)) {
    const auto it = subscriptions_.find(done->sid);
    if (it == subscriptions_.end()) return;
    it->second->is_finished = true;
    subscriptions_.erase(it);
    state_changed_.notify_all();
  } else if (auto* error = std::get_if<ErrorEvent>(&event)) {
    if (options_.on_error) {
      items_.push_back(Dispatcher::Item{
          nullptr, Message{},
          [on_error = options_.on_error, status = error->status] { on_error(status); }});
    }
  } else if (auto* connected = std::get_if<ConnectedEvent>(&event)) {
    reconnect_policy_.OnConnected();
    if (state_ != ConnectionState::kDraining) SetStateLocked(ConnectionState::kConnected);
    LogLocked(LogLevel::kInfo, "connected to " + servers_[server_index_].ToString());
    if (!initial_result_) {
      initial_result_ = Status::Ok();
      state_changed_.notify_all();
      EmitEventLocked(ConnectionEvent::kConnected);
    } else {
      EmitEventLocked(ConnectionEvent::kReconnected);
    }
    (void)connected;
  }
  // InfoEvent: nothing to do; the core keeps max_payload.
}

void ConnectionEngine::HandleDisconnect(std::uint64_t generation, Status reason,
                                        AfterDisconnect after) {
  if (generation != generation_ || is_closed_flag_) return;
  ++generation_;
  connect_timer_.cancel();
  boost::system::error_code ignored;
  socket_.close(ignored);
  bool was_connected = false;
  bool is_initial = false;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    transport_up_ = false;
    write_in_flight_ = false;
    output_space_.notify_all();
    core_.OnTransportClosed();
    core_.TakeEvents(events_);
    for (ClientEvent& event : events_) {
      if (!std::holds_alternative<DisconnectedEvent>(event)) HandleEventLocked(event);
    }
    events_.clear();
    dispatcher_.Push(items_);
    was_connected = state_ == ConnectionState::kConnected || state_ == ConnectionState::kDraining;
    is_initial = !initial_result_.has_value();
    if (!is_initial && state_ != ConnectionState::kDraining) {
      SetStateLocked(ConnectionState::kReconnecting);
    }
    if (was_connected) EmitEventLocked(ConnectionEvent::kDisconnected);
    ArmTimerLocked();
  }
  EmitPendingLogs();
  Log(LogLevel::kInfo, "disconnected: " + reason.ToString());
  if (is_initial) {
    // First connect: try every server once, then report the last failure.
    last_error_ = reason;
    const std::size_t next = server_index_ + 1;
    if (after == AfterDisconnect::kClose || next >= servers_.size()) {
      CloseFromIo(reason);
      return;
    }
    StartConnectAttempt(next);
    return;
  }
  if (after == AfterDisconnect::kClose || !options_.allow_reconnect) {
    CloseFromIo(reason);
    return;
  }
  ScheduleReconnect();
}

void ConnectionEngine::ScheduleReconnect() {
  std::uniform_real_distribution<double> jitter(0.0, 1.0);
  const auto next = reconnect_policy_.Next(Clock::now(), jitter(rng_));
  if (!next) {
    CloseFromIo(UnavailableError("reconnect attempts exhausted"));
    return;
  }
  reconnect_timer_.expires_after(next->delay);
  const std::size_t index = next->server_index;
  reconnect_timer_.async_wait([this, index](const boost::system::error_code& error) {
    if (error) return;
    StartConnectAttempt(index);
  });
}

void ConnectionEngine::CloseFromIo(const Status& reason) {
  if (is_closed_flag_) return;
  is_closed_flag_ = true;
  ++generation_;
  bool flushes = false;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    if (transport_up_) {
      // Everything queued goes out after the write in flight, if any, within
      // kCloseFlushTimeout.
      core_.TakeOutput(close_bytes_);
      flushes = write_in_flight_ || !close_bytes_.empty();
      closing_write_in_flight_ = write_in_flight_;
      closing_write_generation_ = generation_ - 1;
    }
    core_.Close();
    core_.TakeEvents(events_);
    for (ClientEvent& event : events_) {
      if (!std::holds_alternative<DisconnectedEvent>(event)) HandleEventLocked(event);
    }
    events_.clear();
    // Blocked callers whose slots the core did not complete.
    for (auto& [id, request] : requests_) {
      if (request.slot) {
        request.slot->reply.emplace(CancelledError("connection closed"));
        request.slot->is_done = true;
        request.slot->done_cv.notify_all();
      }
    }
    requests_.clear();
    for (auto& [id, flush] : flushes_) {
      flush->status = CancelledError("connection closed");
      flush->is_done = true;
      flush->done_cv.notify_all();
    }
    flushes_.clear();
    dispatcher_.Push(items_);
    is_closed_ = true;
    transport_up_ = false;
    if (!initial_result_) {
      initial_result_ = last_error_.ok() ? reason : last_error_;
    } else {
      EmitEventLocked(ConnectionEvent::kClosed);
    }
    SetStateLocked(ConnectionState::kClosed);
    output_space_.notify_all();
  }
  EmitPendingLogs();
  resolver_.cancel();
  core_timer_.cancel();
  reconnect_timer_.cancel();
  if (!flushes) {
    FinishClose();
    return;
  }
  // Never block on a socket the server does not read: bounded by a timer.
  connect_timer_.expires_after(kCloseFlushTimeout);
  connect_timer_.async_wait([this](const boost::system::error_code& error) {
    if (error) return;
    FinishClose();
  });
  if (!closing_write_in_flight_) WriteCloseBytes();
}

void ConnectionEngine::ClosingWriteDone(const boost::system::error_code& error) {
  closing_write_in_flight_ = false;
  if (error || close_bytes_.empty()) {
    FinishClose();
    return;
  }
  WriteCloseBytes();
}

void ConnectionEngine::WriteCloseBytes() {
  asio::async_write(socket_, asio::buffer(close_bytes_),
                    [this](const boost::system::error_code&, std::size_t) { FinishClose(); });
}

void ConnectionEngine::FinishClose() {
  if (is_close_finished_) return;
  is_close_finished_ = true;
  boost::system::error_code ignored;
  socket_.shutdown(tcp::socket::shutdown_both, ignored);
  socket_.close(ignored);
  resolver_.cancel();
  connect_timer_.cancel();
  core_timer_.cancel();
  reconnect_timer_.cancel();
  work_.reset();
  io_.stop();
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
