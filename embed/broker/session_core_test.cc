#include "embed/broker/session_core.h"

#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace embed::broker {
namespace {

using namespace std::chrono_literals;
using ::testing::HasSubstr;
using ::testing::StartsWith;

// Records what the core asks for; routes nothing unless told to.
class FakeHost : public SessionHost {
 public:
  void Send(ByteView bytes) override { sent.append(bytes); }
  std::size_t Publish(const Message& message) override {
    published.push_back(std::string(message.subject) + "|" + std::string(message.reply_to) +
                        "|" + std::string(message.headers) + "|" +
                        std::string(message.payload));
    return deliveries;
  }
  Result<SubscriptionPtr> Subscribe(std::string_view subject, std::string_view queue_group,
                                    std::string_view sid) override {
    auto subscription = std::make_shared<Subscription>(
        std::string(subject), std::string(queue_group), std::string(sid), nullptr);
    subscribed.push_back(subscription);
    return subscription;
  }
  void Unsubscribe(const SubscriptionPtr& subscription) override {
    subscription->removed = true;
    unsubscribed.push_back(subscription->sid);
  }
  void OnConnected(const wire::ConnectOptions& options) override {
    connected_headers = options.headers;
  }

  // Returns and clears what was sent.
  std::string TakeSent() { return std::exchange(sent, {}); }

  std::string sent;
  std::vector<std::string> published;
  std::vector<SubscriptionPtr> subscribed;
  std::vector<std::string> unsubscribed;
  std::size_t deliveries = 1;
  bool connected_headers = false;
};

constexpr std::string_view kQuietConnect =
    "CONNECT {\"verbose\":false,\"pedantic\":false,\"protocol\":1}\r\n";
constexpr std::string_view kHeadersConnect =
    "CONNECT {\"verbose\":false,\"pedantic\":false,\"protocol\":1,\"headers\":true,"
    "\"no_responders\":true}\r\n";

class SessionCoreTest : public ::testing::Test {
 protected:
  SessionCoreTest() { config_.info.server_id = "NTEST"; }

  SessionCore& Core() {
    if (!core_) {
      core_ = std::make_unique<SessionCore>(config_, host_, 7, "10.1.2.3", now_);
      core_->Start(now_);
      host_.TakeSent();
    }
    return *core_;
  }
  void Feed(std::string_view bytes) { Core().Feed(bytes, now_); }

