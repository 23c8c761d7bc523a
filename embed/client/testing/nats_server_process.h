#pragma once
// Test support: runs a real nats-server on 127.0.0.1 and an ephemeral port,
// for integration and interop tests of the client. Start() returns once the
// server accepts connections; the destructor kills it. Not thread-safe.
//
//   auto server = NatsServerProcess::Start();
//   options.urls = {(*server)->url()};

#include <cstdint>
#include <memory>
#include <utility>
#include <string>
#include <vector>

#include "embed/base/result.h"
#include "embed/client/testing/test_server.h"

namespace embed::client::testing {

// A loopback TCP port that was free a moment ago (bound to port 0, released).
Result<std::uint16_t> PickFreePort();

class NatsServerProcess final : public TestServer {
 public:
  // Starts `nats-server -a 127.0.0.1 -p <port> <extra_args...>`; port 0 picks
  // a free one. kUnavailable when it does not accept within 10 s.
  static Result<std::unique_ptr<NatsServerProcess>> Start(
      std::uint16_t port = 0, std::vector<std::string> extra_args = {});
  // Starts it with a generated config file (tls and websocket blocks; the
  // WebSocket port is picked once, so Restart() keeps it). kUnavailable when
  // a listener does not accept within 10 s.
  static Result<std::unique_ptr<NatsServerProcess>> StartWithTransports(
      const TestServerTransports& transports, std::uint16_t port = 0);

  ~NatsServerProcess() override;
  NatsServerProcess(const NatsServerProcess&) = delete;
  NatsServerProcess& operator=(const NatsServerProcess&) = delete;

  // Kills the server (SIGKILL, as a crash) and reaps it. Idempotent.
  void Kill() override;
  // Starts it again on the same port and waits until it accepts.
  Status Restart() override;

  std::uint16_t port() const { return port_; }
  std::uint16_t ws_port() const { return ws_port_; }
  // "nats://127.0.0.1:<port>", "tls://..." when TLS is on.
  std::string url() const override;
  // "ws://127.0.0.1:<ws_port>" or "wss://..."; "" without WebSocket.
  std::string ws_url() const override;
  // The generated config ("" when started without one); for failure messages.
  const std::string& config_text() const { return config_text_; }

 private:
  NatsServerProcess(std::uint16_t port, std::vector<std::string> extra_args)
      : port_(port), extra_args_(std::move(extra_args)) {}
  Status Spawn();
  Status WriteConfig();

  std::uint16_t port_;
  std::vector<std::string> extra_args_;
  int pid_ = -1;
  TestServerTransports transports_;
  std::uint16_t ws_port_ = 0;
  std::string config_text_;
  std::string config_path_;
};

}  // namespace embed::client::testing
