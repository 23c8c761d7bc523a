#include "embed/rpc/internal/client_call.h"

#include <utility>

#include "embed/client/connection.h"
#include "embed/rpc/internal/channel_state.h"

namespace embed::rpc::internal {

using Clock = std::chrono::steady_clock;

void ClientCall::SetCallbacks(StreamMessageCallback on_message, StreamDoneCallback on_done) {
  on_message_ = std::move(on_message);
  on_done_ = std::move(on_done);
}

void ClientCall::Start(std::string_view request, const CallOptions& options, std::uint32_t window) {
  auto channel = channel_.lock();
  if (!channel) return Complete(RpcStatus(RpcCode::kCancelled, "the channel is closed"), false);
  Result<std::string> inbox = channel->Register(shared_from_this(), &token_);
  if (!inbox.ok())
    return Complete(WithMethod(method_, RpcStatus::FromStatus(inbox.status())), false);
  std::optional<std::chrono::milliseconds> timeout;
  if (options.timeout.count() > 0) timeout = options.timeout;
  {
    std::lock_guard lock(mutex_);
    inbox_ = std::move(*inbox);
    last_received_ = last_sent_ = Clock::now();
  }
  Status sent = connection_.Publish(
      MakeOpen(method_, inbox_, kind_, window, keepalive_, timeout, options.metadata, request));
  if (!sent.ok()) return Complete(WithMethod(method_, RpcStatus::FromStatus(sent)), false);
  std::weak_ptr<ClientCall> weak = weak_from_this();
  std::lock_guard lock(mutex_);
  if (is_finished_) return;
  if (timeout) {
    deadline_timer_ = channel->timers().Schedule(Clock::now() + *timeout, [weak, timeout] {
      if (auto call = weak.lock()) {
        // No cancel frame: the server holds the same deadline and ends
        // the call itself, as DEADLINE_EXCEEDED rather than CANCELLED.
        call->Complete(RpcStatus(RpcCode::kDeadlineExceeded,
                                 "deadline of " + DescribeDuration(*timeout) + " passed"),
                       false);
      }
    });
  }
  ScheduleKeepaliveLocked(*channel);
}

void ClientCall::OnMessage(client::Message& message) {
  Result<Frame> decoded = DecodeFrame(message);
  if (!decoded.ok()) {
    return Complete(RpcStatus(RpcCode::kInternal, "bad frame from the server: " +
                                                      std::string(decoded.status().message())),
                    true);
  }
  const Frame& frame = *decoded;
  if (frame.is_no_responders) {
    std::unique_lock lock(mutex_);
    bool was_accepted = is_accepted_;
    lock.unlock();
    return Complete(RpcStatus(RpcCode::kUnavailable,
                              was_accepted ? method_ + ": the server is gone"
                                           : method_ + ": no responders (is the service running?)"),
                    false);
  }
  std::unique_lock lock(mutex_);
  last_received_ = Clock::now();
  if (is_finished_) {
    // A late accept for a call already given up: tell that server.
    if (frame.type == FrameType::kAccept && !message.reply_to.empty()) {
      lock.unlock();
      connection_.Publish(MakeControl(FrameType::kCancel, message.reply_to, inbox_)).IgnoreError();
    }
    return;
  }
  switch (frame.type) {
    case FrameType::kAccept:
      if (is_accepted_ || message.reply_to.empty()) break;
      is_accepted_ = true;
      peer_inbox_ = message.reply_to;
      send_.GrantTotal(frame.window);
      changed_.notify_all();
      return;
    case FrameType::kCredit:
      send_.GrantTotal(frame.granted);
      changed_.notify_all();
      return;
    case FrameType::kKeepalive:
      if (frame.granted > 0) {
        send_.GrantTotal(frame.granted);
        changed_.notify_all();
      }
      return;
    case FrameType::kData: {
      if (kind_ == MethodKind::kClientStreaming) break;
      RpcStatus checked = receive_.OnData(frame.seq);
      if (!checked.ok()) {
        lock.unlock();
        return Complete(WithMethod(method_, checked), true);
      }
      if (on_message_) {
        is_delivering_ = true;
        lock.unlock();
        RpcStatus thrown;
        try {
          on_message_(message.payload);
        } catch (const std::exception& error) {
          thrown = RpcStatus(RpcCode::kInternal, method_ + ": on_message threw: " + error.what());
        } catch (...) {
          thrown = RpcStatus(RpcCode::kInternal, method_ + ": on_message threw");
        }
        lock.lock();
        is_delivering_ = false;
        // A slow callback is not a silent server.
        last_received_ = Clock::now();
        if (!thrown.ok()) {
          lock.unlock();
          Complete(std::move(thrown), true);
          lock.lock();
        }
        TakeCreditLocked(lock);
        if (is_done_pending_) {
          lock.unlock();
          RunDone();
        }
        return;
      }
      if (is_discarding_) {
        TakeCreditLocked(lock);  // Finish() was called: nobody reads any more
        return;
      }
      inbound_.push_back(std::move(message.payload));
      changed_.notify_all();
      return;
    }
    case FrameType::kEnd: {
      RpcStatus status = frame.status;
      if (status.ok()) {
        RpcStatus counted = receive_.OnEnd(frame.seq);
        if (!counted.ok()) status = WithMethod(method_, counted);
      }
      if (status.ok() && kind_ == MethodKind::kClientStreaming) {
        inbound_.push_back(std::move(message.payload));
      }
      lock.unlock();
      return Complete(std::move(status), false);
    }
    default:
      break;
  }
  lock.unlock();
  Complete(RpcStatus(RpcCode::kInternal, "unexpected " + std::string(FrameTypeName(frame.type)) +
                                             " frame from the server"),
           true);
}

RpcStatus ClientCall::Write(std::string payload) {
  if (kind_ == MethodKind::kServerStreaming) {
    return RpcStatus(RpcCode::kFailedPrecondition,
                     "a server-streaming call sends its one request when it opens");
  }
  std::unique_lock lock(mutex_);
  if (is_writes_done_) return RpcStatus(RpcCode::kFailedPrecondition, "Write after WritesDone");
  changed_.wait(lock, [this] { return is_finished_ || (is_accepted_ && send_.CanSend()); });
  if (is_finished_) return FinishedStatusLocked();
  std::uint64_t seq = send_.TakeSeq();
  last_sent_ = Clock::now();
  std::string to = peer_inbox_;
  lock.unlock();
  Status sent = connection_.Publish(MakeData(to, inbox_, seq, std::move(payload)));
  if (!sent.ok()) {
    Complete(WithMethod(method_, RpcStatus::FromStatus(sent)), true);
    return Finish();
  }
  return RpcStatus::Ok();
}

RpcStatus ClientCall::WritesDone() {
  if (kind_ == MethodKind::kServerStreaming) return RpcStatus::Ok();
  std::unique_lock lock(mutex_);
  if (is_writes_done_) return RpcStatus::Ok();
  changed_.wait(lock, [this] { return is_finished_ || is_accepted_; });
  // The server may end a call before reading everything: that is its answer.
  if (is_finished_) return status_;
  is_writes_done_ = true;
  std::uint64_t sent_count = send_.sent();
  last_sent_ = Clock::now();
  std::string to = peer_inbox_;
  lock.unlock();
  Status sent = connection_.Publish(MakeEnd(to, inbox_, sent_count, RpcStatus::Ok(), {}));
  if (!sent.ok()) {
    Complete(WithMethod(method_, RpcStatus::FromStatus(sent)), true);
    return Finish();
  }
  return RpcStatus::Ok();
}

bool ClientCall::Read(std::string* message) {
  std::unique_lock lock(mutex_);
  changed_.wait(lock, [this] { return !inbound_.empty() || is_finished_; });
  if (inbound_.empty()) return false;
  *message = std::move(inbound_.front());
  inbound_.pop_front();
  TakeCreditLocked(lock);
  return true;
}

RpcStatus ClientCall::Finish() {
  std::unique_lock lock(mutex_);
  if (!is_finished_ && !is_discarding_) {
    // Unread messages are dropped and credited, and so is whatever still
    // arrives, so a server blocked on the window can end the call.
    is_discarding_ = true;
    while (!inbound_.empty()) {
      inbound_.pop_front();
      TakeCreditLocked(lock);
    }
  }
  changed_.wait(lock, [this] { return is_finished_; });
  return status_;
}

bool ClientCall::is_finished() {
  std::lock_guard lock(mutex_);
  return is_finished_;
}

void ClientCall::Complete(RpcStatus status, bool tell_server) {
  std::unique_lock lock(mutex_);
  if (is_finished_) return;
  is_finished_ = true;
  status_ = std::move(status);
  std::string to = is_accepted_ ? peer_inbox_ : std::string();
  TimerQueue::TimerId timers[] = {deadline_timer_, keepalive_timer_};
  deadline_timer_ = keepalive_timer_ = 0;
  bool run_done = on_done_ && !is_delivering_;
  if (on_done_ && is_delivering_) is_done_pending_ = true;
  changed_.notify_all();
  lock.unlock();

  auto channel = channel_.lock();
  if (channel) {
    for (auto id : timers) {
      if (id != 0) channel->timers().Cancel(id);
    }
    if (token_ != 0) channel->Unregister(token_);
  }
  if (tell_server && !to.empty() && channel) {
    connection_.Publish(MakeControl(FrameType::kCancel, to, inbox_)).IgnoreError();
  }
  if (run_done) RunDone();
}

RpcStatus ClientCall::FinishedStatusLocked() const {
  if (!status_.ok()) return status_;
  return RpcStatus(RpcCode::kFailedPrecondition, "the server ended the call");
}

void ClientCall::TakeCreditLocked(std::unique_lock<std::mutex>& lock) {
  if (!receive_.OnConsumed() || is_finished_ || !is_accepted_) return;
  last_sent_ = Clock::now();
  std::string to = peer_inbox_;
  std::uint64_t granted = receive_.granted();
  lock.unlock();
  // A lost credit frame is repaired by the next one or by a keepalive.
  connection_.Publish(MakeCredit(to, inbox_, granted)).IgnoreError();
  lock.lock();
}

void ClientCall::RunDone() {
  StreamDoneCallback done;
  RpcStatus status;
  {
    std::lock_guard lock(mutex_);
    done = std::move(on_done_);
    on_done_ = nullptr;
    is_done_pending_ = false;
    status = status_;
  }
  if (done) done(std::move(status));
}

void ClientCall::ScheduleKeepaliveLocked(ChannelState& channel) {
  std::weak_ptr<ClientCall> weak = weak_from_this();
  keepalive_timer_ = channel.timers().Schedule(Clock::now() + keepalive_, [weak] {
    if (auto call = weak.lock()) call->OnKeepaliveTick();
  });
}

void ClientCall::OnKeepaliveTick() {
  auto channel = channel_.lock();
  if (!channel) return;
  std::unique_lock lock(mutex_);
  if (is_finished_) return;
  Clock::time_point now = Clock::now();
  if (!is_delivering_ && now - last_received_ > 3 * keepalive_) {
    std::string silence = DescribeDuration(now - last_received_);
    lock.unlock();
    return Complete(
        RpcStatus(RpcCode::kUnavailable, method_ + ": no word from the server for " + silence),
        true);
  }
  bool send = is_accepted_ && now - last_sent_ >= keepalive_;
  if (send) last_sent_ = now;
  std::string to = peer_inbox_;
  std::uint64_t granted = kind_ == MethodKind::kClientStreaming ? 0 : receive_.granted();
  std::optional<std::uint64_t> ended;
  if (is_writes_done_) ended = send_.sent();
  ScheduleKeepaliveLocked(*channel);
  lock.unlock();
  if (send) connection_.Publish(MakeKeepalive(to, inbox_, granted, ended)).IgnoreError();
}

}  // namespace embed::rpc::internal
