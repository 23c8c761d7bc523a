#pragma once
// IoWorker: the state one broker I/O thread owns — its sessions, the routing
// scratch (match cache, dirty outboxes, counters), a shared read buffer and
// the timer that drives protocol timers. Only its own thread touches it,
// except the counters, which stats() reads.

#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <unordered_map>
#include <vector>

#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>

#include "embed/base/clock.h"
#include "embed/broker/outbox.h"
#include "embed/broker/router.h"
#include "embed/broker/session_config.h"

namespace embed {
class Logger;
}

namespace embed::broker::internal {

// What every session of a broker shares. Outlives all sessions.
struct BrokerShared {
  explicit BrokerShared(const subject::SubjectLimits& subject_limits) : router(subject_limits) {}

  SessionConfig config;
  Router router;
  std::size_t max_pending_bytes = 0;
  std::chrono::milliseconds write_deadline{10'000};
  std::size_t max_connections = 0;
  const Clock* clock = nullptr;
  Logger* logger = nullptr;
  std::atomic<std::uint64_t> connections{0};
  std::atomic<std::uint64_t> total_connections{0};
  std::atomic<std::uint64_t> slow_consumers{0};
  std::atomic<std::uint64_t> next_client_id{1};
};

// The part of a session the worker drives; ClientSession<Stream> implements it.
class SessionBase : public Outbox {
 public:
  using Outbox::Outbox;
  // Runs protocol timers and the write deadline. Worker thread only.
  virtual void OnTick(SteadyTime now) = 0;
  // Closes at once (broker stopping). Worker thread only.
  virtual void CloseForShutdown() = 0;
};

class IoWorker {
 public:
  // Bytes read from a socket in one call: one buffer per thread, not per
  // connection, so idle connections hold no read buffer.
  static constexpr std::size_t kReadBufferBytes = 64 * 1024;

  IoWorker(boost::asio::io_context& context, int index, BrokerShared& shared,
           std::chrono::milliseconds tick);

  boost::asio::io_context& context() { return context_; }
  int index() const { return index_; }
  RouteBatch& batch() { return batch_; }
  char* read_buffer() { return read_buffer_.data(); }
  // True once Shutdown() ran: no new session may start here.
  bool is_shut_down() const { return is_shut_down_; }
  BrokerShared& shared() { return shared_; }

  // Sessions are owned here from Start() until they close.
  void Adopt(std::uint64_t client_id, std::shared_ptr<SessionBase> session);
  void Release(std::uint64_t client_id);

  // Asks each outbox routed to since the last call to write (once each).
  void FlushDirty();

  // Starts the tick timer. Worker thread.
  void StartTicking();
  // Closes every session and stops the timer. Worker thread.
  void Shutdown();

 private:
  void ScheduleTick();
  void Tick();

  boost::asio::io_context& context_;
  const int index_;
  BrokerShared& shared_;
  const std::chrono::milliseconds tick_;
  RouteBatch batch_;
  std::vector<char> read_buffer_;
  std::unordered_map<std::uint64_t, std::shared_ptr<SessionBase>> sessions_;
  std::vector<std::shared_ptr<SessionBase>> tick_scratch_;
  std::vector<std::shared_ptr<Outbox>> flush_scratch_;
  boost::asio::steady_timer timer_;
  bool is_shut_down_ = false;
};

}  // namespace embed::broker::internal
