#pragma once
// Test support: a server under test that a client test can connect to, kill
// (as a crash) and restart on the same port. Implemented over a nats-server
// process here; other kinds (the embed broker) are added by test binaries
// that may depend on them. Not thread-safe.

#include <functional>
#include <memory>
#include <ostream>
#include <string>
#include <vector>

#include "embed/base/result.h"

namespace embed::client::testing {

class TestServer {
 public:
  virtual ~TestServer() = default;
  // "nats://127.0.0.1:<port>" ("tls://..." when TLS is on the NATS port).
  virtual std::string url() const = 0;
  // "ws://127.0.0.1:<port>" or "wss://..."; "" without a WebSocket listener.
  virtual std::string ws_url() const { return {}; }
  // "inproc://<name>" (the same name after Restart()); "" when the server
  // does not run in this process.
  virtual std::string inproc_url() const { return {}; }
  // Stops accepting and drops every connection at once. Idempotent.
  virtual void Kill() = 0;
  // Serves again on the same port; returns once it accepts connections.
  virtual Status Restart() = 0;
};

// Credentials a test server requires: a user and password, or a token.
struct TestServerAuth {
  std::string user;
  std::string password;
  std::string token;
};

// Listeners a test server offers besides plain NATS (files are PEM).
struct TestServerTransports {
  // TLS on the NATS port when cert_file is set (the server sends INFO in
  // plaintext, then expects the handshake); with verify_clients the server
  // requires a client certificate signed by ca_file (mutual TLS).
  std::string cert_file;
  std::string key_file;
  std::string ca_file;
  bool verify_clients = false;
  // A WebSocket listener on its own ephemeral port: ws://, or wss:// with
  // ws_tls (using cert_file and key_file).
  bool websocket = false;
  bool ws_tls = false;
  bool ws_compression = false;
};

// A named way to start a fresh server on an ephemeral loopback port, open or
// requiring credentials, or with more listeners (start_with_transports may
// be empty: the kind has none; the server's url() is then tls://... when TLS
// is on, and ws_url() gives the WebSocket URL).
struct TestServerKind {
  std::string name;
  std::function<Result<std::unique_ptr<TestServer>>()> start;
  std::function<Result<std::unique_ptr<TestServer>>(const TestServerAuth&)> start_with_auth;
  std::function<Result<std::unique_ptr<TestServer>>(const TestServerTransports&)>
      start_with_transports;
};

// Lets GoogleTest print the kind by name.
inline void PrintTo(const TestServerKind& kind, std::ostream* out) { *out << kind.name; }

// nats-server ($EMBED_NATS_SERVER, /usr/sbin/nats-server or the PATH).
TestServerKind NatsServerKind();

// More kinds, defined by a test binary that can depend on them (the interop
// binary adds the embed broker); only binaries built with
// EMBED_CLIENT_TEST_EXTRA_SERVER_KINDS call it.
std::vector<TestServerKind> ExtraServerKinds();

}  // namespace embed::client::testing
