#include "embed/client/internal/dispatcher.h"

#include <exception>
#include <utility>

namespace embed::client::internal {
namespace {

std::size_t MessageBytes(const Message& message) {
  return message.payload.size() + message.subject.size() + message.reply_to.size();
}

}  // namespace

Dispatcher::Dispatcher(std::function<void(const Status&)> on_error)
    : state_(std::make_shared<State>()) {
  state_->on_error = std::move(on_error);
  thread_ = std::thread([state = state_] { Run(state); });
  thread_id_ = thread_.get_id();
}

Dispatcher::~Dispatcher() { Shutdown(); }

void Dispatcher::Push(std::vector<Item>& items) {
  if (items.empty()) return;
  {
    std::lock_guard<std::mutex> lock(state_->mutex);
    for (Item& item : items) {
      if (item.subscription) {
        SubscriptionState& subscription = *item.subscription;
        const std::size_t bytes = MessageBytes(item.message);
        if (subscription.pending_messages + 1 > subscription.pending_messages_limit ||
            subscription.pending_bytes + bytes > subscription.pending_bytes_limit) {
          subscription.dropped.fetch_add(1, std::memory_order_relaxed);
          if (!subscription.is_slow) {
            // One error per episode of drops, as nats.go.
            subscription.is_slow = true;
            std::string message = "slow consumer: messages dropped on subscription to ";
            message += subscription.subject;
            Item error;
            error.task = [state = state_.get(), status = ResourceExhaustedError(message)] {
              if (state->on_error) state->on_error(status);
            };
            state_->queue.push_back(std::move(error));
          }
          continue;
        }
        subscription.is_slow = false;
        ++subscription.pending_messages;
        subscription.pending_bytes += bytes;
        item.pending_bytes = bytes;
      }
      state_->queue.push_back(std::move(item));
    }
  }
  items.clear();
  state_->work_ready.notify_one();
}

void Dispatcher::Post(std::function<void()> task) {
  {
    std::lock_guard<std::mutex> lock(state_->mutex);
    Item item;
    item.task = std::move(task);
    state_->queue.push_back(std::move(item));
  }
  state_->work_ready.notify_one();
}

void Dispatcher::Run(const std::shared_ptr<State>& state) {
  // Items are taken in batches (one lock per batch, not per message); their
  // pending counts drop once the batch is handled, so the limits count the
  // batch in hand as pending.
  std::vector<Item> batch;
  std::unique_lock<std::mutex> lock(state->mutex);
  while (true) {
    state->work_ready.wait(lock, [&] { return state->is_stopping || !state->queue.empty(); });
    if (state->queue.empty()) break;  // stopping and nothing left
    batch.swap(state->queue);
    state->is_running_item = true;
    lock.unlock();
    for (Item& item : batch) {
      if (item.subscription) {
        // Shutdown drops messages; Unsubscribe() drops that subscription's.
        if (state->is_stopping_flag.load() || item.subscription->is_unsubscribed.load()) continue;
      }
      // User code may throw; we do not let that end the dispatcher.
      try {
        if (item.subscription) {
          item.subscription->handler(item.message);
          item.subscription->delivered.fetch_add(1, std::memory_order_relaxed);
        } else if (item.task) {
          item.task();
        }
      } catch (...) {
      }
    }
    lock.lock();
    for (const Item& item : batch) {
      if (item.subscription) {
        item.subscription->pending_messages -= 1;
        item.subscription->pending_bytes -= item.pending_bytes;
      }
    }
    state->is_running_item = false;
    // Release the handlers' captures outside the lock: they may own anything.
    lock.unlock();
    batch.clear();
    lock.lock();
    state->progress.notify_all();
  }
  state->has_exited = true;
  state->progress.notify_all();
}

bool Dispatcher::WaitUntilIdle(std::chrono::steady_clock::time_point deadline) {
  std::unique_lock<std::mutex> lock(state_->mutex);
  return state_->progress.wait_until(lock, deadline, [&] {
    return state_->queue.empty() && !state_->is_running_item;
  });
}

bool Dispatcher::WaitUntilDrained(const SubscriptionState& subscription,
                                  std::chrono::steady_clock::time_point deadline) {
  std::unique_lock<std::mutex> lock(state_->mutex);
  return state_->progress.wait_until(lock, deadline,
                                     [&] { return subscription.pending_messages == 0; });
}

std::size_t Dispatcher::PendingMessages(const SubscriptionState& subscription) const {
  std::lock_guard<std::mutex> lock(state_->mutex);
  return subscription.pending_messages;
}

std::size_t Dispatcher::PendingBytes(const SubscriptionState& subscription) const {
  std::lock_guard<std::mutex> lock(state_->mutex);
  return subscription.pending_bytes;
}

void Dispatcher::Shutdown() {
  std::call_once(shutdown_once_, [this] {
    {
      std::lock_guard<std::mutex> lock(state_->mutex);
      state_->is_stopping = true;
      state_->is_stopping_flag = true;
    }
    state_->work_ready.notify_all();
    if (IsDispatcherThread()) {
      thread_.detach();
    } else if (thread_.joinable()) {
      thread_.join();
    }
  });
  if (IsDispatcherThread()) return;
  // The thread may have been detached by an earlier call from a handler.
  std::unique_lock<std::mutex> lock(state_->mutex);
  state_->progress.wait(lock, [&] { return state_->has_exited; });
}

bool Dispatcher::is_shutting_down() const {
  std::lock_guard<std::mutex> lock(state_->mutex);
  return state_->is_stopping;
}

bool Dispatcher::IsDispatcherThread() const { return std::this_thread::get_id() == thread_id_; }

}  // namespace embed::client::internal
