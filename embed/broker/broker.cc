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
#include "embed/broker/internal/io_worker.h"
#include "embed/broker/internal/session_start.h"
#include "embed/net/inproc/in_process.h"
#include "embed/net/io_thread_pool.h"
#include "embed/net/tcp_listener.h"
#include "embed/net/tcp_stream.h"
#include "embed/net/tls/tls_context.h"

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
  if (!options.tls.enabled() &&
      (!options.tls.key_file.empty() || !options.tls.ca_file.empty() || options.tls.verify_clients)) {
    return InvalidArgumentError("TLS options need tls.cert_file");
  }
  if (options.tls.enabled() && options.tls.key_file.empty()) {
    return InvalidArgumentError("tls.key_file is required with tls.cert_file");
  }
  if (options.tls.verify_clients && options.tls.ca_file.empty()) {
    return InvalidArgumentError("tls.verify_clients needs tls.ca_file");
  }
  if (!is_valid_timer(options.tls.handshake_timeout)) {
    return InvalidArgumentError("tls.handshake_timeout must be > 0 and <= 24h");
  }
  if (!is_valid_timer(options.websocket.handshake_timeout)) {
    return InvalidArgumentError("websocket.handshake_timeout must be > 0 and <= 24h");
  }
  return Status::Ok();
}

