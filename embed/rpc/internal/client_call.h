#pragma once
// ClientCall: the caller's end of one streaming call (docs/rpc.md): the open
// frame, flow control both ways, keepalives, the deadline, and delivery to a
// blocking reader or to callbacks. Thread-safe.

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>

#include "embed/client/message.h"
#include "embed/rpc/channel.h"
#include "embed/rpc/internal/frames.h"
#include "embed/rpc/internal/timer_queue.h"

namespace embed::client {
class Connection;
}

namespace embed::rpc::internal {

class ChannelState;

// One streaming call, shared by the caller's handle, the channel's table and
// its timers.
class ClientCall : public std::enable_shared_from_this<ClientCall> {
 public:
  ClientCall(std::weak_ptr<ChannelState> channel, client::Connection& connection,
             std::string method, MethodKind kind, const ChannelOptions& options)
      : channel_(std::move(channel)),
        connection_(connection),
        method_(std::move(method)),
        kind_(kind),
        keepalive_(options.keepalive_interval),
        receive_(options.stream_window) {}

  void SetCallbacks(StreamMessageCallback on_message, StreamDoneCallback on_done);

  // Registers with the channel, sends the open frame, starts the timers.
  void Start(std::string_view request, const CallOptions& options, std::uint32_t window);

  // A frame from the server (on the dispatcher thread).
  void OnMessage(client::Message& message);
  RpcStatus Write(std::string payload);
  RpcStatus WritesDone();
  bool Read(std::string* message);
  RpcStatus Finish();
  bool is_finished();

  // Ends the call with `status` (if it is not over yet); `tell_server` sends
  // a cancel frame to the server.
  void Complete(RpcStatus status, bool tell_server);

 private:
  RpcStatus FinishedStatusLocked() const;

  // After a message was consumed: sends credit when the window asks for it.
  void TakeCreditLocked(std::unique_lock<std::mutex>& lock);
  void RunDone();
  void ScheduleKeepaliveLocked(ChannelState& channel);
  void OnKeepaliveTick();
  const std::weak_ptr<ChannelState> channel_;
  client::Connection& connection_;
  const std::string method_;
  const MethodKind kind_;
  const std::chrono::milliseconds keepalive_;
  std::uint64_t token_ = 0;
  std::string inbox_;  // set once by Start() before any frame can arrive

  std::mutex mutex_;
  std::condition_variable changed_;
  bool is_accepted_ = false;
  std::string peer_inbox_;
  SendWindow send_;
  ReceiveWindow receive_;
  std::deque<std::string> inbound_;
  bool is_writes_done_ = false;
  bool is_finished_ = false;
  RpcStatus status_;
  std::chrono::steady_clock::time_point last_received_;
  std::chrono::steady_clock::time_point last_sent_;
  TimerQueue::TimerId deadline_timer_ = 0;
  TimerQueue::TimerId keepalive_timer_ = 0;
  StreamMessageCallback on_message_;
  StreamDoneCallback on_done_;
  bool is_delivering_ = false;
  bool is_discarding_ = false;  // Finish() called before the end
  bool is_done_pending_ = false;
};

}  // namespace embed::rpc::internal
