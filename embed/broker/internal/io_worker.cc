#include "embed/broker/internal/io_worker.h"

#include "embed/base/logger.h"

namespace embed::broker::internal {

IoWorker::IoWorker(boost::asio::io_context& context, int index, BrokerShared& shared,
                   std::chrono::milliseconds tick)
    : context_(context),
      index_(index),
      shared_(shared),
      tick_(tick),
      read_buffer_(kReadBufferBytes),
      timer_(context) {
  batch_.random_state ^= static_cast<std::uint64_t>(index + 1) * 0xBF58476D1CE4E5B9ull ^
                         reinterpret_cast<std::uintptr_t>(this);
}

void IoWorker::Adopt(std::uint64_t client_id, std::shared_ptr<SessionBase> session) {
  sessions_.emplace(client_id, std::move(session));
}

void IoWorker::Release(std::uint64_t client_id) { sessions_.erase(client_id); }

void IoWorker::FlushDirty() {
  // Flushing never routes, but swap anyway so the list can't change under us.
  while (!batch_.dirty.empty()) {
    flush_scratch_.swap(batch_.dirty);
    for (auto& outbox : flush_scratch_) outbox->RequestFlush(index_);
    flush_scratch_.clear();
  }
}

void IoWorker::StartTicking() { ScheduleTick(); }

void IoWorker::ScheduleTick() {
  if (is_shut_down_) return;
  timer_.expires_after(tick_);
  timer_.async_wait([this](boost::system::error_code error) {
    if (error || is_shut_down_) return;
    // An exception escaping here would leave the timer unarmed and stop
    // every protocol timer of this thread for good: log it and tick on.
    try {
      Tick();
    } catch (...) {
      try {
        if (shared_.logger != nullptr) {
          shared_.logger->Log(LogLevel::kError, "I/O worker tick failed; retrying next tick");
        }
      } catch (...) {
      }
    }
    ScheduleTick();
  });
}

void IoWorker::Tick() {
  SteadyTime now = shared_.clock->Now();
  tick_scratch_.clear();
  for (auto& [id, session] : sessions_) tick_scratch_.push_back(session);
  for (auto& session : tick_scratch_) session->OnTick(now);
  tick_scratch_.clear();
  FlushDirty();
}

void IoWorker::Shutdown() {
  is_shut_down_ = true;
  timer_.cancel();
  tick_scratch_.clear();
  for (auto& [id, session] : sessions_) tick_scratch_.push_back(session);
  for (auto& session : tick_scratch_) session->CloseForShutdown();
  tick_scratch_.clear();
  sessions_.clear();
  batch_.dirty.clear();
  batch_.cache.Clear();
}

}  // namespace embed::broker::internal
