#include "embed/broker/outbox.h"

#include "embed/wire/encoder.h"

namespace embed::broker {

namespace {
// Upper bound of the control line of MSG/HMSG beyond subject, sid and reply.
constexpr std::size_t kMsgOverheadBytes = 64;
}  // namespace

bool Outbox::HasRoomLocked(std::size_t extra) {
  if (QueuedBytesLocked() + extra <= max_pending_bytes_) return true;
  // NATS: the connection is closed at once, without -ERR, and nothing more
  // is buffered for it.
  slow_consumer_ = true;
  closed_ = true;
  std::string().swap(pending_);
  UpdateCongestionLocked();
  return false;
}

void Outbox::UpdateCongestionLocked(bool made_progress) {
  bool is_congested = !closed_ && QueuedBytesLocked() > max_pending_bytes_ / 4 * 3;
  bool was_congested = is_congested_.load(std::memory_order_relaxed);
  if (is_congested && (!was_congested || made_progress)) {
    congested_since_.store(std::chrono::steady_clock::now().time_since_epoch().count(),
                           std::memory_order_relaxed);
  }
  if (is_congested != was_congested) is_congested_.store(is_congested, std::memory_order_relaxed);
}

Outbox::AppendResult Outbox::AfterAppendLocked() {
  UpdateCongestionLocked();
  if (flush_scheduled_ || write_in_flight_) return AppendResult::kAppended;
  flush_scheduled_ = true;
  return AppendResult::kAppendedNeedsFlush;
}

Outbox::AppendResult Outbox::AppendMessage(const Message& message, std::string_view sid) {
  std::size_t size = message.subject.size() + sid.size() + message.reply_to.size() +
                     message.headers.size() + message.payload.size() + kMsgOverheadBytes;
  std::lock_guard<std::mutex> lock(mutex_);
  if (closed_) return AppendResult::kClosed;
  if (!HasRoomLocked(size)) return AppendResult::kSlowConsumer;
  if (!message.headers.empty() && headers_supported_) {
    wire::EncodeHMsg(pending_, message.subject, sid, message.reply_to, message.headers,
                     message.payload);
  } else {
    // NATS: a receiver without headers support gets the payload only.
    wire::EncodeMsg(pending_, message.subject, sid, message.reply_to, message.payload);
  }
  return AfterAppendLocked();
}

Outbox::AppendResult Outbox::AppendBytes(ByteView bytes) {
  std::lock_guard<std::mutex> lock(mutex_);
  if (closed_) return AppendResult::kClosed;
  if (!HasRoomLocked(bytes.size())) return AppendResult::kSlowConsumer;
  pending_.append(bytes.data(), bytes.size());
  return AfterAppendLocked();
}

void Outbox::set_headers_supported(bool supported) {
  std::lock_guard<std::mutex> lock(mutex_);
  headers_supported_ = supported;
}

}  // namespace embed::broker
