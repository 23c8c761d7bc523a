// ConnectionEngine, part 2: the I/O thread. Dials a transport (transport.h),
// runs the read loop (AsyncWaitReadable + ReadSome into the core), starts TLS
// when the core asks for it, writes the core's output, arms its timer, turns
// core events into completions, and handles disconnects, reconnects and the
// final close. The public methods are in connection_engine.cc.

#include "embed/client/internal/connection_engine.h"

#include <boost/asio/error.hpp>
#include <boost/asio/post.hpp>
#include <utility>

namespace embed::client::internal {
namespace {

using Clock = std::chrono::steady_clock;

// Longest Close() spends writing what is queued before it closes the stream.
constexpr std::chrono::seconds kCloseFlushTimeout{1};

// How the core treats INFO's TLS fields on this URL.
TlsPolicy PolicyFor(const ServerUrl& server, const ConnectionOptions& options) {
  switch (server.scheme) {
    case UrlScheme::kTls:
      return TlsPolicy::kRequired;
    case UrlScheme::kNats:
      return options.tls.is_configured() ? TlsPolicy::kRequired : TlsPolicy::kIfRequired;
    case UrlScheme::kWs:
    case UrlScheme::kWss:
    case UrlScheme::kInproc:
      break;
  }
  return TlsPolicy::kBelowProtocol;
}

bool IsWouldBlock(const boost::system::error_code& error) {
  return error == boost::asio::error::would_block || error == boost::asio::error::try_again;
}

}  // namespace

void ConnectionEngine::StartConnectAttempt(std::size_t index) {
  if (is_closed_flag_) return;
  const std::uint64_t generation = ++generation_;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    server_index_ = index;
  }
  reconnect_policy_.OnAttempt(index, Clock::now());
  Log(LogLevel::kDebug, "connecting to " + servers_[index].ToString());
  RetireStream();
  if (dial_) dial_->Cancel();
  const ServerUrl& server = servers_[index];
  DialOptions dial;
  dial.timeout = options_.connect_timeout;
  dial.tls_context = tls_context_;
  dial.tls_server_name = options_.tls.server_name;
  dial.ws_compression = options_.ws_compression;
  dial_ = Dial(io_, server, dial,
               [this, generation](Result<std::unique_ptr<ClientStream>> stream) {
                 if (generation != generation_) {
                   if (stream.ok()) (*stream)->Close();
                   return;
                 }
                 dial_.reset();
                 if (!stream.ok()) {
                   std::string message = "cannot connect to " +
                                         servers_[server_index_].ToString() + ": " +
                                         std::string(stream.status().message());
                   HandleDisconnect(generation, Status(stream.status().code(), message),
                                    AfterDisconnect::kReconnect);
                   return;
                 }
                 TransportConnected(generation, std::move(stream).value());
               });
}

void ConnectionEngine::TransportConnected(std::uint64_t generation,
                                          std::unique_ptr<ClientStream> stream) {
  stream_ = std::move(stream);
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
    core_.StartHandshake(Clock::now(), credentials, PolicyFor(server, options_));
  }
  StartRead(generation);
  AfterCoreActivity();
}

void ConnectionEngine::StartRead(std::uint64_t generation) {
  stream_->AsyncWaitReadable([this, generation](const boost::system::error_code& error) {
    if (generation != generation_) return;
    if (error) {
      StreamFailed(generation, error);
      return;
    }
    ReadAvailable(generation);
  });
}

void ConnectionEngine::ReadAvailable(std::uint64_t generation) {
  for (int reads = 0; reads < kMaxReadsPerWake; ++reads) {
    boost::system::error_code error;
    const std::size_t bytes = stream_->ReadSome(asio::buffer(read_buffer_.get(), kReadBufferBytes), error);
    if (IsWouldBlock(error) || (!error && bytes == 0)) {
      StartRead(generation);
      return;
    }
    if (error) {
      StreamFailed(generation, error);
      return;
    }
    Status tls_status;
    {
      std::lock_guard<std::mutex> lock(mutex_);
      core_.Feed(ByteView(read_buffer_.get(), bytes), Clock::now());
      // INFO asked for TLS: start it before anything is written.
      if (core_.awaiting_tls()) tls_status = StartTlsLocked();
    }
    if (!tls_status.ok()) {
      HandleDisconnect(generation, std::move(tls_status), AfterDisconnect::kReconnect);
      return;
    }
    AfterCoreActivity();
    if (generation != generation_) return;
  }
  // Let timers and writes run between bursts of input.
  asio::post(io_, [this, generation] {
    if (generation == generation_) ReadAvailable(generation);
  });
}

