#pragma once
// Dispatcher: runs user handlers on one thread, in FIFO order, so a slow
// handler never stalls the I/O thread. Each subscription has pending limits
// (messages and bytes): a message over a limit is dropped and counted, and the
// first drop of an episode reports a slow-consumer error. Thread-safe.

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "embed/base/status.h"
#include "embed/client/message.h"

namespace embed::client::internal {

// What the driver, the handle and the dispatcher share about one subscription.
struct SubscriptionState {
  std::uint64_t sid = 0;
  std::string subject;
  std::function<void(Message&)> handler;
  std::size_t pending_messages_limit = 0;
  std::size_t pending_bytes_limit = 0;

  // The user unsubscribed: queued messages are dropped.
  std::atomic<bool> is_unsubscribed{false};
  // The server side is gone (auto-unsubscribe max reached or drained); queued
  // messages are still delivered.
  std::atomic<bool> is_finished{false};
  std::atomic<std::uint64_t> delivered{0};
  std::atomic<std::uint64_t> dropped{0};

  // Guarded by the dispatcher's mutex.
  std::size_t pending_messages = 0;
  std::size_t pending_bytes = 0;
  bool is_slow = false;
};

class Dispatcher {
 public:
  // `on_error` receives slow-consumer errors (on the dispatcher thread).
  explicit Dispatcher(std::function<void(const Status&)> on_error);
  ~Dispatcher();  // Shutdown()
  Dispatcher(const Dispatcher&) = delete;
  Dispatcher& operator=(const Dispatcher&) = delete;

  // One unit of work: a message for a subscription, or a task.
  struct Item {
    std::shared_ptr<SubscriptionState> subscription;
    Message message;
    std::function<void()> task;
    // What the message counts against the pending limits, recorded when
    // queued: the handler may move the payload out.
    std::size_t pending_bytes = 0;
  };

  // Queues items (messages subject to their subscription's limits).
  void Push(std::vector<Item>& items);
  void Post(std::function<void()> task);

  // Waits until nothing is queued or running, or `deadline`; true when idle.
  bool WaitUntilIdle(std::chrono::steady_clock::time_point deadline);
  // Waits until `subscription` has no pending messages, or `deadline`.
  bool WaitUntilDrained(const SubscriptionState& subscription,
                        std::chrono::steady_clock::time_point deadline);
  std::size_t PendingMessages(const SubscriptionState& subscription) const;
  std::size_t PendingBytes(const SubscriptionState& subscription) const;

  // Runs the queued tasks, drops queued messages (checked before each one, so
  // no handler starts after Shutdown() returns), stops the thread and joins
  // it. Called from the dispatcher thread it detaches the thread and returns;
  // a later call from another thread then waits until that thread has
  // stopped. Idempotent.
  void Shutdown();
  bool IsDispatcherThread() const;
  // True once Shutdown() began.
  bool is_shutting_down() const;

 private:
  // Shared with the thread so a detached thread never touches freed memory.
  struct State {
    std::mutex mutex;
    std::condition_variable work_ready;
    std::condition_variable progress;
    // Appended by Push()/Post(), taken whole by the thread.
    std::vector<Item> queue;
    bool is_running_item = false;
    bool is_stopping = false;
    // Read by the thread before each item, without the lock.
    std::atomic<bool> is_stopping_flag{false};
    // Set when Run() returns; signalled on `progress`.
    bool has_exited = false;
    std::function<void(const Status&)> on_error;
  };
  static void Run(const std::shared_ptr<State>& state);

  std::shared_ptr<State> state_;
  std::thread thread_;
  std::thread::id thread_id_;
  std::once_flag shutdown_once_;
};

}  // namespace embed::client::internal
