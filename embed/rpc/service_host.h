#pragma once
// ServiceHost: serves Services over one client::Connection. For each service
// it subscribes "<package>.<Service>.*" in the queue group named after the
// service, "<package>_<Service>" with '.' as '_' (queue names cannot hold a
// dot, ADR-6), so several hosts share the load, and a method the service lacks
// gets UNIMPLEMENTED), and answers the NATS service API ($SRV.PING, $SRV.INFO,
// $SRV.STATS, nats-wire.md §9) so NATS tooling sees it. Handlers run on a
// pool of threads owned by the host, never on the connection's threads.
// Thread-safe; the Connection and the Services must outlive the host.
//
//   GreeterImpl impl;   // derives from greeter::v1::Greeter::Service
//   embed::rpc::ServiceHost host(*connection);
//   Status added = host.AddService(impl);

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <string>

#include "embed/base/status.h"
#include "embed/rpc/service.h"

namespace embed::client {
class Connection;
}

namespace embed::rpc {
namespace internal {
class HostState;
}

struct ServiceHostOptions {
  // Handler threads, started as calls need them, up to this many. Calls
  // beyond wait in a queue.
  std::size_t max_threads = 64;
  // Calls waiting for a thread; beyond this a call fails at once with
  // RESOURCE_EXHAUSTED.
  std::size_t max_queued_calls = 4096;
  // Messages a client may send ahead on a stream (the window the host grants).
  std::uint32_t stream_window = 64;
  // Keepalive interval of streams whose client sent none (see ChannelOptions).
  std::chrono::milliseconds keepalive_interval{1'000};
};

// How a service presents itself to the NATS service API.
struct ServiceOptions {
  // The $SRV name ([A-Za-z0-9_-]+); empty = the full name with '.' replaced
  // by '_' ("greeter_v1_Greeter").
  std::string micro_name;
  std::string version = "1.0.0";  // SemVer
  std::string description;
  std::map<std::string, std::string> metadata;
  // Queue group of the method subscription; empty = the full name with '.'
  // replaced by '_' ("greeter_v1_Greeter").
  std::string queue_group;
};

class ServiceHost {
 public:
  explicit ServiceHost(client::Connection& connection, ServiceHostOptions options = {});
  ~ServiceHost();  // Stop(0)
  ServiceHost(const ServiceHost&) = delete;
  ServiceHost& operator=(const ServiceHost&) = delete;

  // Starts serving `service`; returns once the broker has the subscriptions
  // (a flush of at most 2 s; while the connection is down the client makes
  // them when it reconnects). kAlreadyExists when a service of that full
  // name is served here, kInvalidArgument for a bad name, version or queue
  // group, kFailedPrecondition after Stop(), or the subscription's error.
  Status AddService(Service& service, const ServiceOptions& options = {});

  // Stops taking calls: drains the subscriptions (new calls then go to other
  // instances or get no responders; calls already routed here are answered
  // UNAVAILABLE), lets running calls finish, all within `grace`, then
  // cancels the rest (streams end with UNAVAILABLE) and waits for their
  // handlers to return. Idempotent; not from a handler.
  void Stop(std::chrono::milliseconds grace = std::chrono::milliseconds(5'000));

  // The instance id reported to the service API (a NUID).
  const std::string& id() const;

 private:
  std::shared_ptr<internal::HostState> state_;
};

}  // namespace embed::rpc
