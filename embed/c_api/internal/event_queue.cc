#include "embed/c_api/internal/event_queue.h"

#include <cstdlib>
#include <cstring>
#include <utility>

#include "embed/v1/bridge.pb.h"

namespace embed::c_api::internal {

EventQueue::EventQueue(std::size_t max_droppable_bytes)
    : max_droppable_bytes_(max_droppable_bytes) {}

EventQueue::~EventQueue() { Close(); }

bool EventQueue::Push(std::string event, EventClass event_class) {
  std::lock_guard lock(mutex_);
  if (closed_) return false;
  if (event_class == EventClass::kDroppable) {
    if (droppable_bytes_ + event.size() > max_droppable_bytes_) {
      ++dropped_events_;
      dropped_bytes_ += event.size();
      return false;
    }
    droppable_bytes_ += event.size();
  }
  // The report goes before the first event queued after the drops, so the
  // app learns of a gap where it happened.
  FlushDropReportLocked();
  entries_.push_back(Entry{std::move(event), event_class});
  changed_.notify_all();
  return true;
}

void EventQueue::FlushDropReportLocked() {
  if (dropped_events_ == 0) return;
  v1::Event report;
  report.mutable_dropped()->set_events(dropped_events_);
  report.mutable_dropped()->set_bytes(dropped_bytes_);
  dropped_events_ = 0;
  dropped_bytes_ = 0;
  entries_.push_back(Entry{report.SerializeAsString(), EventClass::kKept});
}

void EventQueue::SetCallback(EventCallback callback, void* user_data) {
  SetEitherCallback(callback, nullptr, user_data);
}

void EventQueue::SetOwnedCallback(OwnedEventCallback callback, void* user_data) {
  SetEitherCallback(nullptr, callback, user_data);
}

void EventQueue::SetEitherCallback(EventCallback callback, OwnedEventCallback owned_callback,
                                   void* user_data) {
  std::unique_lock lock(mutex_);
  callback_ = callback;
  owned_callback_ = owned_callback;
  user_data_ = user_data;
  const std::uint64_t generation = ++generation_;
  if (has_callback() && !callback_thread_.joinable() && !closed_) {
    callback_thread_ = std::thread([this] { RunCallbackThread(); });
  }
  changed_.notify_all();
  // A call of an earlier setting may still run with the old user_data; later
  // calls of this setting (a steady stream) need not end for it to return.
  changed_.wait(lock, [&] { return !delivering_ || delivering_generation_ >= generation; });
}

void EventQueue::RunCallbackThread() {
  std::unique_lock lock(mutex_);
  callback_thread_id_ = std::this_thread::get_id();
  for (;;) {
    changed_.wait(lock, [&] { return (has_callback() && !entries_.empty()) || closed_; });
    if (!has_callback() || entries_.empty()) {
      if (closed_) return;
      continue;
    }
    Entry entry = std::move(entries_.front());
    entries_.pop_front();
    if (entry.event_class == EventClass::kDroppable) droppable_bytes_ -= entry.bytes.size();
    EventCallback callback = callback_;
    OwnedEventCallback owned_callback = owned_callback_;
    void* user_data = user_data_;
    delivering_ = true;
    delivering_generation_ = generation_;
    lock.unlock();
    if (callback != nullptr) {
      callback(user_data, reinterpret_cast<const std::uint8_t*>(entry.bytes.data()),
               entry.bytes.size());
    } else {
      // malloc, as embed_bytes_free() frees; at least one byte, as malloc(0)
      // may return null.
      auto* copy =
          static_cast<std::uint8_t*>(std::malloc(entry.bytes.empty() ? 1 : entry.bytes.size()));
      if (copy != nullptr) {
        std::memcpy(copy, entry.bytes.data(), entry.bytes.size());
        owned_callback(user_data, copy, entry.bytes.size());
      }
    }
    lock.lock();
    delivering_ = false;
    changed_.notify_all();
  }
}

PollOutcome EventQueue::Poll(std::chrono::milliseconds timeout, std::string* event) {
  std::unique_lock lock(mutex_);
  auto ready = [&] { return has_callback() || !entries_.empty() || closed_; };
  if (timeout.count() < 0) {
    changed_.wait(lock, ready);
  } else if (!changed_.wait_for(lock, timeout, ready)) {
    return PollOutcome::kTimedOut;
  }
  if (has_callback()) return PollOutcome::kCallbackSet;
  if (entries_.empty()) return PollOutcome::kClosed;
  Entry entry = std::move(entries_.front());
  entries_.pop_front();
  if (entry.event_class == EventClass::kDroppable) droppable_bytes_ -= entry.bytes.size();
  *event = std::move(entry.bytes);
  return PollOutcome::kEvent;
}

void EventQueue::Close() {
  std::thread thread;
  {
    std::lock_guard lock(mutex_);
    closed_ = true;
    changed_.notify_all();
    thread = std::move(callback_thread_);
  }
  if (thread.joinable()) thread.join();
}

bool EventQueue::IsCallbackThread() const {
  std::lock_guard lock(mutex_);
  return callback_thread_id_ == std::this_thread::get_id();
}

}  // namespace embed::c_api::internal
