#include "embed/broker/broker.h"

#include <algorithm>
#include <atomic>
#include <future>
#include <memory>
#include <string>
#include <vector>

#include <boost/asio/post.hpp>

#include "embed/base/clock.h"
#include "embed/base/logger.h"
#include "embed/broker/client_session.h"
#include "embed/broker/internal/io_worker.h"
#include "embed/net/io_thread_pool.h"
#include "embed/net/tcp_listener.h"
#include "embed/net/tcp_stream.h"

namespace embed::broker {
namespace {

using namespace std::chrono_literals;

// How often each I/O thread runs protocol timers: fine enough for the
// shortest configured timer, coarse enough to cost nothing when idle.
std::chrono::milliseconds TickInterval(const BrokerOptions& options) {
  std::chrono::milliseconds shortest = options.write_deadline;
  if (options.ping_interval.count() > 0) shortest = std::min(shortest, options.ping_interval);
  if (!options.auth_token.empty() || !options.users.empty()) {
    shortest = std::min(shortest, options.auth_timeout);
  }
  return std::clamp(shortest / 10, std::chrono::milliseconds(2), std::chrono::milliseconds(500));
}

Status ValidateOptions(const BrokerOptions& options) {
  if (!options.auth_token.empty() && !options.users.empty()) {
    return InvalidArgumentError("configure either auth_token or users, not both");
  }
  if (options.limits.max_payload_bytes > options.max_pending_bytes) {
    return InvalidArgumentError("max_payload_bytes must not exceed max_pending_bytes");
  }
  if (options.io_threads < 0) return InvalidArgumentError("io_threads must be >= 0");
  if (options.ping_max < 0) return InvalidArgumentError("ping_max must be >= 0");
  // Timers must be positive; more than a day is a configuration mistake (and
  // risks overflowing time_point arithmetic).
  constexpr std::chrono::milliseconds kMaxTimer = 24h;
  auto is_valid_timer = [&](std::chrono::milliseconds value) {
    return value.count() > 0 && value <= kMaxTimer;
  };
  if (!is_valid_timer(options.write_deadline)) {
    return InvalidArgumentError("write_deadline must be > 0 and <= 24h");
  }
  if (!is_valid_timer(options.ping_interval)) {
    return InvalidArgumentError("ping_interval must be > 0 and <= 24h");
  }
  if (!is_valid_timer(options.auth_timeout)) {
    return InvalidArgumentError("auth_timeout must be > 0 and <= 24h");
  }
  return Status::Ok();
}

class TcpBroker final : public Broker {
 public:
  explicit TcpBroker(const BrokerOptions& options)
      : options_(options), pool_(options.io_threads) {}

  ~TcpBroker() override { Stop(); }

  Status Init() {
    auto listener = net::TcpListener::Open(pool_.context(0), options_.host, options_.port);
    if (!listener.ok()) return listener.status();
    listener_ = std::move(listener).value();
    port_ = listener_->port();

    shared_ = std::make_unique<internal::BrokerShared>(subject::SubjectLimits{
        options_.limits.max_subject_bytes, options_.limits.max_subject_tokens});
    shared_->config = SessionConfig::FromOptions(options_, NewServerId(), port_);
    shared_->max_pending_bytes = options_.max_pending_bytes;
    shared_->write_deadline = options_.write_deadline;
    shared_->max_connections = options_.max_connections;
    shared_->clock = &SystemClock::Instance();
    shared_->logger = options_.logger;

    std::chrono::milliseconds tick = TickInterval(options_);
    for (std::size_t i = 0; i < pool_.size(); ++i) {
      workers_.push_back(std::make_unique<internal::IoWorker>(
          pool_.context(i), static_cast<int>(i), *shared_, tick));
    }
    pool_.Start();
    for (auto& worker : workers_) {
      boost::asio::post(worker->context(), [worker = worker.get()] { worker->StartTicking(); });
    }
    listener_->Start([this]() -> boost::asio::io_context& { return PickContext(); },
                     [this](net::TcpSocket socket) { OnAccept(std::move(socket)); });
    if (options_.logger != nullptr) {
      options_.logger->Log(LogLevel::kInfo, "broker listening on " + url());
    }
    return Status::Ok();
  }

