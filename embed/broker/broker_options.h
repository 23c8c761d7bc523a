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

// TLS for the NATS port and (unless WebSocketOptions::no_tls) the WebSocket
// port. On when cert_file is set. The NATS port works the way nats-server's
// does: INFO (with tls_required) in clear, then the TLS handshake.
struct TlsOptions {
  std::string cert_file;  // PEM certificate chain
  std::string key_file;   // PEM private key
  std::string ca_file;    // PEM CAs that client certificates must chain to
  // Require and verify a client certificate (mTLS); needs ca_file.
  bool verify_clients = false;
  // A client that has not finished the handshake by then is dropped.
  std::chrono::milliseconds handshake_timeout{2'000};

  bool enabled() const { return !cert_file.empty(); }
};

// The WebSocket listener (nats-wire.md §7): same protocol, limits and auth
// as the NATS port, for browsers and other WebSocket-only clients.
struct WebSocketOptions {
  bool enabled = false;
  std::string host = "127.0.0.1";
  std::uint16_t port = 8080;  // 0 = ephemeral; Broker::ws_port() reports it
  // permessage-deflate when the client offers it.
  bool compression = true;
  // Plain ws:// even when BrokerOptions::tls is set.
  bool no_tls = false;
  // Time for the HTTP upgrade (and the TLS handshake before it, for wss).
  std::chrono::milliseconds handshake_timeout{2'000};
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

  TlsOptions tls;
  WebSocketOptions websocket;
  // In-process clients reach the broker at "inproc://<in_process_name>"
  // without a socket (Broker::in_process_url()). Empty = a unique name.
  // Start() fails with kAlreadyExists when another broker has the name.
  std::string in_process_name;

  // Where the broker logs; nullptr = nowhere. Must outlive the Broker.
  Logger* logger = nullptr;
};

}  // namespace embed::broker
