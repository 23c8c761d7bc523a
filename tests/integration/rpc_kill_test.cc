// A service process killed (SIGKILL) in the middle of a stream: the caller
// learns it within a bounded time, and calls then go to a live instance.

#include <csignal>

#include <gtest/gtest.h>

#include "tests/cli/subprocess.h"
#include "tests/integration/rpc_test_util.h"

namespace embed::rpc::testing {
namespace {

using std::chrono::milliseconds;
using Clock = std::chrono::steady_clock;
using cli_test::Subprocess;

class RpcKillTest : public RpcFixture {
 protected:
  std::unique_ptr<Subprocess> StartPeer() {
    auto peer = Subprocess::Start({EMBED_RPC_TEST_PEER, url()});
    EXPECT_NE(peer, nullptr);
    if (peer) {
      EXPECT_TRUE(peer->WaitForLine("ready", std::chrono::seconds(10)).has_value());
    }
    return peer;
  }
};

TEST_F(RpcKillTest, ServerKilledMidStreamIsDetected) {
  auto peer = StartPeer();
  ASSERT_NE(peer, nullptr);
  ChannelOptions options;
  options.keepalive_interval = milliseconds(200);
  Channel channel(Connect(), options);
  auto stream = channel.OpenStream("svc.v1.Peer.Forever", MethodKind::kServerStreaming, "");
  std::string message;
  for (int i = 0; i < 10; ++i) ASSERT_TRUE(stream->Read(&message));
  Clock::time_point killed_at = Clock::now();
  peer->SendSignal(SIGKILL);
  int after = 0;
  while (stream->Read(&message)) ++after;
  RpcStatus status = stream->Finish();
  EXPECT_EQ(status.code(), RpcCode::kUnavailable) << status.ToString();
  // Within three keepalive intervals (plus scheduling slack).
  EXPECT_LT(Clock::now() - killed_at, milliseconds(3 * 200 + 700));
  // What arrived after the kill was written before it: bounded by the window.
  EXPECT_LE(after, static_cast<int>(options.stream_window));
}

TEST_F(RpcKillTest, CallsMoveToTheSurvivingInstance) {
  auto first = StartPeer();
  auto second = StartPeer();
  ASSERT_NE(first, nullptr);
  ASSERT_NE(second, nullptr);
  Channel channel(Connect());
  std::string response;
  for (int i = 0; i < 20; ++i) ASSERT_TRUE(channel.CallUnary("svc.v1.Peer.Echo", "x", &response).ok());
  first->SendSignal(SIGKILL);
  EXPECT_TRUE(first->WaitForExit(std::chrono::seconds(5)).has_value());
  // The broker notices the closed socket; calls then reach the survivor only.
  int ok = 0;
  for (int i = 0; i < 50; ++i) {
    CallOptions options;
    options.timeout = milliseconds(500);
    if (channel.CallUnary("svc.v1.Peer.Echo", "x", &response, options).ok()) ++ok;
  }
  EXPECT_GE(ok, 49);
}

}  // namespace
}  // namespace embed::rpc::testing