  std::uint16_t port() const override { return port_; }

  std::string url() const override {
    return "nats://" + options_.host + ":" + std::to_string(port_);
  }

  BrokerStats stats() const override {
    BrokerStats stats;
    if (!shared_) return stats;
    stats.connections = shared_->connections.load(std::memory_order_relaxed);
    stats.total_connections = shared_->total_connections.load(std::memory_order_relaxed);
    stats.subscriptions = shared_->router.subscription_count();
    stats.slow_consumers = shared_->slow_consumers.load(std::memory_order_relaxed);
    for (const auto& worker : workers_) {
      RouteBatch& batch = worker->batch();
      stats.in_msgs += batch.in_msgs.load(std::memory_order_relaxed);
      stats.in_bytes += batch.in_bytes.load(std::memory_order_relaxed);
      stats.out_msgs += batch.out_msgs.load(std::memory_order_relaxed);
      stats.out_bytes += batch.out_bytes.load(std::memory_order_relaxed);
    }
    return stats;
  }

  void Stop() override {
    if (is_stopped_.exchange(true)) return;
    if (listener_) listener_->Close();
    // Close every session on its own thread, then stop the threads.
    std::vector<std::future<void>> done;
    for (auto& worker : workers_) {
      auto promise = std::make_shared<std::promise<void>>();
      done.push_back(promise->get_future());
      boost::asio::post(worker->context(), [worker = worker.get(), promise] {
        worker->Shutdown();
        promise->set_value();
      });
    }
    for (auto& future : done) future.wait();
    pool_.Stop();
    if (options_.logger != nullptr) options_.logger->Log(LogLevel::kInfo, "broker stopped");
  }

 private:
  boost::asio::io_context& PickContext() {
    next_worker_ = (next_worker_ + 1) % workers_.size();
    return workers_[next_worker_]->context();
  }

  // Listener thread: count the connection, then start the session on the
  // thread that owns its socket.
  void OnAccept(net::TcpSocket socket) {
    internal::IoWorker* worker = nullptr;
    for (auto& candidate : workers_) {
      if (&candidate->context() == &socket.get_executor().context()) worker = candidate.get();
    }
    if (worker == nullptr) return;
    // max_connections 0 = unlimited.
    bool is_over_limit =
        shared_->max_connections != 0 &&
        shared_->connections.load(std::memory_order_relaxed) >= shared_->max_connections;
    if (!is_over_limit) {
      shared_->connections.fetch_add(1, std::memory_order_relaxed);
      shared_->total_connections.fetch_add(1, std::memory_order_relaxed);
    }
    std::uint64_t client_id = shared_->next_client_id.fetch_add(1, std::memory_order_relaxed);
    boost::asio::post(worker->context(), [worker, client_id, is_over_limit,
                                          socket = std::move(socket)]() mutable {
      auto session = std::make_shared<ClientSession<net::TcpStream>>(
          net::TcpStream(std::move(socket)), *worker, client_id);
      session->Start(is_over_limit);
    });
  }

  BrokerOptions options_;
  net::IoThreadPool pool_;
  std::unique_ptr<internal::BrokerShared> shared_;
  std::vector<std::unique_ptr<internal::IoWorker>> workers_;
  std::unique_ptr<net::TcpListener> listener_;
  std::uint16_t port_ = 0;
  std::size_t next_worker_ = 0;
  std::atomic<bool> is_stopped_{false};
};

}  // namespace

Result<std::unique_ptr<Broker>> Broker::Start(const BrokerOptions& options) {
  EMBED_RETURN_IF_ERROR(ValidateOptions(options));
  auto broker = std::make_unique<TcpBroker>(options);
  EMBED_RETURN_IF_ERROR(broker->Init());
  return std::unique_ptr<Broker>(std::move(broker));
}

}  // namespace embed::broker
