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
  // "nats://127.0.0.1:<port>".
  virtual std::string url() const = 0;
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

// A named way to start a fresh server on an ephemeral loopback port, open or
// requiring credentials.
struct TestServerKind {
  std::string name;
  std::function<Result<std::unique_ptr<TestServer>>()> start;
  std::function<Result<std::unique_ptr<TestServer>>(const TestServerAuth&)> start_with_auth;
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
