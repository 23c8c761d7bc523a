// A subscriber that stops reading is disconnected as a slow consumer while
// the other subscribers keep their throughput and broker memory stays bounded.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "embed/base/logger.h"
#include "embed/testing/broker_fixture.h"

namespace embed::testing {
namespace {

using namespace std::chrono_literals;

#if defined(__SANITIZE_THREAD__) || defined(__SANITIZE_ADDRESS__)
// Sanitizers slow everything ~10x and unevenly: check behaviour, not speed.
constexpr bool kIsSanitized = true;
#else
constexpr bool kIsSanitized = false;
#endif
// Enough volume that the few MB a stalled reader costs before it is cut
// (kernel buffer + max_pending) are a small share of the run.
constexpr int kMessages = kIsSanitized ? 800'000 : 4'000'000;
constexpr int kRounds = kIsSanitized ? 3 : 7;
constexpr std::size_t kPayloadBytes = 16;
// Until it is cut, the stalled reader is owed a copy of every message: up to
// max_pending (32 MiB) of this run's ~150 MB, so its fair cost is a slowdown
// of up to ~20%, and measured runs land at 0.87-1.0. Head-of-line blocking,
// the failure this test is for, stalls the fast subscriber for the write
// deadline (2 s) and drops the ratio far below this bound.
constexpr double kMinRatio = 0.75;

// Resident set size of this process in bytes (the broker runs in it).
std::size_t ResidentBytes() {
  std::ifstream status("/proc/self/status");
  std::string line;
  while (std::getline(status, line)) {
    if (line.rfind("VmRSS:", 0) == 0) return std::stoul(line.substr(6)) * 1024;
  }
  return 0;
}

class SlowConsumer : public BrokerFixture {
 protected:
  void SetUp() override {
    auto options = TestOptions();
    // Room for ~150 ms of this flow: the fast subscriber (a test thread)
    // must not be cut when a busy machine deschedules it briefly.
    options.max_pending_bytes = 32 * 1024 * 1024;
    options.limits.max_payload_bytes = 64 * 1024;
    options.write_deadline = 2s;
    StartBroker(options);
    std::string payload(kPayloadBytes, 'p');
    for (int i = 0; i < kMessages; ++i) batch_ += "PUB flow 16\r\n" + payload + "\r\n";
    expected_bytes_ = static_cast<std::size_t>(kMessages) * std::strlen("MSG flow 1 16\r\n") +
                      static_cast<std::size_t>(kMessages) * (kPayloadBytes + 2);
  }

  // Publishes the batch from another thread and returns the fast
  // subscriber's messages per second, end to end.
  double MeasureThroughput(bool with_stalled_reader) {
    auto fast = ConnectPeer();
    // Both variants open the same connections in the same order, so each
    // lands on the same I/O thread; only the third one's behaviour differs.
    auto stalled = ConnectRaw(4096);
    EXPECT_TRUE(stalled->Handshake().ok());
    if (with_stalled_reader) {
      EXPECT_TRUE(stalled->Send("SUB flow 1\r\n").ok());
      EXPECT_TRUE(stalled->LinesUntilPong().ok());
    }
    EXPECT_TRUE(fast->Send("SUB flow 1\r\n").ok());
    EXPECT_TRUE(fast->LinesUntilPong().ok());
    auto publisher = ConnectPeer();
    auto started = std::chrono::steady_clock::now();
    std::thread publish([&] { EXPECT_TRUE(publisher->Send(batch_).ok()); });
    Status received = fast->DiscardBytes(expected_bytes_, 60s);
    auto elapsed = std::chrono::steady_clock::now() - started;
    publish.join();
    EXPECT_TRUE(received.ok()) << received.ToString();
    if (with_stalled_reader) {
      // The stalled reader is cut off; it sees the close after its backlog.
      EXPECT_TRUE(stalled->WaitForClose(30s));
    }
    return kMessages / std::chrono::duration<double>(elapsed).count();
  }

  std::string batch_;
  std::size_t expected_bytes_ = 0;
};

TEST_F(SlowConsumer, StalledReaderIsDisconnectedWithoutHurtingOtherSubscribers) {
  std::size_t rss_after_first_round = 0;
  std::vector<double> alone;
  std::vector<double> beside;
  int rounds = 0;
  // Interleaved rounds; each variant's best run is its capacity when the
  // machine (shared with other processes) lets it run undisturbed.
  auto run_rounds = [&] {
    for (int round = 0; round < kRounds; ++round, ++rounds) {
      alone.push_back(MeasureThroughput(false));
      beside.push_back(MeasureThroughput(true));
      if (rounds == 0) rss_after_first_round = ResidentBytes();
    }
  };
  auto best = [](const std::vector<double>& runs) {
    return *std::max_element(runs.begin(), runs.end());
  };
  run_rounds();
  // A busy machine can starve one variant for a whole batch of rounds; more
  // rounds give both another chance at an undisturbed run. A real slowdown
  // persists, since adding rounds only raises the baseline's best.
  for (int extra = 0; extra < 2 && !kIsSanitized && best(beside) < kMinRatio * best(alone);
       ++extra) {
    run_rounds();
  }
  double baseline = best(alone);
  double with_stalled = best(beside);
  std::size_t rss_after = ResidentBytes();
  std::printf(
      "fast subscriber: %.0f msgs/s alone, %.0f msgs/s beside a stalled reader (%d rounds)\n",
      baseline, with_stalled, rounds);
  EXPECT_EQ(broker().stats().slow_consumers, static_cast<std::uint64_t>(rounds));
  if (!kIsSanitized) {
    EXPECT_GE(with_stalled, kMinRatio * baseline);
  }
  // Later stalled readers were each sent ~120 MB; if the broker buffered it,
  // memory would grow by hundreds of MB. Bounded buffering reuses the memory.
  if (!kIsSanitized) {
    EXPECT_LT(rss_after, rss_after_first_round + 48 * 1024 * 1024);
  }
}

class WriteDeadline : public BrokerFixture {};

TEST_F(WriteDeadline, AWriteThatCannotCompleteInTimeClosesTheReader) {
  auto options = TestOptions();
  options.write_deadline = 200ms;  // max_pending stays at 64 MiB: only the deadline can fire
  StartBroker(options);
  auto stalled = ConnectRaw(4096);
  ASSERT_TRUE(stalled->Handshake().ok());
  ASSERT_TRUE(stalled->Send("SUB big 1\r\n").ok());
  ASSERT_TRUE(stalled->LinesUntilPong().ok());
  auto publisher = ConnectPeer();
  // ~16 MiB: more than the kernel buffers of both sockets hold.
  std::string payload(60'000, 'x');
  std::string batch;
  for (int i = 0; i < 280; ++i) batch += "PUB big 60000\r\n" + payload + "\r\n";
  ASSERT_TRUE(publisher->Send(batch).ok());
  // Reading would let the write progress, so watch the counter instead.
  auto deadline = std::chrono::steady_clock::now() + 30s;
  while (broker().stats().slow_consumers == 0 && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::yield();
  }
  EXPECT_EQ(broker().stats().slow_consumers, 1u);
  EXPECT_TRUE(stalled->WaitForClose(30s));
  // The publisher is unaffected.
  EXPECT_TRUE(publisher->LinesUntilPong().ok());
}

}  // namespace
}  // namespace embed::testing
