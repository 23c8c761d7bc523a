#pragma once
// Outbox: one connection's outbound bytes. Routing on any I/O thread appends
// encoded messages; the owning session takes them for writing on its own
// thread. Double-buffered: appends go to the pending buffer while the other
// buffer is on the wire, so a write in flight never blocks routing. Bounded:
// an append that would push the queued bytes past max_pending_bytes marks the
// outbox a slow consumer and closes it (nats-wire.md §6.4).
// Thread-safe: a mutex guards the buffers; it is held only to copy bytes in
// or swap buffers, never across I/O.

#include <atomic>
#include <chrono>
#include <cstddef>
#include <mutex>
#include <string>
#include <string_view>

#include "embed/base/bytes.h"

namespace embed::broker {

// A message as it travels through the router. Views are borrowed for the
// duration of the routing call.
struct Message {
  std::string_view subject;
  std::string_view reply_to;  // empty when absent
  std::string_view headers;   // whole header block; empty when the message has none
  ByteView payload;
};

class Outbox {
 public:
  enum class AppendResult {
    kAppended,            // queued; a flush is already scheduled or a write is in flight
    kAppendedNeedsFlush,  // queued; the caller must request a flush (once per wake-up)
    kClosed,              // dropped: the connection is closing
    kSlowConsumer,        // dropped and the outbox is now closed; the caller must request a
                          // flush so the owner notices and closes the connection
  };

  explicit Outbox(std::size_t max_pending_bytes) : max_pending_bytes_(max_pending_bytes) {}
  virtual ~Outbox() = default;
  Outbox(const Outbox&) = delete;
  Outbox& operator=(const Outbox&) = delete;

  // Appends MSG (or HMSG when the message has headers and the receiver
  // negotiated them; otherwise the headers are stripped) for subscription
  // `sid`. Any thread.
  AppendResult AppendMessage(const Message& message, std::string_view sid);
  // Appends raw protocol bytes (INFO, +OK, -ERR, PING, PONG). Any thread.
  AppendResult AppendBytes(ByteView bytes);

  // Asks the owner to write what is pending. `caller_thread` is the index of
  // the I/O thread asking; the owner writes at once when it is its own
  // thread and posts otherwise. Any I/O thread.
  virtual void RequestFlush(int caller_thread) = 0;

  // Whether HMSG may be sent (the peer sent headers:true). Any thread.
  void set_headers_supported(bool supported);

  // True while more than 3/4 of max_pending_bytes is queued: publishers
  // feeding this outbox should pause briefly (nats-wire.md §6.4 fast-producer
  // back-pressure). Any thread; a hint, read without the lock.
  bool is_congested() const { return is_congested_.load(std::memory_order_relaxed); }
  // True when congested and its last write progress (or the start of the
  // congestion) is less than `window` before `now`. A receiver that drains,
  // however slowly, keeps throttling its publishers (flow control); one that
  // stopped reading stops slowing them after one window and soon exceeds
  // max_pending or the write deadline instead.
  bool ShouldStallPublishers(std::chrono::steady_clock::time_point now,
                             std::chrono::steady_clock::duration window) const {
    if (!is_congested()) return false;
    auto since = std::chrono::steady_clock::duration(
        congested_since_.load(std::memory_order_relaxed));
    return now.time_since_epoch() - since < window;
  }

 protected:
  // Checks the bound before `extra` more bytes; marks slow consumer when
  // exceeded. Requires mutex_.
  bool HasRoomLocked(std::size_t extra);
  AppendResult AfterAppendLocked();
  // Recomputes is_congested(); `made_progress` when bytes just left for the
  // peer. Requires mutex_.
  void UpdateCongestionLocked(bool made_progress = false);
  // Bytes queued: pending plus the unwritten rest of the buffer being written.
  std::size_t QueuedBytesLocked() const { return pending_.size() + writing_.size() - write_offset_; }

  const std::size_t max_pending_bytes_;
  std::mutex mutex_;
  std::string pending_;   // guarded by mutex_
  std::string writing_;   // being written; only the owner changes it, under mutex_
  std::size_t write_offset_ = 0;  // bytes of writing_ already written; as writing_
  bool write_in_flight_ = false;  // written by the owner under mutex_
  bool flush_scheduled_ = false;  // guarded by mutex_
  bool closed_ = false;           // guarded by mutex_
  bool slow_consumer_ = false;    // guarded by mutex_
  bool headers_supported_ = false;  // guarded by mutex_
  std::atomic<bool> is_congested_{false};
  // steady_clock ticks when congestion began or a write last made progress.
  std::atomic<std::chrono::steady_clock::rep> congested_since_{0};
};

}  // namespace embed::broker
