#include "embed/client/internal/client_core.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace embed::client::internal {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::StartsWith;

constexpr std::string_view kInfo =
    "INFO {\"server_id\":\"NTEST\",\"version\":\"2.9.10\",\"proto\":1,\"headers\":true,"
    "\"max_payload\":1048576} \r\n";
constexpr std::string_view kSmallPayloadInfo =
    "INFO {\"server_id\":\"NTEST\",\"version\":\"2.9.10\",\"proto\":1,\"headers\":true,"
    "\"max_payload\":16} \r\n";

const SteadyTime kStart{};

// One line per event, so sequences compare with ElementsAre.
std::string Describe(const ClientEvent& event) {
  struct Visitor {
    std::string operator()(const ConnectedEvent& e) const {
      return e.is_reconnect ? "reconnected" : "connected";
    }
    std::string operator()(const DisconnectedEvent& e) const {
      return std::string("disconnected ") + std::string(StatusCodeName(e.reason.code())) +
             (e.after == AfterDisconnect::kClose ? " close" : " reconnect");
    }
    std::string operator()(const InfoEvent& e) const { return "info " + e.info.server_id; }
    std::string operator()(const MessageEvent& e) const {
      std::string out = "msg " + std::to_string(e.sid) + " " + e.message.subject;
      if (!e.message.reply_to.empty()) out += " reply=" + e.message.reply_to;
      if (e.message.has_headers) {
        out += " headers=";
        for (const auto& [key, value] : e.message.headers.entries()) out += key + ":" + value + ";";
      }
      return out + " [" + e.message.payload + "]";
    }
    std::string operator()(const ReplyEvent& e) const {
      if (!e.reply.ok()) {
        return "reply " + std::to_string(e.request_id) + " " +
               std::string(StatusCodeName(e.reply.status().code()));
      }
      return "reply " + std::to_string(e.request_id) + " [" + e.reply->payload + "]";
    }
    std::string operator()(const FlushEvent& e) const {
      return "flush " + std::to_string(e.flush_id) + " " +
             std::string(StatusCodeName(e.status.code()));
    }
    std::string operator()(const ErrorEvent& e) const {
      return "error " + std::string(StatusCodeName(e.status.code()));
    }
    std::string operator()(const SubscriptionDoneEvent& e) const {
      return "done " + std::to_string(e.sid);
    }
  };
  return std::visit(Visitor{}, event);
}

std::vector<std::string> TakeEvents(ClientCore& core) {
  std::vector<ClientEvent> events;
  core.TakeEvents(events);
  std::vector<std::string> out;
  for (const auto& event : events) out.push_back(Describe(event));
  return out;
}

std::string TakeOutput(ClientCore& core) {
  std::string out;
  core.TakeOutput(out);
  return out;
}

ClientCoreOptions TestOptions() {
  ClientCoreOptions options;
  options.name = "test";
  options.ping_interval = std::chrono::seconds(10);
  options.max_pings_outstanding = 2;
  options.handshake_timeout = std::chrono::seconds(2);
  options.reconnect_buffer_bytes = 64;
  return options;
}

// A core that completed the handshake, with output and events drained.
void Connect(ClientCore& core, std::string_view info = kInfo) {
  core.StartHandshake(kStart, Credentials{});
  core.Feed(info, kStart);
  TakeOutput(core);
  core.Feed("PONG\r\n", kStart);
  TakeOutput(core);
  TakeEvents(core);
}

TEST(ClientCore, SendsConnectAndPingAfterInfo) {
  ClientCore core(TestOptions());
  core.StartHandshake(kStart, Credentials{});
  EXPECT_FALSE(core.has_output());
  core.Feed(kInfo, kStart);
  const std::string out = TakeOutput(core);
  EXPECT_THAT(out, StartsWith("CONNECT {"));
  EXPECT_THAT(out, HasSubstr("\"verbose\":false"));
  EXPECT_THAT(out, HasSubstr("\"pedantic\":false"));
  EXPECT_THAT(out, HasSubstr("\"protocol\":1"));
  EXPECT_THAT(out, HasSubstr("\"headers\":true"));
  EXPECT_THAT(out, HasSubstr("\"no_responders\":true"));
  EXPECT_THAT(out, HasSubstr("\"echo\":true"));
  EXPECT_THAT(out, HasSubstr("\"name\":\"test\""));
  EXPECT_THAT(out, ::testing::EndsWith("}\r\nPING\r\n"));
  EXPECT_EQ(core.state(), CoreState::kAwaitingPong);
  EXPECT_THAT(TakeEvents(core), IsEmpty());
}

TEST(ClientCore, IsConnectedWhenTheHandshakePongArrives) {
  ClientCore core(TestOptions());
  core.StartHandshake(kStart, Credentials{});
  core.Feed(kInfo, kStart);
  core.Feed("PONG\r\n", kStart);
  EXPECT_TRUE(core.is_connected());
  EXPECT_THAT(TakeEvents(core), ElementsAre("connected"));
  EXPECT_EQ(core.server_info().server_id, "NTEST");
}

