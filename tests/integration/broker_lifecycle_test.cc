// Start/Stop behaviour of the broker as an embeddable object.
#include <chrono>
#include <memory>

#include <gtest/gtest.h>

#include "embed/broker/broker.h"
#include "embed/testing/broker_fixture.h"
#include "embed/testing/raw_peer.h"

namespace embed::testing {
namespace {

using broker::Broker;
using broker::BrokerOptions;

BrokerOptions LoopbackOptions() {
  BrokerOptions options;
  options.host = "127.0.0.1";
  options.port = 0;
  options.io_threads = 2;
  return options;
}

TEST(BrokerLifecycle, PortZeroBindsAnEphemeralPortReportedByPortAndUrl) {
  auto started = Broker::Start(LoopbackOptions());
  ASSERT_TRUE(started.ok()) << started.status().ToString();
  Broker& broker = **started;
  EXPECT_NE(broker.port(), 0);
  EXPECT_EQ(broker.url(), "nats://127.0.0.1:" + std::to_string(broker.port()));
}

TEST(BrokerLifecycle, TwoBrokersRunIndependentlyInOneProcess) {
  auto first = Broker::Start(LoopbackOptions());
  auto second = Broker::Start(LoopbackOptions());
  ASSERT_TRUE(first.ok());
  ASSERT_TRUE(second.ok());
  EXPECT_NE((*first)->port(), (*second)->port());
  auto on_first = RawPeer::Connect((*first)->port());
  auto on_second = RawPeer::Connect((*second)->port());
  ASSERT_TRUE(on_first.ok());
  ASSERT_TRUE(on_second.ok());
  auto first_info = (*on_first)->Handshake();
  auto second_info = (*on_second)->Handshake();
  ASSERT_TRUE(first_info.ok());
  ASSERT_TRUE(second_info.ok());
  EXPECT_NE(*first_info, *second_info);  // distinct server ids
  // A subscription on one broker does not see the other's messages.
  ASSERT_TRUE((*on_first)->Send("SUB x 1\r\n").ok());
  ASSERT_TRUE((*on_second)->Send("PUB x 1\r\na\r\n").ok());
  ASSERT_TRUE((*on_second)->LinesUntilPong().ok());
  auto lines = (*on_first)->LinesUntilPong();
  ASSERT_TRUE(lines.ok());
  EXPECT_TRUE(lines->empty());
  EXPECT_EQ((*first)->stats().in_msgs, 0u);
  EXPECT_EQ((*second)->stats().in_msgs, 1u);
}

TEST(BrokerLifecycle, StopClosesOpenConnectionsAndIsIdempotent) {
  auto started = Broker::Start(LoopbackOptions());
  ASSERT_TRUE(started.ok());
  auto peer = RawPeer::Connect((*started)->port());
  ASSERT_TRUE(peer.ok());
  ASSERT_TRUE((*peer)->Handshake().ok());
  ASSERT_TRUE((*peer)->Send("SUB a 1\r\n").ok());
  ASSERT_TRUE((*peer)->LinesUntilPong().ok());
  (*started)->Stop();
  EXPECT_TRUE((*peer)->WaitForClose());
  (*started)->Stop();
  EXPECT_FALSE(RawPeer::Connect((*started)->port()).ok());
}

TEST(BrokerLifecycle, StartFailsWithIoErrorWhenThePortIsTaken) {
  auto first = Broker::Start(LoopbackOptions());
  ASSERT_TRUE(first.ok());
  BrokerOptions options = LoopbackOptions();
  options.port = (*first)->port();
  auto second = Broker::Start(options);
  ASSERT_FALSE(second.ok());
  EXPECT_EQ(second.status().code(), StatusCode::kIoError);
}

TEST(BrokerLifecycle, StartRejectsInconsistentOptions) {
  BrokerOptions options = LoopbackOptions();
  options.auth_token = "t";
  options.users = {{"u", "p"}};
  auto started = Broker::Start(options);
  ASSERT_FALSE(started.ok());
  EXPECT_EQ(started.status().code(), StatusCode::kInvalidArgument);
}

TEST(BrokerLifecycle, StartRejectsNonPositiveOrAbsurdTimers) {
  using Field = std::chrono::milliseconds BrokerOptions::*;
  for (Field field : {&BrokerOptions::write_deadline, &BrokerOptions::ping_interval,
                      &BrokerOptions::auth_timeout}) {
    for (std::chrono::milliseconds value :
         {std::chrono::milliseconds(0), std::chrono::milliseconds(-1),
          std::chrono::milliseconds(std::chrono::hours(25))}) {
      BrokerOptions options = LoopbackOptions();
      options.*field = value;
      auto started = Broker::Start(options);
      ASSERT_FALSE(started.ok()) << value.count();
      EXPECT_EQ(started.status().code(), StatusCode::kInvalidArgument);
    }
  }
}

TEST(BrokerLifecycle, ZeroMaxConnectionsMeansUnlimited) {
  BrokerOptions options = LoopbackOptions();
  options.max_connections = 0;
  auto started = Broker::Start(options);
  ASSERT_TRUE(started.ok());
  auto first = RawPeer::Connect((*started)->port());
  auto second = RawPeer::Connect((*started)->port());
  ASSERT_TRUE(first.ok());
  ASSERT_TRUE(second.ok());
  EXPECT_TRUE((*first)->Handshake().ok());
  EXPECT_TRUE((*second)->Handshake().ok());
}

TEST(BrokerLifecycle, ZeroIoThreadsMeansOnePerCore) {
  BrokerOptions options = LoopbackOptions();
  options.io_threads = 0;
  auto started = Broker::Start(options);
  ASSERT_TRUE(started.ok());
  auto peer = RawPeer::Connect((*started)->port());
  ASSERT_TRUE(peer.ok());
  EXPECT_TRUE((*peer)->Handshake().ok());
}

TEST(BrokerLifecycle, ManyConnectionsAreCountedAndReleased) {
  auto started = Broker::Start(LoopbackOptions());
  ASSERT_TRUE(started.ok());
  std::vector<std::unique_ptr<RawPeer>> peers;
  for (int i = 0; i < 50; ++i) {
    auto peer = RawPeer::Connect((*started)->port());
    ASSERT_TRUE(peer.ok());
    ASSERT_TRUE((*peer)->Handshake().ok());
    peers.push_back(std::move(peer).value());
  }
  EXPECT_EQ((*started)->stats().connections, 50u);
  EXPECT_EQ((*started)->stats().total_connections, 50u);
  (*started)->Stop();
  EXPECT_EQ((*started)->stats().connections, 0u);
}

}  // namespace
}  // namespace embed::testing
