#pragma once
// HostState: what a ServiceHost shares with its calls, handler threads and
// timers: the connection, the served services with their subscriptions and
// counters, the open streams, the calls running. Thread-safe.

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>
#include <vector>

#include "embed/client/connection.h"
#include "embed/rpc/internal/frames.h"
#include "embed/rpc/internal/timer_queue.h"
#include "embed/rpc/internal/worker_pool.h"
#include "embed/rpc/micro.h"
#include "embed/rpc/service_host.h"
#include "embed/wire/nuid.h"

namespace embed::rpc::internal {

class CallContext;
class ServerCall;

// Per-endpoint counters for $SRV.STATS.
struct EndpointCounters {
  std::uint64_t num_requests = 0;
  std::uint64_t num_errors = 0;
  std::string last_error;
  std::int64_t processing_time_ns = 0;
};

struct ServedService {
  Service* service = nullptr;
  ServiceOptions options;
  micro::ServiceIdentity identity;
  std::string started;
  std::string queue_group;
  std::unordered_map<std::string, const Service::Method*> methods;  // by name
  std::map<std::string, EndpointCounters> counters;                 // by method name
  std::vector<std::unique_ptr<client::Subscription>> subscriptions;
};

class HostState : public std::enable_shared_from_this<HostState> {
 public:
  HostState(client::Connection& connection, ServiceHostOptions options)
      : connection_(connection),
        options_(std::move(options)),
        id_(wire::Nuid().Next()),
        pool_(options_.max_threads, options_.max_queued_calls) {}

  client::Connection& connection() { return connection_; }
  const ServiceHostOptions& options() const { return options_; }
  const std::string& id() const { return id_; }
  TimerQueue& timers() { return timers_; }

  Status AddService(Service& service, const ServiceOptions& options);
  void Stop(std::chrono::milliseconds grace);

  // The method and $SRV subscription callbacks (on the connection's
  // dispatcher) bracket their work with these: Stop() waits until none runs,
  // so none touches a Service after the host stopped. EnterCallback() is
  // false once Stop() waited.
  bool EnterCallback();
  void LeaveCallback();

  // Bookkeeping of running calls (for Stop and the stream inbox).
  void EndCall(const std::shared_ptr<CallContext>& context);
  void Unregister(std::uint64_t token);
  void Record(ServedService& served, const std::string& method, const RpcStatus& status,
              std::chrono::steady_clock::duration elapsed);

 private:
  void OnMethodMessage(ServedService& served, client::Message& message);
  void OnInboxMessage(client::Message& message);
  void OnMicroRequest(ServedService& served, micro::Verb verb, const client::Message& message);
  void ServeUnary(ServedService& served, const Service::Method& method, client::Message& message,
                  const Frame& frame);
  void OpenStream(ServedService& served, const Service::Method& method,
                  const client::Message& message, const Frame& frame);
  void Refuse(const client::Message& message, const Frame& frame, RpcStatus status);
  bool BeginCall(const std::shared_ptr<CallContext>& context);

  client::Connection& connection_;
  const ServiceHostOptions options_;
  const std::string id_;
  WorkerPool pool_;
  TimerQueue timers_;

  std::mutex mutex_;
  std::condition_variable calls_done_;
  bool is_stopped_ = false;
  std::map<std::string, std::unique_ptr<ServedService>> services_;  // by full name
  // Services whose AddService() failed half-way: kept, since a callback of
  // one of their subscriptions may still run.
  std::vector<std::unique_ptr<ServedService>> failed_services_;
  std::unique_ptr<client::Subscription> inbox_subscription_;
  std::string inbox_prefix_;  // "_INBOX.<id>."
  std::uint64_t next_token_ = 1;
  std::unordered_map<std::uint64_t, std::shared_ptr<ServerCall>> streams_;
  std::vector<std::shared_ptr<CallContext>> active_;  // unary and streaming
  std::mutex stats_mutex_;

  std::mutex callbacks_mutex_;
  std::condition_variable callbacks_idle_;
  int callbacks_running_ = 0;
  bool are_callbacks_closed_ = false;
};

}  // namespace embed::rpc::internal
