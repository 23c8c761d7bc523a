#pragma once
// An embeddable NATS-protocol broker: TCP (optionally TLS), WebSocket and
// in-process listeners, a pool of I/O threads,
// sessions and routing. Start() returns once the listener is bound; Stop()
// closes every connection and joins the threads. Several brokers can run in
// one process. All public methods are thread-safe.
//
//   BrokerOptions options;
//   options.port = 0;
//   auto broker = Broker::Start(options);
//   if (!broker.ok()) ...;
//   std::string url = (*broker)->url();   // "nats://127.0.0.1:40123"

#include <cstdint>
#include <memory>
#include <string>

#include "embed/base/result.h"
#include "embed/broker/broker_options.h"

namespace embed::broker {

// Counters as nats-server's /varz reports them.
struct BrokerStats {
  std::uint64_t connections = 0;        // open now
  std::uint64_t total_connections = 0;  // ever accepted
  std::uint64_t subscriptions = 0;
  std::uint64_t in_msgs = 0;
  std::uint64_t out_msgs = 0;
  std::uint64_t in_bytes = 0;
  std::uint64_t out_bytes = 0;
  std::uint64_t slow_consumers = 0;
};

class Broker {
 public:
  // Binds the listener and starts the I/O threads. kIoError when the address
  // cannot be bound, kInvalidArgument for inconsistent options.
  static Result<std::unique_ptr<Broker>> Start(const BrokerOptions& options);

  // Stops (see Stop()).
  virtual ~Broker() = default;

  // The bound port (the real one when options.port was 0).
  virtual std::uint16_t port() const = 0;
  // "nats://<host>:<port>" ("tls://..." with TLS).
  virtual std::string url() const = 0;
  // The WebSocket port (0 when WebSocket is off).
  virtual std::uint16_t ws_port() const = 0;
  // "ws://<host>:<port>" ("wss://..." with TLS); empty when WebSocket is off.
  virtual std::string ws_url() const = 0;
  // "inproc://<name>": a client in this process connects without a socket.
  virtual std::string in_process_url() const = 0;
  virtual BrokerStats stats() const = 0;

  // Stops accepting, closes every connection, joins the I/O threads.
  // Idempotent. Must not be called from an I/O thread of this broker.
  virtual void Stop() = 0;
};

}  // namespace embed::broker
