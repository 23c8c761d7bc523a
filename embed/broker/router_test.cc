#include "embed/broker/router.h"

#include <map>
#include <memory>
#include <string>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace embed::broker {
namespace {

using ::testing::HasSubstr;

// An outbox that only records flush requests; its bytes are read back
// through pending().
class RecordingOutbox : public Outbox {
 public:
  explicit RecordingOutbox(std::size_t max_pending = 1 << 20) : Outbox(max_pending) {}
  void RequestFlush(int) override { ++flush_requests; }
  std::string pending() {
    std::lock_guard<std::mutex> lock(mutex_);
    return pending_;
  }
  bool is_slow_consumer() {
    std::lock_guard<std::mutex> lock(mutex_);
    return slow_consumer_;
  }
  int flush_requests = 0;
};

SubscriptionPtr MakeSubscription(const std::string& subject, const std::string& queue,
                                 const std::string& sid, std::shared_ptr<Outbox> outbox) {
  return std::make_shared<Subscription>(subject, queue, sid, std::move(outbox));
}

Message Msg(std::string_view subject, std::string_view payload) {
  return Message{subject, {}, {}, payload};
}

TEST(Router, DeliversToEveryMatchingPlainSubscription) {
  Router router;
  RouteBatch batch;
  auto a = std::make_shared<RecordingOutbox>();
  auto b = std::make_shared<RecordingOutbox>();
  ASSERT_TRUE(router.Insert(MakeSubscription("foo.*", "", "1", a)).ok());
  ASSERT_TRUE(router.Insert(MakeSubscription("foo.bar", "", "2", a)).ok());
  ASSERT_TRUE(router.Insert(MakeSubscription(">", "", "3", b)).ok());
  EXPECT_EQ(router.Route(Msg("foo.bar", "hi"), nullptr, true, batch), 3u);
  EXPECT_EQ(a->pending(), "MSG foo.bar 1 2\r\nhi\r\nMSG foo.bar 2 2\r\nhi\r\n");
  EXPECT_EQ(b->pending(), "MSG foo.bar 3 2\r\nhi\r\n");
  // Each receiver is marked dirty once per batch, not once per message.
  EXPECT_EQ(batch.dirty.size(), 2u);
  EXPECT_EQ(batch.out_msgs.load(), 3u);
}

TEST(Router, DeliversToExactlyOneMemberOfEachQueueGroupAndSpreadsLoad) {
  Router router;
  RouteBatch batch;
  std::vector<std::shared_ptr<RecordingOutbox>> members;
  for (int i = 0; i < 3; ++i) {
    members.push_back(std::make_shared<RecordingOutbox>());
    ASSERT_TRUE(router.Insert(MakeSubscription("work", "q", std::to_string(i), members[i])).ok());
  }
  auto other_group = std::make_shared<RecordingOutbox>();
  ASSERT_TRUE(router.Insert(MakeSubscription("work", "r", "9", other_group)).ok());
  for (int i = 0; i < 300; ++i) {
    EXPECT_EQ(router.Route(Msg("work", "x"), nullptr, true, batch), 2u);
  }
  std::size_t total = 0;
  for (auto& member : members) {
    std::size_t count = 0;
    std::string bytes = member->pending();
    for (std::size_t at = bytes.find("MSG"); at != std::string::npos;
         at = bytes.find("MSG", at + 1)) {
      ++count;
    }
    EXPECT_GT(count, 50u);  // random start index spreads the load
    total += count;
  }
  EXPECT_EQ(total, 300u);
}

TEST(Router, EchoFalseSkipsThePublishersOwnSubscriptionsIncludingQueueMembers) {
  Router router;
  RouteBatch batch;
  auto self = std::make_shared<RecordingOutbox>();
  auto other = std::make_shared<RecordingOutbox>();
  ASSERT_TRUE(router.Insert(MakeSubscription("foo", "", "1", self)).ok());
  ASSERT_TRUE(router.Insert(MakeSubscription("foo", "q", "2", self)).ok());
  ASSERT_TRUE(router.Insert(MakeSubscription("foo", "q", "3", other)).ok());
  for (int i = 0; i < 20; ++i) {
    EXPECT_EQ(router.Route(Msg("foo", "x"), self.get(), false, batch), 1u);
  }
  EXPECT_EQ(self->pending(), "");
  EXPECT_THAT(other->pending(), HasSubstr("MSG foo 3 1"));
}

TEST(Router, StopsAtTheUnsubscribeMaxAndRemovesTheSubscription) {
  Router router;
  RouteBatch batch;
  auto outbox = std::make_shared<RecordingOutbox>();
  auto subscription = MakeSubscription("foo", "", "1", outbox);
  ASSERT_TRUE(router.Insert(subscription).ok());
  subscription->max_msgs = 2;
  EXPECT_EQ(router.Route(Msg("foo", "a"), nullptr, true, batch), 1u);
  EXPECT_EQ(router.Route(Msg("foo", "b"), nullptr, true, batch), 1u);
  EXPECT_EQ(router.Route(Msg("foo", "c"), nullptr, true, batch), 0u);
  EXPECT_TRUE(subscription->removed.load());
  EXPECT_EQ(router.subscription_count(), 0u);
  EXPECT_EQ(outbox->pending(), "MSG foo 1 1\r\na\r\nMSG foo 1 1\r\nb\r\n");
}

TEST(Router, RemovesASubscriptionWhoseMaxWasSetAfterItWasPassed) {
  Router router;
  RouteBatch batch;
  auto outbox = std::make_shared<RecordingOutbox>();
  auto subscription = MakeSubscription("foo", "", "1", outbox);
  ASSERT_TRUE(router.Insert(subscription).ok());
  EXPECT_EQ(router.Route(Msg("foo", "a"), nullptr, true, batch), 1u);
  // A racing UNSUB 1 sets the max after that delivery but the session did
  // not see it, so nobody removed the subscription.
  subscription->max_msgs = 1;
  EXPECT_EQ(router.Route(Msg("foo", "b"), nullptr, true, batch), 0u);
  EXPECT_TRUE(subscription->removed.load());
  EXPECT_EQ(router.subscription_count(), 0u);
}

TEST(Router, StripsHeadersForReceiversWithoutHeaderSupport) {
  Router router;
  RouteBatch batch;
  auto plain = std::make_shared<RecordingOutbox>();
  auto with_headers = std::make_shared<RecordingOutbox>();
  with_headers->set_headers_supported(true);
  ASSERT_TRUE(router.Insert(MakeSubscription("foo", "", "1", plain)).ok());
  ASSERT_TRUE(router.Insert(MakeSubscription("foo", "", "2", with_headers)).ok());
  Message message{"foo", "r", "NATS/1.0\r\nA: b\r\n\r\n", "hi"};
  EXPECT_EQ(router.Route(message, nullptr, true, batch), 2u);
  EXPECT_EQ(plain->pending(), "MSG foo 1 r 2\r\nhi\r\n");
  EXPECT_EQ(with_headers->pending(), "HMSG foo 2 r 18 20\r\nNATS/1.0\r\nA: b\r\n\r\nhi\r\n");
}

TEST(Router, MatchCacheSeesSubscriptionsAddedAfterAMatch) {
  Router router;
  RouteBatch batch;
  EXPECT_EQ(router.Route(Msg("foo", "x"), nullptr, true, batch), 0u);
  auto outbox = std::make_shared<RecordingOutbox>();
  auto subscription = MakeSubscription("foo", "", "1", outbox);
  ASSERT_TRUE(router.Insert(subscription).ok());
  EXPECT_EQ(router.Route(Msg("foo", "x"), nullptr, true, batch), 1u);
  EXPECT_TRUE(router.Remove(subscription));
  EXPECT_FALSE(router.Remove(subscription));
  EXPECT_EQ(router.Route(Msg("foo", "x"), nullptr, true, batch), 0u);
}

TEST(Router, RejectsAnInvalidSubject) {
  Router router;
  auto outbox = std::make_shared<RecordingOutbox>();
  EXPECT_FALSE(router.Insert(MakeSubscription("foo..bar", "", "1", outbox)).ok());
  EXPECT_EQ(router.subscription_count(), 0u);
}

TEST(Outbox, BecomesASlowConsumerPastMaxPendingAndDropsItsBuffer) {
  RecordingOutbox outbox(64);
  EXPECT_EQ(outbox.AppendBytes(std::string(40, 'x')), Outbox::AppendResult::kAppendedNeedsFlush);
  EXPECT_EQ(outbox.AppendBytes(std::string(10, 'x')), Outbox::AppendResult::kAppended);
  EXPECT_EQ(outbox.AppendBytes(std::string(20, 'x')), Outbox::AppendResult::kSlowConsumer);
  EXPECT_TRUE(outbox.is_slow_consumer());
  EXPECT_EQ(outbox.pending(), "");
  EXPECT_EQ(outbox.AppendBytes("x"), Outbox::AppendResult::kClosed);
}

}  // namespace
}  // namespace embed::broker