Result<std::shared_ptr<net::TlsContext>> MakeTlsContext(const TlsOptions& options) {
  net::TlsConfig config;
  config.cert_file = options.cert_file;
  config.key_file = options.key_file;
  config.ca_file = options.ca_file;
  config.verify_peer = options.verify_clients;
  return net::TlsContext::CreateServer(config);
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
    if (options_.websocket.enabled) {
      auto ws_listener = net::TcpListener::Open(pool_.context(0), options_.websocket.host,
                                                options_.websocket.port);
      if (!ws_listener.ok()) return ws_listener.status();
      ws_listener_ = std::move(ws_listener).value();
      ws_port_ = ws_listener_->port();
    }
    std::shared_ptr<net::TlsContext> tls;
    if (options_.tls.enabled()) {
      auto context = MakeTlsContext(options_.tls);
      if (!context.ok()) return context.status();
      tls = std::move(context).value();
    }

    shared_ = std::make_unique<internal::BrokerShared>(subject::SubjectLimits{
        options_.limits.max_subject_bytes, options_.limits.max_subject_tokens});
    const std::string server_id = NewServerId();
    shared_->config = SessionConfig::FromOptions(options_, server_id, port_);
    shared_->max_pending_bytes = options_.max_pending_bytes;
    shared_->write_deadline = options_.write_deadline;
    shared_->max_connections = options_.max_connections;
    shared_->clock = &SystemClock::Instance();
    shared_->logger = options_.logger;

    // One INFO per listener (nats-wire.md §7.3): each names its own port and
    // whether it needs TLS; in-process connections never do.
    inproc_config_ = std::make_unique<SessionConfig>(shared_->config);
    if (tls) {
      shared_->config.info.tls_required = true;
      shared_->config.info.tls_verify = options_.tls.verify_clients;
    }
    tcp_setup_.config = &shared_->config;
    tcp_setup_.tls = tls;
    tcp_setup_.tls_handshake_timeout = options_.tls.handshake_timeout;
    if (ws_listener_) {
      ws_config_ = std::make_unique<SessionConfig>(*inproc_config_);
      ws_config_->info.host = options_.websocket.host;
      ws_config_->info.port = ws_port_;
      const bool ws_tls = tls && !options_.websocket.no_tls;
      ws_config_->info.tls_required = ws_tls;
      ws_config_->info.tls_verify = ws_tls && options_.tls.verify_clients;
      ws_setup_.config = ws_config_.get();
      if (ws_tls) ws_setup_.tls = tls;
      ws_setup_.websocket.compression = options_.websocket.compression;
      ws_setup_.websocket.max_message_bytes = options_.max_pending_bytes;
      ws_setup_.ws_handshake_timeout = options_.websocket.handshake_timeout;
    }

    std::chrono::milliseconds tick = TickInterval(options_);
    if (tls) tick = std::min(tick, std::max(options_.tls.handshake_timeout / 10,
                                            std::chrono::milliseconds(2)));
    for (std::size_t i = 0; i < pool_.size(); ++i) {
      workers_.push_back(std::make_unique<internal::IoWorker>(
          pool_.context(i), static_cast<int>(i), *shared_, tick));
    }
    pool_.Start();
    for (auto& worker : workers_) {
      boost::asio::post(worker->context(), [worker = worker.get()] { worker->StartTicking(); });
    }
    // In-process clients, once the workers that will own them run.
    const std::string inproc_name =
        options_.in_process_name.empty() ? server_id : options_.in_process_name;
    auto registration = net::RegisterInProcess(
        inproc_name, [this]() -> boost::asio::io_context& { return PickContext(); },
        [this](net::PipeStream stream) { OnInProcessAccept(std::move(stream)); });
    if (!registration.ok()) return registration.status();
    inproc_registration_ = std::move(registration).value();
    inproc_url_ = "inproc://" + inproc_name;

    listener_->Start([this]() -> boost::asio::io_context& { return PickContext(); },
                     [this](net::TcpSocket socket) {
                       OnAccept(std::move(socket), [this](internal::IoWorker& worker,
                                                          net::TcpSocket accepted) {
                         internal::StartTcpSession(worker, std::move(accepted), tcp_setup_);
                       });
                     });
    if (ws_listener_) {
      ws_listener_->Start([this]() -> boost::asio::io_context& { return PickContext(); },
                          [this](net::TcpSocket socket) {
                            OnAccept(std::move(socket), [this](internal::IoWorker& worker,
                                                               net::TcpSocket accepted) {
                              internal::StartWebSocketSession(worker, std::move(accepted),
                                                              ws_setup_);
                            });
                          });
    }
    if (options_.logger != nullptr) {
      options_.logger->Log(LogLevel::kInfo, "broker listening on " + url());
      if (ws_listener_) options_.logger->Log(LogLevel::kInfo, "websocket on " + ws_url());
    }
    return Status::Ok();
  }

  std::uint16_t port() const override { return port_; }

  std::string url() const override {
    return (options_.tls.enabled() ? "tls://" : "nats://") + options_.host + ":" +
           std::to_string(port_);
  }

  std::uint16_t ws_port() const override { return ws_port_; }

  std::string ws_url() const override {
    if (!ws_listener_) return "";
    const bool ws_tls = options_.tls.enabled() && !options_.websocket.no_tls;
    return (ws_tls ? "wss://" : "ws://") + options_.websocket.host + ":" +
           std::to_string(ws_port_);
  }

  std::string in_process_url() const override { return inproc_url_; }

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
    // No new in-process connection after this returns.
    inproc_registration_.reset();
    if (listener_) listener_->Close();
    if (ws_listener_) ws_listener_->Close();
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
  // Called by the listener thread and by in-process dialers (any thread).
  boost::asio::io_context& PickContext() {
    std::size_t next = next_worker_.fetch_add(1, std::memory_order_relaxed);
    return workers_[next % workers_.size()]->context();
  }

  internal::IoWorker* WorkerOf(boost::asio::io_context& context) {
    for (auto& candidate : workers_) {
      if (&candidate->context() == &context) return candidate.get();
    }
    return nullptr;
  }

  // Listener thread: start the session on the thread that owns its socket.
  template <typename Starter>
  void OnAccept(net::TcpSocket socket, Starter start) {
    internal::IoWorker* worker = WorkerOf(socket.get_executor().context());
    if (worker == nullptr) return;
    boost::asio::post(worker->context(),
                      [worker, start, socket = std::move(socket)]() mutable {
                        start(*worker, std::move(socket));
                      });
  }

  // Dialing thread (any): the pipe's broker end is bound to a worker.
  void OnInProcessAccept(net::PipeStream stream) {
    internal::IoWorker* worker = WorkerOf(stream.get_executor().context());
    if (worker == nullptr) return;
    boost::asio::post(worker->context(),
                      [this, worker, stream = std::move(stream)]() mutable {
                        internal::StartPipeSession(*worker, std::move(stream), *inproc_config_);
                      });
  }

  BrokerOptions options_;
  net::IoThreadPool pool_;
  std::unique_ptr<internal::BrokerShared> shared_;
  std::vector<std::unique_ptr<internal::IoWorker>> workers_;
  std::unique_ptr<net::TcpListener> listener_;
  std::unique_ptr<net::TcpListener> ws_listener_;
  std::unique_ptr<net::InProcessRegistration> inproc_registration_;
  std::unique_ptr<SessionConfig> inproc_config_;
  std::unique_ptr<SessionConfig> ws_config_;
  internal::ListenerSetup tcp_setup_;
  internal::ListenerSetup ws_setup_;
  std::string inproc_url_;
  std::uint16_t port_ = 0;
  std::uint16_t ws_port_ = 0;
  std::atomic<std::size_t> next_worker_{0};
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
