#pragma once
// Server URLs as NATS clients accept them: "nats://host:port",
// "nats://user:pass@host:port", "nats://token@host:port", "host:port",
// "host" (port 4222), "[::1]:4222". Pure functions, thread-safe.

#include <cstdint>
#include <string>
#include <string_view>

#include "embed/base/result.h"

namespace embed::client {

inline constexpr std::uint16_t kDefaultNatsPort = 4222;

struct ServerUrl {
  std::string host;  // without brackets for IPv6
  std::uint16_t port = kDefaultNatsPort;
  // Credentials carried by the URL; empty when absent.
  std::string user;
  std::string password;
  std::string token;

  // "nats://host:port", without credentials (safe to log and to report).
  std::string ToString() const;
};

// Parses one URL. kInvalidArgument for an unsupported scheme (only nats://
// and none), an empty host or a bad port.
Result<ServerUrl> ParseServerUrl(std::string_view url);

}  // namespace embed::client