TEST(ClientCore, SendsCredentialsInConnect) {
  ClientCore core(TestOptions());
  core.StartHandshake(kStart, Credentials{"alice", "s3cret", ""});
  core.Feed(kInfo, kStart);
  const std::string out = TakeOutput(core);
  EXPECT_THAT(out, HasSubstr("\"user\":\"alice\""));
  EXPECT_THAT(out, HasSubstr("\"pass\":\"s3cret\""));

  ClientCore token_core(TestOptions());
  token_core.StartHandshake(kStart, Credentials{"", "", "tok"});
  token_core.Feed(kInfo, kStart);
  EXPECT_THAT(TakeOutput(token_core), HasSubstr("\"auth_token\":\"tok\""));
}

TEST(ClientCore, OmitsHeadersAndNoRespondersWhenTheServerLacksHeaders) {
  ClientCore core(TestOptions());
  core.StartHandshake(kStart, Credentials{});
  core.Feed("INFO {\"server_id\":\"X\",\"proto\":1,\"headers\":false} \r\n", kStart);
  const std::string out = TakeOutput(core);
  EXPECT_THAT(out, HasSubstr("\"headers\":false"));
  EXPECT_THAT(out, HasSubstr("\"no_responders\":false"));
}

TEST(ClientCore, FailsTheHandshakeOnAuthorizationViolation) {
  ClientCore core(TestOptions());
  core.StartHandshake(kStart, Credentials{"bad", "creds", ""});
  core.Feed(kInfo, kStart);
  core.Feed("-ERR 'Authorization Violation'\r\n", kStart);
  EXPECT_THAT(TakeEvents(core), ElementsAre("disconnected UNAUTHENTICATED reconnect"));
  EXPECT_EQ(core.state(), CoreState::kDisconnected);
}

TEST(ClientCore, FailsTheHandshakeWhenItTimesOut) {
  ClientCore core(TestOptions());
  core.StartHandshake(kStart, Credentials{});
  ASSERT_TRUE(core.NextDeadline().has_value());
  EXPECT_EQ(*core.NextDeadline(), kStart + std::chrono::seconds(2));
  core.OnTimer(kStart + std::chrono::seconds(1));
  EXPECT_THAT(TakeEvents(core), IsEmpty());
  core.OnTimer(kStart + std::chrono::seconds(2));
  EXPECT_THAT(TakeEvents(core), ElementsAre("disconnected TIMEOUT reconnect"));
}

TEST(ClientCore, RejectsAServerThatRequiresTls) {
  ClientCore core(TestOptions());
  core.StartHandshake(kStart, Credentials{});
  core.Feed("INFO {\"server_id\":\"X\",\"tls_required\":true} \r\n", kStart);
  EXPECT_THAT(TakeEvents(core), ElementsAre("disconnected UNAVAILABLE reconnect"));
}

constexpr std::string_view kTlsRequiredInfo =
    "INFO {\"server_id\":\"T\",\"proto\":1,\"headers\":true,\"tls_required\":true} \r\n";
constexpr std::string_view kTlsAvailableInfo =
    "INFO {\"server_id\":\"T\",\"proto\":1,\"headers\":true,\"tls_available\":true} \r\n";

TEST(ClientCore, WaitsForTlsBeforeConnectWhenTheServerRequiresIt) {
  ClientCore core(TestOptions());
  core.StartHandshake(kStart, Credentials{"alice", "pw", ""}, TlsPolicy::kIfRequired);
  core.Feed(kTlsRequiredInfo, kStart);
  // Nothing may be written before TLS: CONNECT carries credentials.
  EXPECT_TRUE(core.awaiting_tls());
  EXPECT_EQ(core.state(), CoreState::kAwaitingTls);
  EXPECT_FALSE(core.has_output());
  EXPECT_THAT(TakeEvents(core), IsEmpty());
  // Publishes meanwhile are buffered, not written.
  ASSERT_TRUE(core.Publish("a", "", nullptr, "x").ok());
  EXPECT_FALSE(core.has_output());
  core.TlsStarted(kStart);
  EXPECT_FALSE(core.awaiting_tls());
  const std::string out = TakeOutput(core);
  EXPECT_THAT(out, StartsWith("CONNECT {"));
  EXPECT_THAT(out, HasSubstr("\"user\":\"alice\""));
  EXPECT_THAT(out, ::testing::EndsWith("PING\r\n"));
  core.Feed("PONG\r\n", kStart);
  EXPECT_TRUE(core.is_connected());
  EXPECT_THAT(TakeEvents(core), ElementsAre("connected"));
  EXPECT_EQ(TakeOutput(core), "PUB a 1\r\nx\r\n");
}

