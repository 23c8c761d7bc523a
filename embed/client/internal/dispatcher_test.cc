#include "embed/client/internal/dispatcher.h"

#include <atomic>
#include <chrono>
#include <future>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

namespace embed::client::internal {
namespace {

using namespace std::chrono_literals;

std::chrono::steady_clock::time_point Soon() { return std::chrono::steady_clock::now() + 5s; }

std::shared_ptr<SubscriptionState> MakeSubscription(std::size_t max_messages,
                                                    std::size_t max_bytes,
                                                    std::function<void(Message&)> handler) {
  auto state = std::make_shared<SubscriptionState>();
  state->subject = "s";
  state->pending_messages_limit = max_messages;
  state->pending_bytes_limit = max_bytes;
  state->handler = std::move(handler);
  return state;
}

std::vector<Dispatcher::Item> Messages(const std::shared_ptr<SubscriptionState>& state, int count,
                                       std::size_t payload_bytes = 1) {
  std::vector<Dispatcher::Item> items;
  for (int i = 0; i < count; ++i) {
    Message message;
    message.payload = std::string(payload_bytes, 'x');
    items.push_back(Dispatcher::Item{state, std::move(message), nullptr});
  }
  return items;
}

TEST(Dispatcher, RunsHandlersInOrderOnItsOwnThread) {
  Dispatcher dispatcher(nullptr);
  std::vector<std::string> seen;
  std::thread::id handler_thread;
  auto state = MakeSubscription(100, 1 << 20, [&](const Message& m) {
    seen.push_back(m.payload);
    handler_thread = std::this_thread::get_id();
  });
  std::vector<Dispatcher::Item> items;
  for (const char* payload : {"a", "b", "c"}) {
    Message message;
    message.payload = payload;
    items.push_back(Dispatcher::Item{state, std::move(message), nullptr});
  }
  dispatcher.Push(items);
  ASSERT_TRUE(dispatcher.WaitUntilIdle(Soon()));
  EXPECT_EQ(seen, (std::vector<std::string>{"a", "b", "c"}));
  EXPECT_NE(handler_thread, std::this_thread::get_id());
  EXPECT_EQ(state->delivered.load(), 3u);
  EXPECT_EQ(dispatcher.PendingMessages(*state), 0u);
}

TEST(Dispatcher, DropsOverThePendingMessageLimitAndReportsOnce) {
  std::promise<Status> reported;
  Dispatcher dispatcher([&reported](const Status& status) { reported.set_value(status); });
  std::promise<void> release;
  std::shared_future<void> released = release.get_future().share();
  std::promise<void> entered;
  bool is_first = true;
  auto state = MakeSubscription(3, 1 << 20, [&](const Message&) {
    if (is_first) {
      is_first = false;
      entered.set_value();
      released.wait();
    }
  });
  auto first = Messages(state, 1);
  dispatcher.Push(first);
  ASSERT_EQ(entered.get_future().wait_for(5s), std::future_status::ready);
  auto more = Messages(state, 10);
  dispatcher.Push(more);
  EXPECT_EQ(state->dropped.load(), 8u);  // 1 running + 2 queued fit
  EXPECT_EQ(dispatcher.PendingMessages(*state), 3u);
  release.set_value();
  auto future = reported.get_future();
  ASSERT_EQ(future.wait_for(5s), std::future_status::ready);
  EXPECT_EQ(future.get().code(), StatusCode::kResourceExhausted);
  ASSERT_TRUE(dispatcher.WaitUntilIdle(Soon()));
  EXPECT_EQ(state->delivered.load(), 3u);
}

TEST(Dispatcher, DropsOverThePendingBytesLimit) {
  Dispatcher dispatcher(nullptr);
  std::promise<void> release;
  std::shared_future<void> released = release.get_future().share();
  auto state = MakeSubscription(1000, 250, [&](const Message&) { released.wait(); });
  auto items = Messages(state, 5, 100);  // 100 bytes each: two fit in 250
  dispatcher.Push(items);
  EXPECT_EQ(state->dropped.load(), 3u);
  EXPECT_EQ(dispatcher.PendingBytes(*state), 200u);
  release.set_value();
  ASSERT_TRUE(dispatcher.WaitUntilIdle(Soon()));
}

TEST(Dispatcher, AHandlerMayMoveThePayloadOut) {
  std::atomic<int> handled{0};
  std::string taken;
  auto state = MakeSubscription(10, 1000, [&](Message& message) {
    taken = std::move(message.payload);
    ++handled;
  });
  Dispatcher dispatcher(nullptr);
  for (int round = 0; round < 5; ++round) {
    auto items = Messages(state, 5, 100);  // 500 of the 1000 bytes allowed
    dispatcher.Push(items);
    ASSERT_TRUE(dispatcher.WaitUntilIdle(Soon()));
  }
  // The moved-out payloads were released from the limits: nothing dropped.
  EXPECT_EQ(handled.load(), 25);
  EXPECT_EQ(state->dropped.load(), 0u);
  EXPECT_EQ(taken, std::string(100, 'x'));
}

TEST(Dispatcher, SkipsMessagesOfAnUnsubscribedSubscription) {
  Dispatcher dispatcher(nullptr);
  std::promise<void> release;
  std::shared_future<void> released = release.get_future().share();
  int handled = 0;
  auto blocker = MakeSubscription(10, 1 << 20, [&](const Message&) { released.wait(); });
  auto state = MakeSubscription(10, 1 << 20, [&](const Message&) { ++handled; });
  auto block = Messages(blocker, 1);
  dispatcher.Push(block);
  auto items = Messages(state, 4);
  dispatcher.Push(items);
  state->is_unsubscribed = true;
  release.set_value();
  ASSERT_TRUE(dispatcher.WaitUntilIdle(Soon()));
  EXPECT_EQ(handled, 0);
  EXPECT_EQ(dispatcher.PendingMessages(*state), 0u);
}

TEST(Dispatcher, RunsQueuedTasksButNotMessagesOnShutdown) {
  Dispatcher dispatcher(nullptr);
  std::promise<void> release;
  std::shared_future<void> released = release.get_future().share();
  std::promise<void> entered;
  int handled = 0;
  bool task_ran = false;
  auto state = MakeSubscription(10, 1 << 20, [&](const Message&) {
    if (handled++ == 0) {
      entered.set_value();
      released.wait();
    }
  });
  auto first = Messages(state, 1);
  dispatcher.Push(first);
  ASSERT_EQ(entered.get_future().wait_for(5s), std::future_status::ready);
  auto rest = Messages(state, 3);
  dispatcher.Push(rest);
  dispatcher.Post([&task_ran] { task_ran = true; });
  // Release the blocked handler only once Shutdown() has begun, so the
  // queued messages are certain to meet a stopping dispatcher.
  std::thread releaser([&] {
    const auto deadline = std::chrono::steady_clock::now() + 5s;
    while (!dispatcher.is_shutting_down() && std::chrono::steady_clock::now() < deadline) {
      std::this_thread::yield();
    }
    release.set_value();
  });
  dispatcher.Shutdown();
  releaser.join();
  EXPECT_TRUE(task_ran);
  EXPECT_EQ(handled, 1);
}

TEST(Dispatcher, RunsNoHandlerOfTheBacklogAfterShutdownReturns) {
  // Regression: the stop flag was read once per batch, so a batch of 1000
  // messages taken before Shutdown() all ran after it.
  Dispatcher dispatcher(nullptr);
  std::promise<void> release;
  std::shared_future<void> released = release.get_future().share();
  std::promise<void> entered;
  std::atomic<int> handled{0};
  std::atomic<bool> shutdown_returned{false};
  std::atomic<int> after_shutdown{0};
  auto state = MakeSubscription(2000, 1 << 20, [&](const Message&) {
    if (shutdown_returned.load()) after_shutdown.fetch_add(1);
    if (handled.fetch_add(1) == 0) {
      entered.set_value();
      released.wait();
    }
  });
  auto items = Messages(state, 1001);  // one batch: the blocker and 1000 more
  dispatcher.Push(items);
  ASSERT_EQ(entered.get_future().wait_for(5s), std::future_status::ready);
  std::thread releaser([&] {
    const auto deadline = std::chrono::steady_clock::now() + 5s;
    while (!dispatcher.is_shutting_down() && std::chrono::steady_clock::now() < deadline) {
      std::this_thread::yield();
    }
    release.set_value();
  });
  const auto start = std::chrono::steady_clock::now();
  dispatcher.Shutdown();
  shutdown_returned = true;
  EXPECT_LT(std::chrono::steady_clock::now() - start, 2s);
  releaser.join();
  std::this_thread::sleep_for(50ms);
  EXPECT_EQ(handled.load(), 1);
  EXPECT_EQ(after_shutdown.load(), 0);
}

TEST(Dispatcher, ShutdownWaitsForAThreadDetachedByAHandler) {
  // Regression: after a handler's Shutdown() detached the thread, a later
  // Shutdown() from another thread returned while the thread still ran.
  Dispatcher dispatcher(nullptr);
  std::promise<void> release;
  std::shared_future<void> released = release.get_future().share();
  std::promise<void> detached;
  std::atomic<bool> handler_done{false};
  dispatcher.Post([&] {
    dispatcher.Shutdown();  // on the dispatcher thread: detaches
    detached.set_value();
    released.wait();
    std::this_thread::sleep_for(100ms);
    handler_done = true;
  });
  ASSERT_EQ(detached.get_future().wait_for(5s), std::future_status::ready);
  release.set_value();
  dispatcher.Shutdown();
  EXPECT_TRUE(handler_done.load());
}

TEST(Dispatcher, SurvivesAThrowingHandler) {
  Dispatcher dispatcher(nullptr);
  int handled = 0;
  auto state = MakeSubscription(10, 1 << 20, [&](const Message& m) {
    ++handled;
    if (m.payload == "x") throw std::runtime_error("user bug");
  });
  auto items = Messages(state, 3);
  dispatcher.Push(items);
  ASSERT_TRUE(dispatcher.WaitUntilIdle(Soon()));
  EXPECT_EQ(handled, 3);
}

}  // namespace
}  // namespace embed::client::internal
