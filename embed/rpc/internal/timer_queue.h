#pragma once
// TimerQueue: runs callbacks at given times on one thread of its own. Used for
// stream keepalives and stream deadlines. Thread-safe.

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <thread>
#include <utility>

namespace embed::rpc::internal {

class TimerQueue {
 public:
  using Clock = std::chrono::steady_clock;
  using TimerId = std::uint64_t;

  TimerQueue() = default;
  ~TimerQueue();  // Shutdown()
  TimerQueue(const TimerQueue&) = delete;
  TimerQueue& operator=(const TimerQueue&) = delete;

  // Runs `callback` at `when` (at once when it has passed). Returns 0 after
  // Shutdown() (the callback never runs).
  TimerId Schedule(Clock::time_point when, std::function<void()> callback);
  // The callback will not start after this returns; one already running may
  // still be running (unless Cancel is called from it).
  void Cancel(TimerId id);
  // Drops pending timers, waits for a running callback, joins the thread.
  void Shutdown();

 private:
  void Run();

  std::mutex mutex_;
  std::condition_variable wake_;
  // (when, id) -> callback; ids keep equal times distinct and in order.
  std::map<std::pair<Clock::time_point, TimerId>, std::function<void()>> timers_;
  std::map<TimerId, Clock::time_point> when_of_;
  TimerId next_id_ = 1;
  bool is_shut_down_ = false;
  std::thread thread_;  // started by the first Schedule()
};

}  // namespace embed::rpc::internal
