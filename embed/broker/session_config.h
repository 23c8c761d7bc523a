#pragma once
// SessionConfig: what every session of one broker shares, fixed at Start():
// limits, timers, credentials and the INFO template. Immutable after
// construction, so any thread may read it.

#include <chrono>
#include <cstddef>
#include <string>
#include <vector>

#include "embed/broker/broker_options.h"
#include "embed/wire/limits.h"
#include "embed/wire/server_info.h"

namespace embed::broker {

struct SessionConfig {
  wire::Limits limits;
  std::chrono::milliseconds ping_interval{120'000};
  int ping_max = 2;
  std::chrono::milliseconds auth_timeout{2'000};
  std::size_t max_subscriptions = 0;
  std::string auth_token;
  std::vector<UserPassword> users;
  // INFO without the per-connection fields (client_id, client_ip).
  wire::ServerInfo info;

  bool is_auth_required() const { return !auth_token.empty() || !users.empty(); }

  // Builds the configuration for a broker with `server_id` bound to `port`.
  static SessionConfig FromOptions(const BrokerOptions& options, std::string server_id,
                                   int port);
};

// A fresh server id: 'N' followed by 55 base32 characters, shaped like the
// public nkey nats-server uses.
std::string NewServerId();

}  // namespace embed::broker
