#include "embed/rpc/internal/server_call.h"

#include <utility>

#include "embed/client/connection.h"
#include "embed/rpc/internal/host_state.h"

namespace embed::rpc::internal {

ServerCall::ServerCall(std::weak_ptr<HostState> host, client::Connection& connection,
                       const Service::Method& method, std::string full_method,
                       wire::Headers metadata, Clock::time_point deadline, std::string peer_inbox,
                       std::uint32_t client_window, std::uint32_t host_window,
                       std::chrono::milliseconds keepalive)
    : CallContext(std::move(full_method), std::move(metadata), deadline),
      host_(std::move(host)),
      connection_(connection),
      method_info_(method.info),
      peer_inbox_(std::move(peer_inbox)),
      receive_(host_window, ReceiveWindow::Start::kClosed),
      keepalive_(keepalive) {
  send_.GrantTotal(client_window);
}

void ServerCall::set_token(std::uint64_t token, std::string inbox) {
  token_ = token;
  inbox_ = std::move(inbox);
}

bool ServerCall::Read(std::string* message) {
  if (method_info_.kind == MethodKind::kServerStreaming) return false;
  std::unique_lock lock(mutex_);
  WaitLocked(lock, [this] { return !inbound_.empty() || is_half_closed_ || is_cancelled_; });
  if (IsCancelledLocked()) {
    CancelAtDeadline(lock);
    return false;
  }
  if (inbound_.empty()) return false;
  *message = std::move(inbound_.front());
  inbound_.pop_front();
  if (receive_.OnConsumed()) {
    last_sent_ = Clock::now();
    std::uint64_t granted = receive_.granted();
    lock.unlock();
    // A lost credit frame is repaired by the next one or by a keepalive.
    connection_.Publish(MakeCredit(peer_inbox_, inbox_, granted)).IgnoreError();
  }
  return true;
}

RpcStatus ServerCall::Write(std::string message) {
  if (method_info_.kind == MethodKind::kClientStreaming) {
    return RpcStatus(RpcCode::kFailedPrecondition,
                     "a client-streaming method returns its one response");
  }
  std::unique_lock lock(mutex_);
  WaitLocked(lock, [this] { return is_cancelled_ || send_.CanSend(); });
  if (IsCancelledLocked()) {
    CancelAtDeadline(lock);
    return cancellation_;
  }
  std::uint64_t seq = send_.TakeSeq();
  last_sent_ = Clock::now();
  lock.unlock();
  Status sent = connection_.Publish(MakeData(peer_inbox_, inbox_, seq, std::move(message)));
  if (!sent.ok()) {
    RpcStatus status = RpcStatus::FromStatus(sent);
    Cancel(status, PeerNotice::kTell);
    return status;
  }
  return RpcStatus::Ok();
}

void ServerCall::Abort(RpcStatus status) {
  {
    std::lock_guard lock(mutex_);
    if (!abort_.ok()) return;
    abort_ = status;
  }
  Cancel(std::move(status), PeerNotice::kTell);
}

void ServerCall::OnMessage(client::Message& message) {
  Result<Frame> decoded = DecodeFrame(message);
  if (!decoded.ok()) {
    return Fail(RpcStatus(RpcCode::kInvalidArgument,
                          "bad frame: " + std::string(decoded.status().message())));
  }
  const Frame& frame = *decoded;
  if (frame.is_no_responders) {
    Cancel(RpcStatus(RpcCode::kUnavailable, method_ + ": the caller is gone"), PeerNotice::kSilent);
    return;
  }
  std::unique_lock lock(mutex_);
  last_received_ = Clock::now();
  if (is_cancelled_) return;
  bool takes_messages = method_info_.kind == MethodKind::kClientStreaming ||
                        method_info_.kind == MethodKind::kBidiStreaming;
  switch (frame.type) {
    case FrameType::kData: {
      if (!takes_messages || is_half_closed_) break;
      RpcStatus checked = receive_.OnData(frame.seq);
      if (!checked.ok()) {
        lock.unlock();
        return Fail(checked);
      }
      inbound_.push_back(std::move(message.payload));
      changed_.notify_all();
      return;
    }
    case FrameType::kEnd:
      if (!takes_messages) return;  // a server-streaming caller's half-close: nothing to do
      return OnHalfClose(lock, frame.seq);
    case FrameType::kCredit:
    case FrameType::kKeepalive:
      if (frame.granted > 0) {
        send_.GrantTotal(frame.granted);
        changed_.notify_all();
      }
      if (frame.ended && takes_messages && !is_half_closed_) {
        // The caller half-closed and its end frame was lost: the keepalive
        // repeats it (with the count, so lost data still shows).
        return OnHalfClose(lock, *frame.ended);
      }
      return;
    case FrameType::kCancel:
      lock.unlock();
      Cancel(RpcStatus(RpcCode::kCancelled, method_ + ": cancelled by the caller"),
             PeerNotice::kSilent);
      return;
    default:
      break;
  }
  lock.unlock();
  Fail(RpcStatus(RpcCode::kInvalidArgument,
                 "unexpected " + std::string(FrameTypeName(frame.type)) + " frame"));
}

RpcStatus ServerCall::Finish(RpcStatus status, std::string_view response) {
  std::unique_lock lock(mutex_);
  if (!abort_.ok()) status = abort_;
  bool tell = true;
  if (is_cancelled_ || Clock::now() >= deadline_) {
    tell = notice_ == PeerNotice::kTell;
    if (abort_.ok()) status = cancellation_.ok() ? DeadlineStatus() : cancellation_;
  }
  if (!is_cancelled_) is_cancelled_ = true;  // no further Read/Write
  std::uint64_t sent = send_.sent();
  TimerQueue::TimerId timer = keepalive_timer_;
  keepalive_timer_ = 0;
  lock.unlock();
  changed_.notify_all();
  if (auto host = host_.lock()) {
    if (timer != 0) host->timers().Cancel(timer);
  }
  if (tell) {
    bool has_response = status.ok() && method_info_.kind == MethodKind::kClientStreaming;
    Status published = connection_.Publish(
        MakeEnd(peer_inbox_, inbox_, sent, status, has_response ? response : std::string_view()));
    if (!published.ok() && has_response) {
      // The response did not fit (max_payload): the caller must still learn
      // the outcome now, not after its keepalives run out.
      status = RpcStatus(RpcCode::kResourceExhausted,
                         method_ + ": the response was not sent: " + std::string(published.message()));
      connection_.Publish(MakeEnd(peer_inbox_, inbox_, sent, status, {})).IgnoreError();
    }
  }
  return status;
}

void ServerCall::OpenReceiveWindow() {
  std::unique_lock lock(mutex_);
  if (is_cancelled_) return;
  std::uint64_t granted = receive_.Open();
  last_sent_ = Clock::now();
  lock.unlock();
  connection_.Publish(MakeCredit(peer_inbox_, inbox_, granted)).IgnoreError();
}

void ServerCall::StartKeepalive(TimerQueue& timers) {
  std::lock_guard lock(mutex_);
  last_received_ = last_sent_ = Clock::now();
  ScheduleKeepaliveLocked(timers);
}

void ServerCall::CancelAtDeadline(std::unique_lock<std::mutex>& lock) {
  if (is_cancelled_) return;
  is_cancelled_ = true;
  cancellation_ = DeadlineStatus();
  notice_ = PeerNotice::kSilent;
  lock.unlock();
  changed_.notify_all();
  lock.lock();
}

void ServerCall::ScheduleKeepaliveLocked(TimerQueue& timers) {
  std::weak_ptr<ServerCall> weak = std::static_pointer_cast<ServerCall>(self_.lock());
  keepalive_timer_ = timers.Schedule(Clock::now() + keepalive_, [weak] {
    if (auto call = weak.lock()) call->OnKeepaliveTick();
  });
}

void ServerCall::OnHalfClose(std::unique_lock<std::mutex>& lock, std::uint64_t messages) {
  RpcStatus counted = receive_.OnEnd(messages);
  if (!counted.ok()) {
    lock.unlock();
    return Fail(counted);
  }
  is_half_closed_ = true;
  changed_.notify_all();
}

void ServerCall::OnKeepaliveTick() {
  auto host = host_.lock();
  if (!host) return;
  std::unique_lock lock(mutex_);
  if (is_cancelled_) return;
  Clock::time_point now = Clock::now();
  if (now >= deadline_) {
    lock.unlock();
    Cancel(DeadlineStatus(), PeerNotice::kSilent);
    return;
  }
  if (now - last_received_ > 3 * keepalive_) {
    std::string silence = DescribeDuration(now - last_received_);
    lock.unlock();
    Cancel(RpcStatus(RpcCode::kUnavailable, method_ + ": no word from the caller for " + silence),
           PeerNotice::kSilent);
    return;
  }
  bool send = now - last_sent_ >= keepalive_;
  if (send) last_sent_ = now;
  bool takes_messages = method_info_.kind == MethodKind::kClientStreaming ||
                        method_info_.kind == MethodKind::kBidiStreaming;
  std::uint64_t granted = takes_messages ? receive_.granted() : 0;
  ScheduleKeepaliveLocked(host->timers());
  lock.unlock();
  if (send) connection_.Publish(MakeKeepalive(peer_inbox_, inbox_, granted)).IgnoreError();
}

}  // namespace embed::rpc::internal