Status ConnectionEngine::StartTlsLocked() {
  if (!stream_->is_tls_capable()) {
    return UnavailableError("server requires TLS, which this transport cannot start");
  }
  if (tls_context_ == nullptr) {
    // nats:// to a server that requires TLS (as nats.go: upgrade with the
    // options' settings, the system's CAs by default).
    auto context = MakeClientTlsContext(options_.tls);
    if (!context.ok()) return context.status();
    tls_context_ = std::move(context).value();
  }
  const std::string& name =
      options_.tls.server_name.empty() ? servers_[server_index_].host : options_.tls.server_name;
  EMBED_RETURN_IF_ERROR(stream_->StartTls(tls_context_, name));
  core_.TlsStarted(Clock::now());
  return Status::Ok();
}

void ConnectionEngine::StreamFailed(std::uint64_t generation,
                                    const boost::system::error_code& error) {
  std::string reason = stream_->DescribeError(error);
  bool is_handshake = false;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    is_handshake = !core_.is_connected();
  }
  // Before the NATS handshake ended the URL says which server failed.
  if (is_handshake) {
    reason = "cannot connect to " + servers_[server_index_].ToString() + ": " + reason;
  }
  HandleDisconnect(generation, UnavailableError(reason), AfterDisconnect::kReconnect);
}

void ConnectionEngine::RetireStream() {
  if (!stream_) return;
  stream_->Close();
  // Its handlers may be on the stack: destroy it from a fresh handler.
  asio::post(io_, [stream = std::shared_ptr<ClientStream>(std::move(stream_))] {});
}

void ConnectionEngine::StartWriteLocked() {
  // Nothing leaves before TLS started (CONNECT carries credentials).
  if (write_in_flight_ || !transport_up_ || !core_.has_output() || core_.awaiting_tls()) return;
  core_.TakeOutput(write_buffer_);
  write_in_flight_ = true;
  const std::uint64_t generation = generation_;
  stream_->AsyncWrite(asio::buffer(write_buffer_),
                    [this, generation](const boost::system::error_code& error, std::size_t) {
                      if (is_closed_flag_ && closing_write_in_flight_ &&
                          generation == closing_write_generation_) {
                        ClosingWriteDone(error);
                        return;
                      }
                      if (generation != generation_) return;
                      if (error) {
                        HandleDisconnect(generation,
                                         UnavailableError("write failed: " +
                                                          stream_->DescribeError(error)),
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
  if (dial_) dial_->Cancel();
  dial_.reset();
  RetireStream();
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
  if (dial_) dial_->Cancel();
  dial_.reset();
  core_timer_.cancel();
  reconnect_timer_.cancel();
  if (!flushes) {
    FinishClose();
    return;
  }
  // Never block on a socket the server does not read: bounded by a timer.
  close_timer_.expires_after(kCloseFlushTimeout);
  close_timer_.async_wait([this](const boost::system::error_code& error) {
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
  if (!stream_) {
    FinishClose();
    return;
  }
  stream_->AsyncWrite(asio::buffer(close_bytes_),
                      [this](const boost::system::error_code&, std::size_t) { FinishClose(); });
}

void ConnectionEngine::FinishClose() {
  if (is_close_finished_) return;
  is_close_finished_ = true;
  if (stream_) stream_->Close();
  if (dial_) dial_->Cancel();
  close_timer_.cancel();
  core_timer_.cancel();
  reconnect_timer_.cancel();
  work_.reset();
  io_.stop();
}

}  // namespace embed::client::internal
