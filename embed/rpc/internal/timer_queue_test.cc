#include "embed/rpc/internal/timer_queue.h"

#include <gtest/gtest.h>

#include <atomic>
#include <future>
#include <vector>

namespace embed::rpc::internal {
namespace {

using Clock = TimerQueue::Clock;
using std::chrono::milliseconds;

TEST(TimerQueue, RunsCallbacksInTimeOrder) {
  TimerQueue timers;
  std::mutex mutex;
  std::vector<int> order;
  std::promise<void> done;
  Clock::time_point now = Clock::now();
  timers.Schedule(now + milliseconds(30), [&] {
    std::lock_guard lock(mutex);
    order.push_back(3);
    done.set_value();
  });
  timers.Schedule(now + milliseconds(10), [&] {
    std::lock_guard lock(mutex);
    order.push_back(1);
  });
  timers.Schedule(now + milliseconds(20), [&] {
    std::lock_guard lock(mutex);
    order.push_back(2);
  });
  ASSERT_EQ(done.get_future().wait_for(std::chrono::seconds(5)), std::future_status::ready);
  std::lock_guard lock(mutex);
  EXPECT_EQ(order, (std::vector<int>{1, 2, 3}));
  EXPECT_GE(Clock::now() - now, milliseconds(30));
}

TEST(TimerQueue, CancelledTimerNeverRuns) {
  TimerQueue timers;
  std::atomic<int> runs{0};
  auto id = timers.Schedule(Clock::now() + milliseconds(20), [&] { ++runs; });
  timers.Cancel(id);
  std::promise<void> later;
  timers.Schedule(Clock::now() + milliseconds(40), [&] { later.set_value(); });
  later.get_future().wait();
  EXPECT_EQ(runs.load(), 0);
}

TEST(TimerQueue, ShutdownDropsPendingTimersAndRefusesNewOnes) {
  std::atomic<int> runs{0};
  TimerQueue timers;
  timers.Schedule(Clock::now() + std::chrono::seconds(10), [&] { ++runs; });
  timers.Shutdown();
  EXPECT_EQ(timers.Schedule(Clock::now(), [&] { ++runs; }), 0u);
  EXPECT_EQ(runs.load(), 0);
}

TEST(TimerQueue, CallbackMayScheduleAnother) {
  TimerQueue timers;
  std::promise<void> second;
  timers.Schedule(Clock::now(), [&] {
    timers.Schedule(Clock::now() + milliseconds(5), [&] { second.set_value(); });
  });
  EXPECT_EQ(second.get_future().wait_for(std::chrono::seconds(5)), std::future_status::ready);
}

}  // namespace
}  // namespace embed::rpc::internal
