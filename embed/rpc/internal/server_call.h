#pragma once
// The server's end of a call: CallContext (what a handler's ServerContext
// reads: metadata, deadline, cancellation) for every call, and ServerCall,
// which adds the stream of a streaming call (docs/rpc.md): flow control both
// ways, keepalives, the end frame. Thread-safe.

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>

#include "embed/client/message.h"
#include "embed/rpc/internal/frames.h"
#include "embed/rpc/internal/timer_queue.h"
#include "embed/rpc/server_context.h"
#include "embed/rpc/service.h"

namespace embed::client {
class Connection;
}

namespace embed::rpc::internal {

class HostState;
using Clock = std::chrono::steady_clock;

// Why a call ended early, and whether its caller must still be told.
enum class PeerNotice { kTell, kSilent };

// The context shared by unary and streaming calls.
class CallContext : public ServerContext {
 public:
  CallContext(std::string method, wire::Headers metadata, Clock::time_point deadline)
      : method_(std::move(method)), metadata_(std::move(metadata)), deadline_(deadline) {}

  std::string_view method() const override { return method_; }
  const wire::Headers& metadata() const override { return metadata_; }
  Clock::time_point deadline() const override { return deadline_; }

  bool IsCancelled() const override {
    std::lock_guard lock(mutex_);
    return IsCancelledLocked();
  }
  RpcStatus cancellation() const override {
    std::lock_guard lock(mutex_);
    if (IsCancelledLocked() && cancellation_.ok()) return DeadlineStatus();
    return cancellation_;
  }
  bool WaitForCancellation(std::chrono::milliseconds timeout) const override {
    std::unique_lock lock(mutex_);
    Clock::time_point until = std::min(deadline_, Clock::now() + timeout);
    changed_.wait_until(lock, until, [this] { return IsCancelledLocked(); });
    return IsCancelledLocked();
  }

  // Cancels (first reason wins); returns false when already cancelled.
  bool Cancel(RpcStatus reason, PeerNotice notice) {
    {
      std::lock_guard lock(mutex_);
      if (is_cancelled_) return false;
      is_cancelled_ = true;
      cancellation_ = std::move(reason);
      notice_ = notice;
    }
    changed_.notify_all();
    return true;
  }
  PeerNotice notice() const {
    std::lock_guard lock(mutex_);
    return notice_;
  }

 protected:
  bool IsCancelledLocked() const { return is_cancelled_ || Clock::now() >= deadline_; }
  RpcStatus DeadlineStatus() const {
    return RpcStatus(RpcCode::kDeadlineExceeded, method_ + ": the caller's deadline passed");
  }

  const std::string method_;
  const wire::Headers metadata_;
  const Clock::time_point deadline_;
  mutable std::mutex mutex_;
  mutable std::condition_variable changed_;
  bool is_cancelled_ = false;
  RpcStatus cancellation_;
  PeerNotice notice_ = PeerNotice::kSilent;
};

// A streaming call on the server: its context and its stream.
class ServerCall : public CallContext, public ServerStream {
 public:
  ServerCall(std::weak_ptr<HostState> host, client::Connection& connection,
             const Service::Method& method, std::string full_method, wire::Headers metadata,
             Clock::time_point deadline, std::string peer_inbox, std::uint32_t client_window,
             std::uint32_t host_window, std::chrono::milliseconds keepalive);
  void set_token(std::uint64_t token, std::string inbox);
  std::uint64_t token() const { return token_; }
  const std::string& inbox() const { return inbox_; }
  const std::string& peer_inbox() const { return peer_inbox_; }

  // ServerStream.
  bool Read(std::string* message) override;
  RpcStatus Write(std::string message) override;
  void Abort(RpcStatus status) override;

  // A frame from the client (on the dispatcher thread).
  void OnMessage(client::Message& message);

  // The protocol broke: the call ends with `status`, which the caller is told.
  void Fail(RpcStatus status) { Abort(std::move(status)); }

  // After the handler returned: sends the end frame unless the caller
  // already knows the outcome.
  RpcStatus Finish(RpcStatus status, std::string_view response);
  void StartKeepalive(TimerQueue& timers);
  // Grants the client its window (client and bidi streaming), when the
  // handler starts: a call waiting for a thread buffers nothing.
  void OpenReceiveWindow();

 private:
  // Waits for `ready` or the deadline (no timed wait when there is none).
  template <class Predicate>
  void WaitLocked(std::unique_lock<std::mutex>& lock, Predicate ready) {
    if (deadline_ == Clock::time_point::max()) {
      changed_.wait(lock, ready);
    } else {
      changed_.wait_until(lock, deadline_, ready);
    }
  }
  // Called with IsCancelledLocked() true: records a passed deadline as the
  // cancellation (the caller has its DEADLINE_EXCEEDED already).
  void CancelAtDeadline(std::unique_lock<std::mutex>& lock);
  // The caller half-closed after `messages` data frames (an end frame, or a
  // keepalive repeating a lost one): checks the count (DATA_LOSS when
  // messages are missing) and lets Read() end. Unlocks before failing.
  void OnHalfClose(std::unique_lock<std::mutex>& lock, std::uint64_t messages);
  void ScheduleKeepaliveLocked(TimerQueue& timers);
  void OnKeepaliveTick();

 public:
  // The owning shared_ptr, for timers (set right after construction).
  std::weak_ptr<CallContext> self_;

 private:
  const std::weak_ptr<HostState> host_;
  client::Connection& connection_;
  const MethodInfo method_info_;
  const std::string peer_inbox_;
  std::uint64_t token_ = 0;
  std::string inbox_;
  SendWindow send_;
  ReceiveWindow receive_;
  std::deque<std::string> inbound_;
  bool is_half_closed_ = false;
  RpcStatus abort_;
  const std::chrono::milliseconds keepalive_;
  Clock::time_point last_received_;
  Clock::time_point last_sent_;
  TimerQueue::TimerId keepalive_timer_ = 0;
};

}  // namespace embed::rpc::internal
