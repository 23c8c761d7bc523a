#pragma once
// BrokerFixture: a GoogleTest fixture that runs a fresh broker on
// 127.0.0.1:<ephemeral port> per test and connects raw peers to it.
//
//   class PubSub : public embed::testing::BrokerFixture {};
//   TEST_F(PubSub, DeliversToASubscriber) {
//     StartBroker();
//     auto peer = ConnectPeer();   // INFO read, CONNECT + PING/PONG done
//   }

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include <gtest/gtest.h>

#include "embed/broker/broker.h"
#include "embed/broker/broker_options.h"
#include "embed/testing/raw_peer.h"

namespace embed::testing {

class BrokerFixture : public ::testing::Test {
 protected:
  // Options for a test broker: loopback, port 0, two I/O threads.
  static broker::BrokerOptions TestOptions();

  // Starts the broker (fails the test when it cannot).
  void StartBroker(const broker::BrokerOptions& options = TestOptions());
  void TearDown() override;

  broker::Broker& broker() { return *broker_; }
  std::uint16_t port() const { return broker_->port(); }

  // A raw connection, nothing read yet.
  std::unique_ptr<RawPeer> ConnectRaw(int receive_buffer_bytes = 0);
  // A raw connection after INFO, CONNECT `connect_json` and PING/PONG.
  std::unique_ptr<RawPeer> ConnectPeer(
      std::string_view connect_json = R"({"verbose":false,"pedantic":false,"protocol":1})");

 private:
  std::unique_ptr<broker::Broker> broker_;
};

}  // namespace embed::testing