TEST(ClientCore, UpgradesWhenTlsIsRequiredByTheClientAndAvailable) {
  ClientCore core(TestOptions());
  core.StartHandshake(kStart, Credentials{}, TlsPolicy::kRequired);
  core.Feed(kTlsAvailableInfo, kStart);
  EXPECT_TRUE(core.awaiting_tls());
  EXPECT_FALSE(core.has_output());
  core.TlsStarted(kStart);
  EXPECT_THAT(TakeOutput(core), StartsWith("CONNECT {"));
}

TEST(ClientCore, FailsWhenTheClientRequiresTlsAndTheServerOffersNone) {
  ClientCore core(TestOptions());
  core.StartHandshake(kStart, Credentials{}, TlsPolicy::kRequired);
  core.Feed(kInfo, kStart);
  EXPECT_FALSE(core.has_output());
  std::vector<ClientEvent> events;
  core.TakeEvents(events);
  ASSERT_EQ(events.size(), 1u);
  const auto* lost = std::get_if<DisconnectedEvent>(&events[0]);
  ASSERT_NE(lost, nullptr);
  EXPECT_EQ(lost->reason.code(), StatusCode::kUnavailable);
  EXPECT_THAT(std::string(lost->reason.message()), HasSubstr("secure connection not available"));
  EXPECT_EQ(core.state(), CoreState::kDisconnected);
}

TEST(ClientCore, DoesNotUpgradeWhenTlsIsOptional) {
  ClientCore core(TestOptions());
  core.StartHandshake(kStart, Credentials{}, TlsPolicy::kIfRequired);
  core.Feed(kTlsAvailableInfo, kStart);
  EXPECT_FALSE(core.awaiting_tls());
  EXPECT_THAT(TakeOutput(core), StartsWith("CONNECT {"));
}

TEST(ClientCore, IgnoresInfoTlsFieldsWhenTheTransportSecuresItself) {
  ClientCore core(TestOptions());
  core.StartHandshake(kStart, Credentials{}, TlsPolicy::kBelowProtocol);
  core.Feed(kTlsRequiredInfo, kStart);
  EXPECT_FALSE(core.awaiting_tls());
  EXPECT_THAT(TakeOutput(core), StartsWith("CONNECT {"));
}

TEST(ClientCore, DropsPlaintextSentAfterInfoAndTimesOutWithoutTls) {
  ClientCore core(TestOptions());
  core.StartHandshake(kStart, Credentials{}, TlsPolicy::kIfRequired);
  // A server must not send anything after INFO before the TLS handshake.
  core.Feed(std::string(kTlsRequiredInfo) + "PING\r\n", kStart);
  EXPECT_TRUE(core.awaiting_tls());
  EXPECT_FALSE(core.has_output());  // the PING is not answered in plaintext
  // The handshake deadline still runs while TLS is pending.
  core.OnTimer(kStart + std::chrono::seconds(2));
  EXPECT_THAT(TakeEvents(core), ElementsAre("disconnected TIMEOUT reconnect"));
  EXPECT_FALSE(core.has_output());
  core.TlsStarted(kStart);  // ignored when not waiting for TLS
  EXPECT_FALSE(core.has_output());
}

TEST(ClientCore, TlsStartedDropsPlaintextLeftAfterInfo) {
  ClientCore core(TestOptions());
  core.StartHandshake(kStart, Credentials{}, TlsPolicy::kRequired);
  core.Feed(std::string(kTlsRequiredInfo) + "-ERR 'x'\r\nPI", kStart);
  ASSERT_TRUE(core.awaiting_tls());
  core.TlsStarted(kStart);
  TakeOutput(core);
  core.Feed("PONG\r\n", kStart);
  EXPECT_THAT(TakeEvents(core), ElementsAre("connected"));
}

TEST(ClientCore, ProtocolBeforeInfoIsAProtocolError) {
  ClientCore core(TestOptions());
  core.StartHandshake(kStart, Credentials{});
  core.Feed("PING\r\n", kStart);
  EXPECT_EQ(TakeOutput(core), "");  // not answered: it could precede a TLS upgrade
  EXPECT_THAT(TakeEvents(core), ElementsAre("disconnected PROTOCOL_ERROR reconnect"));
}

TEST(ClientCore, AnswersServerPingsWithPong) {
  ClientCore core(TestOptions());
  Connect(core);
  core.Feed("PING\r\n", kStart);
  EXPECT_EQ(TakeOutput(core), "PONG\r\n");
}

TEST(ClientCore, DeliversMessagesForItsSubscriptions) {
  ClientCore core(TestOptions());
  Connect(core);
  auto sid = core.Subscribe("greet.*", "");
  ASSERT_TRUE(sid.ok());
  EXPECT_EQ(TakeOutput(core), "SUB greet.* 1\r\n");
  core.Feed("MSG greet.joe 1 5\r\nhello\r\nMSG greet.ann 1 _INBOX.r 2\r\nhi\r\n", kStart);
  core.Feed("MSG other 99 1\r\nx\r\n", kStart);  // unknown sid: dropped
  EXPECT_THAT(TakeEvents(core),
              ElementsAre("msg 1 greet.joe [hello]", "msg 1 greet.ann reply=_INBOX.r [hi]"));
}

