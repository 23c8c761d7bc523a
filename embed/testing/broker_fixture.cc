#include "embed/testing/broker_fixture.h"

namespace embed::testing {

broker::BrokerOptions BrokerFixture::TestOptions() {
  broker::BrokerOptions options;
  options.host = "127.0.0.1";
  options.port = 0;
  options.io_threads = 2;
  return options;
}

void BrokerFixture::StartBroker(const broker::BrokerOptions& options) {
  auto started = broker::Broker::Start(options);
  ASSERT_TRUE(started.ok()) << started.status().ToString();
  broker_ = std::move(started).value();
}

void BrokerFixture::TearDown() {
  if (broker_) broker_->Stop();
  broker_.reset();
}

std::unique_ptr<RawPeer> BrokerFixture::ConnectRaw(int receive_buffer_bytes) {
  auto peer = RawPeer::Connect(port(), receive_buffer_bytes);
  EXPECT_TRUE(peer.ok()) << peer.status().ToString();
  if (!peer.ok()) return nullptr;
  return std::move(peer).value();
}

std::unique_ptr<RawPeer> BrokerFixture::ConnectPeer(std::string_view connect_json) {
  auto peer = ConnectRaw();
  if (!peer) return nullptr;
  auto info = peer->Handshake(connect_json);
  EXPECT_TRUE(info.ok()) << info.status().ToString();
  if (!info.ok()) return nullptr;
  return peer;
}

}  // namespace embed::testing
