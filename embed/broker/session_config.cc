#include "embed/broker/session_config.h"

#include <random>

namespace embed::broker {

SessionConfig SessionConfig::FromOptions(const BrokerOptions& options, std::string server_id,
                                         int port) {
  SessionConfig config;
  config.limits = options.limits;
  config.ping_interval = options.ping_interval;
  config.ping_max = options.ping_max;
  config.auth_timeout = options.auth_timeout;
  config.max_subscriptions = options.max_subscriptions;
  config.auth_token = options.auth_token;
  config.users = options.users;
  config.info.server_id = server_id;
  config.info.server_name = options.server_name.empty() ? server_id : options.server_name;
  config.info.version = "2.10.0";
  config.info.proto = 1;
  config.info.go = "embed";
  config.info.host = options.host;
  config.info.port = port;
  config.info.headers = true;
  config.info.auth_required = config.is_auth_required();
  config.info.max_payload = static_cast<std::int64_t>(options.limits.max_payload_bytes);
  return config;
}

std::string NewServerId() {
  static constexpr char kBase32[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
  std::random_device device;
  std::mt19937 generator(device());
  std::uniform_int_distribution<int> pick(0, 31);
  std::string id = "N";
  for (int i = 0; i < 55; ++i) id.push_back(kBase32[pick(generator)]);
  return id;
}

}  // namespace embed::broker