TEST(ClientCore, DecodesHeadersOfHMsg) {
  ClientCore core(TestOptions());
  Connect(core);
  ASSERT_TRUE(core.Subscribe("h", "").ok());
  core.Feed("HMSG h 1 22 27\r\nNATS/1.0\r\nBar: Baz\r\n\r\nhello\r\n", kStart);
  EXPECT_THAT(TakeEvents(core), ElementsAre("msg 1 h headers=Bar:Baz; [hello]"));
}

TEST(ClientCore, SendsQueueGroupInSub) {
  ClientCore core(TestOptions());
  Connect(core);
  ASSERT_TRUE(core.Subscribe("work", "workers").ok());
  EXPECT_EQ(TakeOutput(core), "SUB work workers 1\r\n");
}

TEST(ClientCore, RejectsInvalidSubjectsAndQueues) {
  ClientCore core(TestOptions());
  Connect(core);
  struct Case {
    std::string_view subject;
    std::string_view queue;
  };
  for (const Case& c : {Case{"", ""}, Case{"a..b", ""}, Case{"a.>.b", ""}, Case{"a b", ""},
                        Case{"ok", "bad queue"}, Case{"ok", "q.1"}}) {
    auto sid = core.Subscribe(c.subject, c.queue);
    EXPECT_EQ(sid.status().code(), StatusCode::kInvalidArgument) << c.subject << "/" << c.queue;
  }
  for (std::string_view subject : {"", "a.*", "a.>", "a..b", "with space"}) {
    EXPECT_EQ(core.Publish(subject, "", nullptr, "x").code(), StatusCode::kInvalidArgument)
        << subject;
  }
  EXPECT_FALSE(core.has_output());
}

TEST(ClientCore, EncodesPublishWithAndWithoutHeaders) {
  ClientCore core(TestOptions());
  Connect(core);
  ASSERT_TRUE(core.Publish("foo", "", nullptr, "Hello NATS!").ok());
  ASSERT_TRUE(core.Publish("foo", "bar", nullptr, "").ok());
  wire::Headers headers;
  headers.Add("Bar", "Baz");
  ASSERT_TRUE(core.Publish("foo", "", &headers, "Hello NATS!").ok());
  EXPECT_EQ(TakeOutput(core),
            "PUB foo 11\r\nHello NATS!\r\n"
            "PUB foo bar 0\r\n\r\n"
            "HPUB foo 22 33\r\nNATS/1.0\r\nBar: Baz\r\n\r\nHello NATS!\r\n");
}

TEST(ClientCore, EnforcesTheServersMaxPayload) {
  ClientCore core(TestOptions());
  Connect(core, kSmallPayloadInfo);
  EXPECT_TRUE(core.Publish("foo", "", nullptr, std::string(16, 'x')).ok());
  EXPECT_EQ(core.Publish("foo", "", nullptr, std::string(17, 'x')).code(),
            StatusCode::kResourceExhausted);
  wire::Headers headers;
  headers.Add("K", "V");  // 17 bytes of headers
  EXPECT_EQ(core.Publish("foo", "", &headers, "").code(), StatusCode::kResourceExhausted);
}

