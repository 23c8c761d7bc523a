#include "embed/client/reconnect_policy.h"

#include <vector>

#include <gtest/gtest.h>

namespace embed::client {
namespace {

using namespace std::chrono_literals;

const SteadyTime kStart{};

TEST(ReconnectPolicy, RetriesTheOnlyServerAfterTheWaitPlusJitter) {
  ReconnectPolicy policy(1, -1, 100ms, 20ms);
  policy.OnAttempt(0, kStart);
  policy.OnConnected();
  // Connected long ago: the first retry is immediate.
  auto now = kStart + 1s;
  auto next = policy.Next(now, 0.5);
  ASSERT_TRUE(next.has_value());
  EXPECT_EQ(next->server_index, 0u);
  EXPECT_EQ(next->delay, Duration::zero());
  policy.OnAttempt(0, now);
  // Failed at once: the next retry waits the rest of the wait plus jitter.
  next = policy.Next(now + 10ms, 0.5);
  ASSERT_TRUE(next.has_value());
  EXPECT_EQ(next->delay, Duration(90ms + 10ms));
}

TEST(ReconnectPolicy, BacksOffExponentiallyUpToTheMaximumWait) {
  ReconnectPolicy policy(1, -1, 100ms, 0ms, 350ms);
  auto now = kStart;
  policy.OnAttempt(0, now);
  policy.OnConnected();
  now += 1s;  // lost the connection long after connecting
  std::vector<Duration> delays;
  for (int i = 0; i < 5; ++i) {
    auto next = policy.Next(now, 0.0);
    ASSERT_TRUE(next.has_value());
    delays.push_back(next->delay);
    now += next->delay;
    policy.OnAttempt(0, now);  // fails at once
  }
  EXPECT_EQ(delays, (std::vector<Duration>{Duration::zero(), Duration(100ms), Duration(200ms),
                                           Duration(350ms), Duration(350ms)}));
  // A connection restarts the backoff.
  policy.OnConnected();
  policy.OnAttempt(0, now);
  EXPECT_EQ(policy.Next(now, 0.0)->delay, Duration(100ms));
}

TEST(ReconnectPolicy, KeepsTheWaitConstantWithoutAMaximumAboveIt) {
  ReconnectPolicy policy(1, -1, 100ms, 0ms);
  auto now = kStart;
  for (int i = 0; i < 4; ++i) policy.OnAttempt(0, now);
  EXPECT_EQ(policy.Next(now, 0.0)->delay, Duration(100ms));
}

TEST(ReconnectPolicy, GoesRoundRobinOverServers) {
  ReconnectPolicy policy(3, -1, 100ms, 0ms);
  policy.OnAttempt(0, kStart);
  auto next = policy.Next(kStart, 0);
  ASSERT_TRUE(next.has_value());
  EXPECT_EQ(next->server_index, 1u);
  EXPECT_EQ(next->delay, Duration::zero());  // never tried
  policy.OnAttempt(1, kStart);
  next = policy.Next(kStart, 0);
  ASSERT_TRUE(next.has_value());
  EXPECT_EQ(next->server_index, 2u);
  policy.OnAttempt(2, kStart);
  next = policy.Next(kStart + 30ms, 0);
  ASSERT_TRUE(next.has_value());
  EXPECT_EQ(next->server_index, 0u);
  EXPECT_EQ(next->delay, Duration(70ms));
}

TEST(ReconnectPolicy, GivesUpWhenEveryServerUsedItsAttempts) {
  ReconnectPolicy policy(2, 2, 10ms, 0ms);
  std::optional<ReconnectPolicy::Attempt> next;
  SteadyTime now = kStart;
  policy.OnAttempt(0, now);
  int attempts = 1;
  while ((next = policy.Next(now, 0))) {
    now += next->delay;
    policy.OnAttempt(next->server_index, now);
    ++attempts;
    ASSERT_LE(attempts, 4);
  }
  EXPECT_EQ(attempts, 4);
  EXPECT_EQ(policy.attempts(0), 2);
  EXPECT_EQ(policy.attempts(1), 2);
}

TEST(ReconnectPolicy, RestartsTheCountsAfterAConnection) {
  ReconnectPolicy policy(1, 1, 10ms, 0ms);
  policy.OnAttempt(0, kStart);
  EXPECT_FALSE(policy.Next(kStart, 0).has_value());
  policy.OnConnected();
  EXPECT_TRUE(policy.Next(kStart, 0).has_value());
}

TEST(ReconnectPolicy, NeverReconnectsWithZeroAttempts) {
  ReconnectPolicy policy(2, 0, 10ms, 0ms);
  EXPECT_FALSE(policy.Next(kStart, 0).has_value());
}

}  // namespace
}  // namespace embed::client
