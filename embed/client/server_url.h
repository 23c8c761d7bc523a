#pragma once
// Server URLs as NATS clients accept them: "nats://host:port",
// "nats://user:pass@host:port", "nats://token@host:port", "host:port",
// "host" (port 4222), "[::1]:4222"; TLS on the NATS port "tls://host:port";
// WebSocket "ws://host:port/path" and "wss://host:port/path" (ports 80 and
// 443 by default); a broker in the same process "inproc://<name>".
// Pure functions, thread-safe.

#include <cstdint>
#include <string>
#include <string_view>

#include "embed/base/result.h"

namespace embed::client {

inline constexpr std::uint16_t kDefaultNatsPort = 4222;
inline constexpr std::uint16_t kDefaultWsPort = 80;
inline constexpr std::uint16_t kDefaultWssPort = 443;

// How a URL reaches its server.
enum class UrlScheme {
  kNats,    // nats://: TCP; TLS when the server requires it or the options ask for it
  kTls,     // tls://: TCP, TLS after the server's plaintext INFO (required)
  kWs,      // ws://: WebSocket over TCP
  kWss,     // wss://: WebSocket over TLS
  kInproc,  // inproc://<name>: an in-process pipe to a broker registered under name
};

// "nats", "tls", "ws", "wss", "inproc".
std::string_view UrlSchemeName(UrlScheme scheme);

struct ServerUrl {
  UrlScheme scheme = UrlScheme::kNats;
  // Without brackets for IPv6; the registered name for inproc://.
  std::string host;
  std::uint16_t port = kDefaultNatsPort;  // 0 for inproc://
  // WebSocket request path ("/" unless the URL gives one); empty otherwise.
  std::string path;
  // Credentials carried by the URL; empty when absent.
  std::string user;
  std::string password;
  std::string token;

  bool is_websocket() const { return scheme == UrlScheme::kWs || scheme == UrlScheme::kWss; }
  // TLS is part of the transport itself (tls://, wss://).
  bool is_tls() const { return scheme == UrlScheme::kTls || scheme == UrlScheme::kWss; }

  // "nats://host:port", "ws://host:port/path" (path shown unless "/"),
  // "inproc://name": without credentials (safe to log and to report).
  // ParseServerUrl(ToString()) gives the same URL without credentials.
  std::string ToString() const;
};

// Parses one URL. kInvalidArgument for an unsupported scheme, an empty host
// or name, a bad port, or a port on inproc://.
Result<ServerUrl> ParseServerUrl(std::string_view url);

}  // namespace embed::client