TEST(ClientCore, AcceptsMessagesLargerThanTheServersMaxPayload) {
  // max_payload bounds what we publish; a server may deliver more.
  ClientCore core(TestOptions());
  Connect(core, kSmallPayloadInfo);
  ASSERT_TRUE(core.Subscribe("big", "").ok());
  TakeOutput(core);
  const std::string payload(100'000, 'x');
  const std::string headers = "NATS/1.0\r\nK: " + std::string(70'000, 'v') + "\r\n\r\n";
  core.Feed("MSG big 1 " + std::to_string(payload.size()) + "\r\n" + payload + "\r\n", kStart);
  core.Feed("HMSG big 1 " + std::to_string(headers.size()) + " " +
                std::to_string(headers.size() + 1) + "\r\n" + headers + "y\r\n",
            kStart);
  const auto events = TakeEvents(core);
  ASSERT_EQ(events.size(), 2u) << (events.empty() ? "" : events[0].substr(0, 60));
  EXPECT_EQ(events[0], "msg 1 big [" + payload + "]");
  EXPECT_THAT(events[1], StartsWith("msg 1 big headers=K:vvv"));
  EXPECT_TRUE(core.is_connected());
}

TEST(ClientCore, RejectsPublishesWithAnInvalidHeaderKey) {
  ClientCore core(TestOptions());
  Connect(core);
  for (const char* key : {"A\r\nInjected", "A:B", "A B", ""}) {
    wire::Headers headers;
    headers.Add(key, "v");
    EXPECT_EQ(core.Publish("foo", "", &headers, "").code(), StatusCode::kInvalidArgument) << key;
  }
  EXPECT_EQ(TakeOutput(core), "");
}

TEST(ClientCore, AutoUnsubscribesAfterMaxMessages) {
  ClientCore core(TestOptions());
  Connect(core);
  auto sid = core.Subscribe("a", "");
  ASSERT_TRUE(sid.ok());
  ASSERT_TRUE(core.Unsubscribe(*sid, 2).ok());
  EXPECT_EQ(TakeOutput(core), "SUB a 1\r\nUNSUB 1 2\r\n");
  core.Feed("MSG a 1 1\r\n1\r\nMSG a 1 1\r\n2\r\nMSG a 1 1\r\n3\r\n", kStart);
  EXPECT_THAT(TakeEvents(core), ElementsAre("msg 1 a [1]", "msg 1 a [2]", "done 1"));
  EXPECT_FALSE(core.HasSubscription(*sid));
}

TEST(ClientCore, AutoUnsubscribeAtOrBelowTheDeliveredCountEndsNowWithDone) {
  ClientCore core(TestOptions());
  Connect(core);
  auto sid = core.Subscribe("a", "");
  ASSERT_TRUE(sid.ok());
  core.Feed("MSG a 1 1\r\n1\r\nMSG a 1 1\r\n2\r\n", kStart);
  TakeOutput(core);
  TakeEvents(core);
  ASSERT_TRUE(core.Unsubscribe(*sid, 2).ok());
  EXPECT_EQ(TakeOutput(core), "UNSUB 1\r\n");
  EXPECT_THAT(TakeEvents(core), ElementsAre("done 1"));
  EXPECT_FALSE(core.HasSubscription(*sid));
  core.Feed("MSG a 1 1\r\n3\r\n", kStart);
  EXPECT_THAT(TakeEvents(core), IsEmpty());

  // Below the delivered count too, and while disconnected (no UNSUB then).
  auto other = core.Subscribe("b", "");
  ASSERT_TRUE(other.ok());
  core.Feed("MSG b 2 1\r\n1\r\nMSG b 2 1\r\n2\r\n", kStart);
  TakeEvents(core);
  core.OnTransportClosed();
  TakeOutput(core);
  TakeEvents(core);
  ASSERT_TRUE(core.Unsubscribe(*other, 1).ok());
  EXPECT_EQ(TakeOutput(core), "");
  EXPECT_THAT(TakeEvents(core), ElementsAre("done 2"));
  EXPECT_FALSE(core.HasSubscription(*other));
}

TEST(ClientCore, UnsubscribesNowWithoutMax) {
  ClientCore core(TestOptions());
  Connect(core);
  auto sid = core.Subscribe("a", "");
  ASSERT_TRUE(sid.ok());
  TakeOutput(core);
  ASSERT_TRUE(core.Unsubscribe(*sid).ok());
  EXPECT_EQ(TakeOutput(core), "UNSUB 1\r\n");
  EXPECT_EQ(core.Unsubscribe(*sid).code(), StatusCode::kNotFound);
  core.Feed("MSG a 1 1\r\nx\r\n", kStart);
  EXPECT_THAT(TakeEvents(core), IsEmpty());
}

TEST(ClientCore, ResubscribesWithRemainingMaxAndFlushesBufferedPublishesAfterReconnect) {
  ClientCore core(TestOptions());
  Connect(core);
  auto plain = core.Subscribe("a", "");
  auto limited = core.Subscribe("b", "q");
  ASSERT_TRUE(plain.ok());
  ASSERT_TRUE(limited.ok());
  ASSERT_TRUE(core.Unsubscribe(*limited, 3).ok());
  core.Feed("MSG b 2 1\r\nx\r\n", kStart);
  TakeOutput(core);
  TakeEvents(core);

  core.OnTransportClosed();
  EXPECT_EQ(core.state(), CoreState::kDisconnected);
  ASSERT_TRUE(core.Publish("buffered", "", nullptr, "1").ok());
  EXPECT_FALSE(core.has_output());
  EXPECT_GT(core.buffered_bytes(), 0u);

  core.StartHandshake(kStart, Credentials{});
  core.Feed(kInfo, kStart);
  EXPECT_THAT(TakeOutput(core), StartsWith("CONNECT"));
  core.Feed("PONG\r\n", kStart);
  EXPECT_EQ(TakeOutput(core),
            "SUB a 1\r\nSUB b q 2\r\nUNSUB 2 2\r\nPUB buffered 1\r\n1\r\n");
  EXPECT_THAT(TakeEvents(core), ElementsAre("reconnected"));
  EXPECT_EQ(core.buffered_bytes(), 0u);
}

TEST(ClientCore, RejectsPublishesWhenTheReconnectBufferIsFull) {
  ClientCore core(TestOptions());  // 64-byte buffer
  Connect(core);
  core.OnTransportClosed();
  ASSERT_TRUE(core.Publish("a", "", nullptr, std::string(30, 'x')).ok());  // 42 bytes
  EXPECT_EQ(core.Publish("a", "", nullptr, std::string(30, 'x')).code(),
            StatusCode::kResourceExhausted);
  EXPECT_TRUE(core.Publish("a", "", nullptr, "small").ok());
}

TEST(ClientCore, SubscribesTheSharedInboxOnceAndRoutesRepliesById) {
  ClientCoreOptions options = TestOptions();
  options.inbox_prefix = "_INBOX";
  ClientCore core(options);
  Connect(core);
  Message request;
  request.subject = "svc";
  request.payload = "ping";
  auto first = core.StartRequest(request, kStart + std::chrono::seconds(1));
  auto second = core.StartRequest(request, kStart + std::chrono::seconds(1));
  ASSERT_TRUE(first.ok());
  ASSERT_TRUE(second.ok());
  const std::string out = TakeOutput(core);
  // "SUB _INBOX.<nuid>.* 1\r\nPUB svc _INBOX.<nuid>.1 4\r\nping\r\nPUB svc _INBOX.<nuid>.2 ..."
  ASSERT_THAT(out, StartsWith("SUB _INBOX."));
  const std::string inbox = out.substr(4, out.find(".*") - 4);
  EXPECT_EQ(inbox.size(), std::string("_INBOX.").size() + 22);
  EXPECT_EQ(out, "SUB " + inbox + ".* 1\r\n" + "PUB svc " + inbox + "." +
                     std::to_string(*first) + " 4\r\nping\r\n" + "PUB svc " + inbox + "." +
                     std::to_string(*second) + " 4\r\nping\r\n");

  const std::string reply_subject = inbox + "." + std::to_string(*second);
  core.Feed("MSG " + reply_subject + " 1 4\r\npong\r\n", kStart);
  core.Feed("MSG " + reply_subject + " 1 4\r\nlate\r\n", kStart);  // already answered
  EXPECT_THAT(TakeEvents(core), ElementsAre("reply " + std::to_string(*second) + " [pong]"));
  EXPECT_EQ(core.pending_request_count(), 1u);
}

TEST(ClientCore, ReportsNoRespondersForA503StatusWithoutPayload) {
  ClientCore core(TestOptions());
  Connect(core);
  Message request;
  request.subject = "nobody";
  auto id = core.StartRequest(request, kStart + std::chrono::seconds(1));
  ASSERT_TRUE(id.ok());
  const std::string out = TakeOutput(core);
  const std::string inbox = out.substr(4, out.find(".*") - 4);
  core.Feed("HMSG " + inbox + "." + std::to_string(*id) + " 1 16 16\r\nNATS/1.0 503\r\n\r\n\r\n",
            kStart);
  EXPECT_THAT(TakeEvents(core), ElementsAre("reply 1 UNAVAILABLE"));
}

TEST(ClientCore, TimesOutRequests) {
  ClientCore core(TestOptions());
  Connect(core);
  Message request;
  request.subject = "slow";
  auto id = core.StartRequest(request, kStart + std::chrono::milliseconds(500));
  ASSERT_TRUE(id.ok());
  EXPECT_EQ(*core.NextDeadline(), kStart + std::chrono::milliseconds(500));
  core.OnTimer(kStart + std::chrono::milliseconds(499));
  EXPECT_THAT(TakeEvents(core), IsEmpty());
  core.OnTimer(kStart + std::chrono::milliseconds(500));
  EXPECT_THAT(TakeEvents(core), ElementsAre("reply 1 TIMEOUT"));
  EXPECT_EQ(core.pending_request_count(), 0u);
}

TEST(ClientCore, CancelledRequestsProduceNoReply) {
  ClientCore core(TestOptions());
  Connect(core);
  Message request;
  request.subject = "svc";
  auto id = core.StartRequest(request, kStart + std::chrono::milliseconds(500));
  ASSERT_TRUE(id.ok());
  core.CancelRequest(*id);
  core.OnTimer(kStart + std::chrono::seconds(1));
  EXPECT_THAT(TakeEvents(core), IsEmpty());
}

TEST(ClientCore, CompletesFlushesInPongOrder) {
  ClientCore core(TestOptions());
  Connect(core);
  auto first = core.StartFlush(kStart + std::chrono::seconds(1));
  auto second = core.StartFlush(kStart + std::chrono::seconds(1));
  ASSERT_TRUE(first.ok());
  ASSERT_TRUE(second.ok());
  EXPECT_EQ(TakeOutput(core), "PING\r\nPING\r\n");
  core.Feed("PONG\r\n", kStart);
  EXPECT_THAT(TakeEvents(core), ElementsAre("flush 1 OK"));
  core.Feed("PONG\r\n", kStart);
  EXPECT_THAT(TakeEvents(core), ElementsAre("flush 2 OK"));
}

TEST(ClientCore, FailsFlushesOnTimeoutAndOnLostTransport) {
  ClientCore core(TestOptions());
  Connect(core);
  ASSERT_TRUE(core.StartFlush(kStart + std::chrono::milliseconds(10)).ok());
  ASSERT_TRUE(core.StartFlush(kStart + std::chrono::seconds(5)).ok());
  core.OnTimer(kStart + std::chrono::milliseconds(10));
  EXPECT_THAT(TakeEvents(core), ElementsAre("flush 1 TIMEOUT"));
  core.OnTransportClosed();
  EXPECT_THAT(TakeEvents(core), ElementsAre("flush 2 UNAVAILABLE"));
  EXPECT_EQ(core.StartFlush(kStart).status().code(), StatusCode::kUnavailable);
}

TEST(ClientCore, SendsPingsAndDetectsAStaleConnection) {
  ClientCore core(TestOptions());  // 10 s interval, 2 outstanding
  Connect(core);
  EXPECT_EQ(*core.NextDeadline(), kStart + std::chrono::seconds(10));
  core.OnTimer(kStart + std::chrono::seconds(10));
  EXPECT_EQ(TakeOutput(core), "PING\r\n");
  core.Feed("PONG\r\n", kStart + std::chrono::seconds(11));  // answered: counter resets
  core.OnTimer(kStart + std::chrono::seconds(20));
  core.OnTimer(kStart + std::chrono::seconds(30));
  EXPECT_EQ(TakeOutput(core), "PING\r\nPING\r\n");
  EXPECT_THAT(TakeEvents(core), IsEmpty());
  core.OnTimer(kStart + std::chrono::seconds(40));
  EXPECT_THAT(TakeEvents(core), ElementsAre("disconnected UNAVAILABLE reconnect"));
}

TEST(ClientCore, DrainsASubscriptionUntilTheServerConfirms) {
  ClientCore core(TestOptions());
  Connect(core);
  auto sid = core.Subscribe("d", "");
  ASSERT_TRUE(sid.ok());
  TakeOutput(core);
  ASSERT_TRUE(core.DrainSubscription(*sid).ok());
  EXPECT_EQ(TakeOutput(core), "UNSUB 1\r\nPING\r\n");
  core.Feed("MSG d 1 1\r\nx\r\nPONG\r\n", kStart);
  EXPECT_THAT(TakeEvents(core), ElementsAre("msg 1 d [x]", "done 1"));
  EXPECT_FALSE(core.HasSubscription(*sid));
}

TEST(ClientCore, ReportsInfoUpdatesAfterTheHandshake) {
  ClientCore core(TestOptions());
  Connect(core);
  core.Feed("INFO {\"server_id\":\"NEW\",\"max_payload\":16} \r\n", kStart);
  EXPECT_THAT(TakeEvents(core), ElementsAre("info NEW"));
  EXPECT_EQ(core.max_payload(), 16);
}

TEST(ClientCore, ClassifiesServerErrorsAsNatsGoDoes) {
  using Action = ServerErrorReaction::Action;
  struct Case {
    std::string_view text;
    Action action;
    StatusCode code;
  };
  const Case cases[] = {
      {"Stale Connection", Action::kReconnect, StatusCode::kUnavailable},
      {"maximum connections exceeded", Action::kReconnect, StatusCode::kUnavailable},
      {"maximum account active connections exceeded", Action::kReconnect,
       StatusCode::kUnavailable},
      {"Permissions Violation for Publish to \"x\"", Action::kReport,
       StatusCode::kPermissionDenied},
      {"Permissions Violation for Subscription to \"x\" using queue \"q\"", Action::kReport,
       StatusCode::kPermissionDenied},
      {"maximum subscriptions exceeded", Action::kReport, StatusCode::kResourceExhausted},
      {"Authorization Violation", Action::kReconnect, StatusCode::kUnauthenticated},
      {"User Authentication Expired", Action::kReconnect, StatusCode::kUnauthenticated},
      {"User Authentication Revoked", Action::kReconnect, StatusCode::kUnauthenticated},
      {"Account Authentication Expired", Action::kReconnect, StatusCode::kUnauthenticated},
      {"Authentication Timeout", Action::kReconnect, StatusCode::kUnauthenticated},
      {"Maximum Payload Violation", Action::kClose, StatusCode::kResourceExhausted},
      {"Unknown Protocol Operation", Action::kClose, StatusCode::kProtocolError},
      {"Invalid Subject", Action::kClose, StatusCode::kProtocolError},
  };
  for (const Case& c : cases) {
    const ServerErrorReaction reaction = ClassifyServerError(c.text);
    EXPECT_EQ(reaction.action, c.action) << c.text;
    EXPECT_EQ(reaction.status.code(), c.code) << c.text;
  }
}

TEST(ClientCore, ReactsToServerErrorsAfterTheHandshake) {
  ClientCore core(TestOptions());
  Connect(core);
  core.Feed("-ERR 'Permissions Violation for Publish to \"x\"'\r\n", kStart);
  EXPECT_TRUE(core.is_connected());
  EXPECT_THAT(TakeEvents(core), ElementsAre("error PERMISSION_DENIED"));
  core.Feed("-ERR 'Stale Connection'\r\n", kStart);
  EXPECT_THAT(TakeEvents(core), ElementsAre("disconnected UNAVAILABLE reconnect"));

  ClientCore other(TestOptions());
  Connect(other);
  other.Feed("-ERR 'Unknown Protocol Operation'\r\n", kStart);
  EXPECT_THAT(TakeEvents(other), ElementsAre("disconnected PROTOCOL_ERROR close"));
}

TEST(ClientCore, DisconnectsWhenTheServerBreaksTheProtocol) {
  ClientCore core(TestOptions());
  Connect(core);
  core.Feed("BOGUS\r\n", kStart);
  EXPECT_THAT(TakeEvents(core), ElementsAre("disconnected PROTOCOL_ERROR reconnect"));
  core.Feed("PING\r\n", kStart);  // ignored until the next handshake
  EXPECT_FALSE(core.has_output());
}

TEST(ClientCore, CancelsEverythingOnClose) {
  ClientCore core(TestOptions());
  Connect(core);
  Message request;
  request.subject = "svc";
  ASSERT_TRUE(core.StartRequest(request, kStart + std::chrono::seconds(1)).ok());
  ASSERT_TRUE(core.StartFlush(kStart + std::chrono::seconds(1)).ok());
  TakeOutput(core);
  core.Close();
  EXPECT_THAT(TakeEvents(core), ElementsAre("flush 1 CANCELLED", "reply 1 CANCELLED"));
  EXPECT_EQ(core.Publish("a", "", nullptr, "x").code(), StatusCode::kFailedPrecondition);
  EXPECT_EQ(core.Subscribe("a", "").status().code(), StatusCode::kFailedPrecondition);
  EXPECT_FALSE(core.NextDeadline().has_value());
}

// The same server byte script, fed whole and split at every byte boundary
// (and byte by byte), must produce the same events and output.
struct ScriptResult {
  std::vector<std::string> events;
  std::string output;
};

ScriptResult RunScript(const std::vector<std::string_view>& chunks) {
  ClientCore core(TestOptions());
  core.StartHandshake(kStart, Credentials{});
  auto sid = core.Subscribe("s.>", "");
  EXPECT_TRUE(sid.ok());
  ScriptResult result;
  for (std::string_view chunk : chunks) {
    // Each chunk lives in its own buffer, as a socket read would.
    const std::string copy(chunk);
    core.Feed(copy, kStart);
    std::vector<std::string> events = TakeEvents(core);
    result.events.insert(result.events.end(), events.begin(), events.end());
    result.output += TakeOutput(core);
  }
  return result;
}

TEST(ClientCore, HandlesAHandshakeAndMessagesSplitAtEveryByteBoundary) {
  std::string script(kInfo);
  script +=
      "+OK\r\n"
      "PONG\r\n"
      "MSG s.a 1 5\r\nhello\r\n"
      "HMSG s.b 1 reply.x 22 24\r\nNATS/1.0\r\nBar: Baz\r\n\r\nhi\r\n"
      "PING\r\n"
      "MSG s.c.d 1 0\r\n\r\n"
      "msg s.e 1 2\r\n\r\n\r\n"
      "INFO {\"server_id\":\"LATER\"} \r\n";
  const ScriptResult whole = RunScript({script});
  ASSERT_THAT(whole.events,
              ElementsAre("connected", "msg 1 s.a [hello]",
                          "msg 1 s.b reply=reply.x headers=Bar:Baz; [hi]", "msg 1 s.c.d []",
                          "msg 1 s.e [\r\n]", "info LATER"));
  EXPECT_THAT(whole.output, HasSubstr("PING\r\nSUB s.> 1\r\nPONG\r\n"));

  const std::string_view view(script);
  for (std::size_t split = 1; split < script.size(); ++split) {
    const ScriptResult parts = RunScript({view.substr(0, split), view.substr(split)});
    ASSERT_EQ(parts.events, whole.events) << "split at " << split;
    ASSERT_EQ(parts.output, whole.output) << "split at " << split;
  }
  std::vector<std::string_view> bytes;
  for (std::size_t i = 0; i < script.size(); ++i) bytes.push_back(view.substr(i, 1));
  const ScriptResult byte_by_byte = RunScript(bytes);
  EXPECT_EQ(byte_by_byte.events, whole.events);
  EXPECT_EQ(byte_by_byte.output, whole.output);
}

}  // namespace
}  // namespace embed::client::internal
