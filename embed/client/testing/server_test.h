#pragma once
// Test support: a GoogleTest fixture parameterized over TestServerKind. Each
// test gets a fresh server (server_) and connects to it with Options(), a
// fast-reconnecting configuration. Not thread-safe; use from the test thread.
//
//   class MyTest : public testing::ServerTest {
//    protected:
//     MyTest() : ServerTest("my-client") {}
//   };

#include <chrono>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include <gtest/gtest.h>

#include "embed/client/connection.h"
#include "embed/client/connection_options.h"
#include "embed/client/testing/test_server.h"

namespace embed::client::testing {

class ServerTest : public ::testing::TestWithParam<TestServerKind> {
 protected:
  // `client_name` is the name Options() gives the connections.
  explicit ServerTest(std::string client_name) : client_name_(std::move(client_name)) {}

  // Starts the server of the test's kind; fails the test if it cannot.
  void SetUp() override {
    auto server = GetParam().start();
    ASSERT_TRUE(server.ok()) << server.status().ToString();
    server_ = std::move(server).value();
  }

  // Options for server_ that reconnect quickly and without a limit.
  ConnectionOptions Options() const {
    using namespace std::chrono_literals;
    ConnectionOptions options;
    options.urls = {server_->url()};
    options.name = client_name_;
    options.reconnect_wait = 50ms;
    options.reconnect_jitter = 10ms;
    options.max_reconnect_attempts = -1;
    return options;
  }

  // Connects with `options`; on failure records a test failure and returns nullptr.
  std::unique_ptr<Connection> ConnectOrFail(const ConnectionOptions& options) {
    auto connection = Connection::Connect(options);
    EXPECT_TRUE(connection.ok()) << connection.status().ToString();
    return connection.ok() ? std::move(connection).value() : nullptr;
  }
  std::unique_ptr<Connection> ConnectOrFail() { return ConnectOrFail(Options()); }

  std::unique_ptr<TestServer> server_;

 private:
  std::string client_name_;
};

// The server kinds a test binary runs its suites against: nats-server, or
// with EMBED_CLIENT_TEST_EXTRA_SERVER_KINDS (tests/interop) the kinds that
// binary adds, such as the embed broker.
inline std::vector<TestServerKind> ServerKindsUnderTest() {
#ifdef EMBED_CLIENT_TEST_EXTRA_SERVER_KINDS
  return ExtraServerKinds();
#else
  return {NatsServerKind()};
#endif
}

// Names each instantiation after its server kind.
inline std::string ServerKindName(const ::testing::TestParamInfo<TestServerKind>& info) {
  return info.param.name;
}

}  // namespace embed::client::testing
