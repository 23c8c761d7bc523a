#pragma once
// The ordered queue of serialized embed.v1.Events of one handle, delivered
// either to a callback on the queue's own thread or through Poll(). Events
// that may be dropped (messages, streamed RPC messages, changes) count
// against a byte bound; beyond it they are dropped and counted, and an
// EventsDropped event reports the count before the next event that is
// queued. Responses and connection-state events are never dropped.
// Thread-safe.
#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <mutex>
#include <string>
#include <thread>

namespace embed::c_api::internal {

enum class EventClass { kDroppable, kKept };

using EventCallback = void (*)(void* user_data, const std::uint8_t* event, std::size_t event_len);
// Gets a malloc'd copy the callee frees (embed_bytes_free).
using OwnedEventCallback = void (*)(void* user_data, std::uint8_t* event, std::size_t event_len);

enum class PollOutcome { kEvent, kTimedOut, kCallbackSet, kClosed };

class EventQueue {
 public:
  explicit EventQueue(std::size_t max_droppable_bytes);
  // Close()s.
  ~EventQueue();
  EventQueue(const EventQueue&) = delete;
  EventQueue& operator=(const EventQueue&) = delete;

  // Queues one serialized Event; false when dropped (bound reached) or closed.
  bool Push(std::string event, EventClass event_class);

  // Sets (or with nullptr clears) the callback; events go to it from the
  // queue's thread, starting with those already queued. Returns once no
  // callback of the previous setting runs. Not from the callback's thread.
  void SetCallback(EventCallback callback, void* user_data);
  // The same for a callback that takes ownership of each event's bytes.
  void SetOwnedCallback(OwnedEventCallback callback, void* user_data);

  // Takes the next event, waiting up to `timeout` (negative = forever).
  PollOutcome Poll(std::chrono::milliseconds timeout, std::string* event);

  // Refuses new events, lets the callback thread deliver those queued, then
  // joins it. Poll() still hands out what is left, then reports kClosed.
  // Idempotent; not from the callback's thread.
  void Close();

  // True on the queue's callback thread.
  bool IsCallbackThread() const;

 private:
  struct Entry {
    std::string bytes;
    EventClass event_class;
  };
  void RunCallbackThread();
  void SetEitherCallback(EventCallback callback, OwnedEventCallback owned_callback,
                         void* user_data);
  bool has_callback() const { return callback_ != nullptr || owned_callback_ != nullptr; }
  // Appends an EventsDropped event when drops are pending. Holds mutex_.
  void FlushDropReportLocked();

  const std::size_t max_droppable_bytes_;
  mutable std::mutex mutex_;
  std::condition_variable changed_;
  std::deque<Entry> entries_;
  std::size_t droppable_bytes_ = 0;
  std::uint64_t dropped_events_ = 0;
  std::uint64_t dropped_bytes_ = 0;
  bool closed_ = false;
  // At most one of the two is set.
  EventCallback callback_ = nullptr;
  OwnedEventCallback owned_callback_ = nullptr;
  void* user_data_ = nullptr;
  bool delivering_ = false;  // the callback thread is inside a callback
  // Counts callback settings; delivering_generation_ is the setting whose
  // callback runs now, so a setter waits only for older settings' calls.
  std::uint64_t generation_ = 0;
  std::uint64_t delivering_generation_ = 0;
  std::thread::id callback_thread_id_;
  std::thread callback_thread_;
};

}  // namespace embed::c_api::internal
