#pragma once
// Options of a client connection. Defaults follow nats.go where it has one.
// No Asio or OpenSSL here: TLS is configured by file names.

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "embed/base/status.h"

namespace embed {
class Logger;
}

namespace embed::client {

enum class ConnectionState { kConnecting, kConnected, kReconnecting, kDraining, kClosed };

// What the state callback reports.
enum class ConnectionEvent { kConnected, kDisconnected, kReconnected, kClosed };

std::string_view ConnectionEventName(ConnectionEvent event);

struct TlsOptions;
// kInvalidArgument naming the field when the TLS options cannot work
// (a certificate without its key or the reverse). Files are checked when
// the connection creates its TLS context.
Status ValidateTlsOptions(const TlsOptions& tls);

// TLS of tls://, wss:// and of nats:// when the server requires TLS or these
// options are configured (is_configured(): nats:// then upgrades like
// tls://, and a ws:// URL is refused). Files are PEM.
struct TlsOptions {
  // CA bundle the server certificate is verified with; empty = the system's.
  std::string ca_file;
  // Client certificate (chain) and its key, for servers that require one
  // (mutual TLS). Both or neither.
  std::string cert_file;
  std::string key_file;
  // Verify the server's certificate and host name. Off only for tests.
  bool verify = true;
  // Name sent in SNI and checked against the certificate; empty = the URL's host.
  std::string server_name;

  // Anything set (a file, verify off, a server name): TLS is wanted even on
  // a nats:// URL.
  bool is_configured() const {
    return !ca_file.empty() || !cert_file.empty() || !key_file.empty() || !verify ||
           !server_name.empty();
  }
};

struct ConnectionOptions {
  // Servers to try, in order then round-robin: "nats://host:port",
  // "nats://user:pass@host:port", "nats://token@host:port", "host:port",
  // "tls://host:port", "ws://host:port/path", "wss://host:port/path",
  // "inproc://<name>" (server_url.h).
  std::vector<std::string> urls = {"nats://127.0.0.1:4222"};
  // TLS settings (see TlsOptions).
  TlsOptions tls;
  // ws:// and wss://: offer permessage-deflate (used when the server agrees).
  bool ws_compression = false;
  // Credentials used when the URL carries none.
  std::string user;
  std::string password;
  std::string token;
  // Shown in the server's connection list.
  std::string name;
  // Deliver this connection's own publishes to its own subscriptions.
  bool echo = true;

  // Bounds each of the two phases of an attempt: reaching the server (DNS,
  // TCP connect, for wss:// the TLS handshake, for ws(s):// the upgrade),
  // then the NATS handshake (INFO, for tls:// the TLS handshake, CONNECT and
  // its PONG). An attempt can so take up to twice this.
  std::chrono::milliseconds connect_timeout{2'000};
  // Reconnect: attempts per server, -1 = forever. A server is retried after
  // reconnect_wait + random jitter; the wait doubles with each further failed
  // attempt on that server, up to reconnect_wait_max (not above
  // reconnect_wait = constant, as nats.go).
  bool allow_reconnect = true;
  int max_reconnect_attempts = 60;
  std::chrono::milliseconds reconnect_wait{2'000};
  std::chrono::milliseconds reconnect_wait_max{10'000};
  std::chrono::milliseconds reconnect_jitter{100};
  // Publishes buffered while disconnected; beyond this Publish fails with
  // kResourceExhausted.
  std::size_t reconnect_buffer_bytes = 8 * 1024 * 1024;

  std::chrono::milliseconds ping_interval{120'000};
  int max_pings_outstanding = 2;

  // Default per-subscription pending limits before a slow-consumer error.
  std::size_t pending_messages_limit = 512 * 1024;
  std::size_t pending_bytes_limit = 64 * 1024 * 1024;

  // Prefix of the shared request inbox.
  std::string inbox_prefix = "_INBOX";

  // Connection state changes, called on the dispatcher thread.
  std::function<void(ConnectionEvent)> on_event;
  // Asynchronous errors (server -ERR that keeps the connection, slow consumer
  // on a subscription), called on the dispatcher thread.
  std::function<void(const Status&)> on_error;

  Logger* logger = nullptr;  // nullptr = silent; must outlive the Connection
};

}  // namespace embed::client
