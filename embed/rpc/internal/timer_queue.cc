#include "embed/rpc/internal/timer_queue.h"

namespace embed::rpc::internal {

TimerQueue::~TimerQueue() { Shutdown(); }

TimerQueue::TimerId TimerQueue::Schedule(Clock::time_point when, std::function<void()> callback) {
  std::lock_guard lock(mutex_);
  if (is_shut_down_) return 0;
  if (!thread_.joinable()) thread_ = std::thread([this] { Run(); });
  TimerId id = next_id_++;
  bool is_earliest = timers_.empty() || when < timers_.begin()->first.first;
  timers_.emplace(std::make_pair(when, id), std::move(callback));
  when_of_.emplace(id, when);
  if (is_earliest) wake_.notify_one();
  return id;
}

void TimerQueue::Cancel(TimerId id) {
  std::lock_guard lock(mutex_);
  auto found = when_of_.find(id);
  if (found == when_of_.end()) return;
  timers_.erase(std::make_pair(found->second, id));
  when_of_.erase(found);
}

void TimerQueue::Shutdown() {
  std::thread thread;
  {
    std::lock_guard lock(mutex_);
    is_shut_down_ = true;
    timers_.clear();
    when_of_.clear();
    thread = std::move(thread_);
  }
  wake_.notify_all();
  if (thread.joinable()) {
    if (thread.get_id() == std::this_thread::get_id()) {
      thread.detach();  // called from a callback; Run() returns after it
    } else {
      thread.join();
    }
  }
}

void TimerQueue::Run() {
  std::unique_lock lock(mutex_);
  while (!is_shut_down_) {
    if (timers_.empty()) {
      wake_.wait(lock);
      continue;
    }
    auto first = timers_.begin();
    // A copy: the timer may be cancelled (its node freed) while this waits.
    Clock::time_point when = first->first.first;
    if (when > Clock::now()) {
      wake_.wait_until(lock, when);
      continue;
    }
    std::function<void()> callback = std::move(first->second);
    when_of_.erase(first->first.second);
    timers_.erase(first);
    lock.unlock();
    try {
      callback();
    } catch (...) {
      // A callback's exception must not end the timer thread.
    }
    lock.lock();
  }
}

}  // namespace embed::rpc::internal