  SessionConfig config_;
  FakeHost host_;
  SteadyTime now_ = SteadyTime{} + 1h;
  std::unique_ptr<SessionCore> core_;
};

TEST_F(SessionCoreTest, StartSendsInfoWithClientIdAndIp) {
  SessionCore core(config_, host_, 42, "10.9.8.7", now_);
  core.Start(now_);
  EXPECT_THAT(host_.sent, StartsWith("INFO {"));
  EXPECT_THAT(host_.sent, HasSubstr("} \r\n"));
  EXPECT_THAT(host_.sent, HasSubstr("\"client_id\":42"));
  EXPECT_THAT(host_.sent, HasSubstr("\"client_ip\":\"10.9.8.7\""));
  EXPECT_THAT(host_.sent, HasSubstr("\"server_id\":\"NTEST\""));
}

TEST_F(SessionCoreTest, ConnectWithoutVerboseDefaultsToVerbose) {
  Feed("CONNECT {}\r\n");
  EXPECT_EQ(host_.TakeSent(), "+OK\r\n");
  EXPECT_TRUE(Core().is_connected());
  Feed("SUB foo 1\r\n");
  EXPECT_EQ(host_.TakeSent(), "+OK\r\n");
}

TEST_F(SessionCoreTest, QuietConnectSendsNothingAndPingGetsPong) {
  Feed(kQuietConnect);
  Feed("PING\r\n");
  EXPECT_EQ(host_.TakeSent(), "PONG\r\n");
}

TEST_F(SessionCoreTest, ProcessesOpsSplitAtEveryByteBoundary) {
  std::string input = std::string(kQuietConnect) + "SUB foo 1\r\nPUB foo 5\r\nhello\r\nPING\r\n";
  for (std::size_t split = 1; split < input.size(); ++split) {
    FakeHost host;
    SessionCore core(config_, host, 1, "", now_);
    core.Start(now_);
    host.TakeSent();
    core.Feed(std::string_view(input).substr(0, split), now_);
    core.Feed(std::string_view(input).substr(split), now_);
    EXPECT_EQ(host.TakeSent(), "PONG\r\n") << "split at " << split;
    ASSERT_EQ(host.published.size(), 1u) << "split at " << split;
    EXPECT_EQ(host.published[0], "foo|||hello");
    EXPECT_FALSE(core.is_closing());
  }
}

TEST_F(SessionCoreTest, InvalidProtocolIsRejectedAndCloses) {
  Feed("CONNECT {\"verbose\":false,\"protocol\":2}\r\n");
  EXPECT_EQ(host_.TakeSent(), "-ERR 'invalid client protocol'\r\n");
  EXPECT_TRUE(Core().is_closing());
}

TEST_F(SessionCoreTest, NoRespondersWithoutHeadersIsRejectedAndCloses) {
  Feed("CONNECT {\"verbose\":false,\"no_responders\":true}\r\n");
  EXPECT_EQ(host_.TakeSent(), "-ERR 'no responders requires headers support'\r\n");
  EXPECT_TRUE(Core().is_closing());
}

TEST_F(SessionCoreTest, LegacyAccountFieldIsAnAuthorizationViolation) {
  Feed("CONNECT {\"verbose\":false,\"account\":\"A\"}\r\n");
  EXPECT_EQ(host_.TakeSent(), "-ERR 'Authorization Violation'\r\n");
  EXPECT_EQ(Core().close_reason(), CloseReason::kAuthenticationFailure);
}

TEST_F(SessionCoreTest, MalformedConnectJsonClosesWithoutErr) {
  Feed("CONNECT {nope\r\n");
  EXPECT_EQ(host_.TakeSent(), "");
  EXPECT_TRUE(Core().is_closing());
}

TEST_F(SessionCoreTest, PedanticInvalidPublishSubjectIsReportedButStillRouted) {
  Feed("CONNECT {\"verbose\":false,\"pedantic\":true}\r\nPUB foo.* 2\r\nhi\r\n");
  EXPECT_EQ(host_.TakeSent(), "-ERR 'Invalid Publish Subject'\r\n");
  EXPECT_EQ(host_.published.size(), 1u);
  EXPECT_FALSE(Core().is_closing());
}

TEST_F(SessionCoreTest, ReservedReplyPrefixIsAPermissionViolationAndDropped) {
  Feed(kQuietConnect);
  Feed("PUB foo _R_.x 2\r\nhi\r\n");
  EXPECT_EQ(host_.TakeSent(),
            "-ERR 'Permissions Violation for Publish with Reply of \"_R_.x\"'\r\n");
  EXPECT_TRUE(host_.published.empty());
  EXPECT_FALSE(Core().is_closing());
}

TEST_F(SessionCoreTest, InvalidSubscribeSubjectKeepsTheConnection) {
  Feed(kQuietConnect);
  Feed("SUB foo..bar 1\r\n");
  EXPECT_EQ(host_.TakeSent(), "-ERR 'Invalid Subject'\r\n");
  EXPECT_FALSE(Core().is_closing());
  EXPECT_TRUE(host_.subscribed.empty());
}

TEST_F(SessionCoreTest, DuplicateSidKeepsTheFirstSubscription) {
  Feed(kQuietConnect);
  Feed("SUB foo 1\r\nSUB bar 1\r\n");
  ASSERT_EQ(host_.subscribed.size(), 1u);
  EXPECT_EQ(host_.subscribed[0]->subject, "foo");
}

TEST_F(SessionCoreTest, MaxSubscriptionsIsEnforcedWithoutClosing) {
  config_.max_subscriptions = 2;
  Feed(kQuietConnect);
  Feed("SUB a 1\r\nSUB b 2\r\nSUB c 3\r\n");
  EXPECT_EQ(host_.TakeSent(), "-ERR 'maximum subscriptions exceeded'\r\n");
  EXPECT_EQ(host_.subscribed.size(), 2u);
  EXPECT_FALSE(Core().is_closing());
  Feed("UNSUB 1\r\nSUB c 3\r\n");
  EXPECT_EQ(host_.TakeSent(), "");
  EXPECT_EQ(host_.subscribed.size(), 3u);
}

TEST_F(SessionCoreTest, UnsubWithoutMaxRemovesAtOnce) {
  Feed(kQuietConnect);
  Feed("SUB foo 1\r\nUNSUB 1 \r\n");
  EXPECT_EQ(host_.unsubscribed, std::vector<std::string>{"1"});
  EXPECT_EQ(Core().subscription_count(), 0u);
}

TEST_F(SessionCoreTest, UnsubWithMaxAboveDeliveredSetsTheLimit) {
  Feed(kQuietConnect);
  Feed("SUB foo 1\r\n");
  host_.subscribed[0]->delivered = 2;
  Feed("UNSUB 1 5\r\n");
  EXPECT_TRUE(host_.unsubscribed.empty());
  EXPECT_EQ(host_.subscribed[0]->max_msgs.load(), 5u);
}

TEST_F(SessionCoreTest, UnsubWithMaxAlreadyReachedRemovesAtOnce) {
  Feed(kQuietConnect);
  Feed("SUB foo 1\r\n");
  host_.subscribed[0]->delivered = 5;
  Feed("UNSUB 1 3\r\n");
  EXPECT_EQ(host_.unsubscribed, std::vector<std::string>{"1"});
}

TEST_F(SessionCoreTest, UnsubOfAnUnknownSidIsIgnored) {
  Feed("CONNECT {\"pedantic\":false}\r\n");
  host_.TakeSent();
  Feed("UNSUB 99\r\n");
  EXPECT_EQ(host_.TakeSent(), "+OK\r\n");
  EXPECT_FALSE(Core().is_closing());
}

TEST_F(SessionCoreTest, HPubWithoutHeadersNegotiatedClosesWithoutErr) {
  Feed(kQuietConnect);
  Feed("HPUB foo 12 12\r\nNATS/1.0\r\n\r\n\r\n");
  EXPECT_EQ(host_.TakeSent(), "");
  EXPECT_TRUE(Core().is_closing());
  EXPECT_TRUE(host_.published.empty());
}

TEST_F(SessionCoreTest, HPubWithHeadersIsRoutedWithHeaderBlock) {
  Feed(kHeadersConnect);
  Feed("HPUB foo 22 24\r\nNATS/1.0\r\nBar: Baz\r\n\r\nhi\r\n");
  ASSERT_EQ(host_.published.size(), 1u);
  EXPECT_EQ(host_.published[0], "foo||NATS/1.0\r\nBar: Baz\r\n\r\n|hi");
  EXPECT_TRUE(host_.connected_headers);
}

TEST_F(SessionCoreTest, NoRespondersGoesToTheRequestersOwnReplySubscription) {
  Feed(kHeadersConnect);
  Feed("SUB _INBOX.abc.* 9\r\n");
  host_.deliveries = 0;
  Feed("PUB service _INBOX.abc.1 0\r\n\r\n");
  EXPECT_EQ(host_.TakeSent(), "HMSG _INBOX.abc.1 9 16 16\r\nNATS/1.0 503\r\n\r\n\r\n");
}

TEST_F(SessionCoreTest, NoRespondersNeedsAMatchingSubscription) {
  Feed(kHeadersConnect);
  host_.deliveries = 0;
  Feed("PUB service _INBOX.abc.1 0\r\n\r\n");
  EXPECT_EQ(host_.TakeSent(), "");
}

TEST_F(SessionCoreTest, NoRespondersIsNotSentWhenSomeoneReceived) {
  Feed(kHeadersConnect);
  Feed("SUB _INBOX.abc.* 9\r\n");
  host_.deliveries = 1;
  Feed("PUB service _INBOX.abc.1 0\r\n\r\n");
  EXPECT_EQ(host_.TakeSent(), "");
}

TEST_F(SessionCoreTest, UnknownOperationGetsErrAndCloses) {
  Feed(kQuietConnect);
  Feed("FOO bar\r\n");
  EXPECT_EQ(host_.TakeSent(), "-ERR 'Unknown Protocol Operation'\r\n");
  EXPECT_EQ(Core().close_reason(), CloseReason::kProtocolViolation);
}

TEST_F(SessionCoreTest, PayloadOverMaxIsAViolationAndCloses) {
  config_.limits.max_payload_bytes = 8;
  Feed(kQuietConnect);
  Feed("PUB foo 9\r\n");
  EXPECT_EQ(host_.TakeSent(), "-ERR 'Maximum Payload Violation'\r\n");
  EXPECT_EQ(Core().close_reason(), CloseReason::kMaxPayloadExceeded);
}

TEST_F(SessionCoreTest, ControlLineOverMaxIsAViolationAndCloses) {
  config_.limits.max_control_line_bytes = 32;
  Feed(kQuietConnect);
  Feed("SUB " + std::string(64, 'a') + " 1\r\n");
  EXPECT_EQ(host_.TakeSent(), "-ERR 'maximum control line exceeded'\r\n");
  EXPECT_EQ(Core().close_reason(), CloseReason::kMaxControlLineExceeded);
}

TEST_F(SessionCoreTest, BadSizeClosesWithoutErr) {
  Feed(kQuietConnect);
  Feed("PUB foo x\r\n");
  EXPECT_EQ(host_.TakeSent(), "");
  EXPECT_TRUE(Core().is_closing());
}

TEST_F(SessionCoreTest, ClientErrClosesWithoutReply) {
  Feed(kQuietConnect);
  Feed("-ERR 'boom'\r\n");
  EXPECT_EQ(host_.TakeSent(), "");
  EXPECT_TRUE(Core().is_closing());
}

TEST_F(SessionCoreTest, TokenAuthAcceptsTheRightToken) {
  config_.auth_token = "s3cret";
  Feed("CONNECT {\"verbose\":false,\"auth_token\":\"s3cret\"}\r\nPING\r\n");
  EXPECT_EQ(host_.TakeSent(), "PONG\r\n");
  EXPECT_TRUE(Core().is_connected());
}

TEST_F(SessionCoreTest, TokenAuthRejectsAWrongToken) {
  config_.auth_token = "s3cret";
  Feed("CONNECT {\"verbose\":false,\"auth_token\":\"nope\"}\r\n");
  EXPECT_EQ(host_.TakeSent(), "-ERR 'Authorization Violation'\r\n");
  EXPECT_TRUE(Core().is_closing());
}

TEST_F(SessionCoreTest, UserPasswordAuthChecksBoth) {
  config_.users = {{"alice", "pw1"}, {"bob", "pw2"}};
  Feed("CONNECT {\"verbose\":false,\"user\":\"bob\",\"pass\":\"pw2\"}\r\nPING\r\n");
  EXPECT_EQ(host_.TakeSent(), "PONG\r\n");

  FakeHost other;
  SessionCore wrong(config_, other, 2, "", now_);
  wrong.Feed("CONNECT {\"verbose\":false,\"user\":\"bob\",\"pass\":\"pw1\"}\r\n", now_);
  EXPECT_EQ(other.TakeSent(), "-ERR 'Authorization Violation'\r\n");
}

TEST_F(SessionCoreTest, FirstOpMustBeConnectWhenAuthIsRequired) {
  config_.auth_token = "s3cret";
  Feed("PING\r\n");
  EXPECT_EQ(host_.TakeSent(), "-ERR 'Authorization Violation'\r\n");
  EXPECT_TRUE(Core().is_closing());
}

TEST_F(SessionCoreTest, PayloadBeforeConnectIsAnAuthorizationViolationWithoutBuffering) {
  config_.auth_token = "s3cret";
  Feed("PUB a 1048576\r\n");
  EXPECT_EQ(host_.TakeSent(), "-ERR 'Authorization Violation'\r\n");
  EXPECT_TRUE(Core().is_closing());
  EXPECT_EQ(Core().close_reason(), CloseReason::kAuthenticationFailure);
}

TEST_F(SessionCoreTest, PayloadLimitIsRestoredAfterAnAuthenticatedConnect) {
  config_.auth_token = "s3cret";
  Feed("CONNECT {\"verbose\":false,\"auth_token\":\"s3cret\"}\r\nPUB a 5\r\nhello\r\n");
  EXPECT_FALSE(Core().is_closing());
  ASSERT_EQ(host_.published.size(), 1u);
  EXPECT_EQ(host_.published[0], "a|||hello");
}

TEST_F(SessionCoreTest, AuthTimeoutFiresWithoutConnect) {
  config_.auth_token = "s3cret";
  config_.auth_timeout = 100ms;
  Core().OnTick(now_ + 50ms);
  EXPECT_FALSE(Core().is_closing());
  Core().OnTick(now_ + 100ms);
  EXPECT_EQ(host_.TakeSent(), "-ERR 'Authentication Timeout'\r\n");
  EXPECT_EQ(Core().close_reason(), CloseReason::kAuthenticationTimeout);
}

TEST_F(SessionCoreTest, NoAuthTimeoutWithoutAuth) {
  config_.auth_timeout = 100ms;
  Core().OnTick(now_ + 1s);
  EXPECT_FALSE(Core().is_closing());
}

TEST_F(SessionCoreTest, SilentClientIsPingedThenStale) {
  config_.ping_interval = 100ms;
  config_.ping_max = 2;
  Feed(kQuietConnect);
  Core().OnTick(now_ + 100ms);
  EXPECT_EQ(host_.TakeSent(), "PING\r\n");
  Core().OnTick(now_ + 200ms);
  EXPECT_EQ(host_.TakeSent(), "PING\r\n");
  Core().OnTick(now_ + 300ms);
  EXPECT_EQ(host_.TakeSent(), "-ERR 'Stale Connection'\r\n");
  EXPECT_EQ(Core().close_reason(), CloseReason::kStaleConnection);
}

TEST_F(SessionCoreTest, PongResetsOutstandingPings) {
  config_.ping_interval = 100ms;
  config_.ping_max = 1;
  Feed(kQuietConnect);
  Core().OnTick(now_ + 100ms);
  EXPECT_EQ(host_.TakeSent(), "PING\r\n");
  Core().Feed("PONG\r\n", now_ + 150ms);
  Core().OnTick(now_ + 300ms);
  EXPECT_EQ(host_.TakeSent(), "PING\r\n");
  EXPECT_FALSE(Core().is_closing());
}

TEST_F(SessionCoreTest, ActiveClientWithKnownRttIsNotPinged) {
  config_.ping_interval = 100ms;
  Feed(kQuietConnect);
  Core().OnTick(now_ + 100ms);
  Core().Feed("PONG\r\n", now_ + 110ms);
  host_.TakeSent();
  Core().Feed("PUB foo 0\r\n\r\n", now_ + 190ms);
  Core().OnTick(now_ + 200ms);
  EXPECT_EQ(host_.TakeSent(), "");
}

TEST_F(SessionCoreTest, AutoUnsubscribedSubscriptionsDoNotAccumulate) {
  Feed(kQuietConnect);
  for (int i = 0; i < 10000; ++i) {
    std::string sid = std::to_string(i);
    Feed("SUB _INBOX." + sid + " " + sid + "\r\nUNSUB " + sid + " 1\r\n");
    // The router delivers the reply and removes the subscription from the
    // index on its own (max reached), without telling the session.
    host_.subscribed.back()->delivered = 1;
    host_.subscribed.back()->removed = true;
    Feed("PUB svc _INBOX." + sid + " 0\r\n\r\n");
  }
  EXPECT_FALSE(Core().is_closing());
  EXPECT_EQ(host_.subscribed.size(), 10000u);
  EXPECT_LE(Core().subscription_count(), 64u);
}

TEST_F(SessionCoreTest, ReleaseSubscriptionsRemovesEverySubscription) {
  Feed(kQuietConnect);
  Feed("SUB a 1\r\nSUB b 2\r\nSUB c q 3\r\n");
  Core().ReleaseSubscriptions();
  EXPECT_EQ(host_.unsubscribed.size(), 3u);
  EXPECT_EQ(Core().subscription_count(), 0u);
}

TEST_F(SessionCoreTest, RejectMaxConnectionsSendsInfoThenErr) {
  SessionCore core(config_, host_, 3, "", now_);
  core.RejectMaxConnections();
  EXPECT_THAT(host_.sent, StartsWith("INFO "));
  EXPECT_THAT(host_.sent, ::testing::EndsWith("-ERR 'maximum connections exceeded'\r\n"));
  EXPECT_TRUE(core.is_closing());
}

}  // namespace
}  // namespace embed::broker
