#pragma once
// Configuration of an embedded broker. Defaults follow nats-server
// (nats-wire.md §1.13) except the listen address, which is loopback.

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "embed/wire/limits.h"

namespace embed {
class Logger;
}

namespace embed::broker {

struct UserPassword {
  std::string user;
  std::string password;
};

struct BrokerOptions {
  // Listen address. Port 0 binds an ephemeral port; Broker::port() reports it.
  std::string host = "127.0.0.1";
  std::uint16_t port = 4222;
  // I/O threads; 0 means one per core.
  int io_threads = 0;
  // Shown in INFO as server_name (defaults to the server id).
  std::string server_name;

  // Protocol limits: control line, payload, header block, subject length.
  wire::Limits limits;
  // Outbound bytes queued per connection before it is a slow consumer.
  std::size_t max_pending_bytes = 64 * 1024 * 1024;
  // A write that cannot complete within this is a slow consumer.
  // write_deadline, ping_interval and auth_timeout must be > 0 and <= 24h
  // (Broker::Start fails with kInvalidArgument otherwise).
  std::chrono::milliseconds write_deadline{10'000};
  std::chrono::milliseconds ping_interval{120'000};
  int ping_max = 2;
  // Time to send CONNECT when authentication is required.
  std::chrono::milliseconds auth_timeout{2'000};
  // Concurrent client connections; 0 = unlimited.
  std::size_t max_connections = 65'536;
  // Subscriptions per connection; 0 = unlimited.
  std::size_t max_subscriptions = 0;

  // Authentication: a token, or users with passwords (not both). Empty = none.
  std::string auth_token;
  std::vector<UserPassword> users;

  // Where the broker logs; nullptr = nowhere. Must outlive the Broker.
  Logger* logger = nullptr;
};

}  // namespace embed::broker
