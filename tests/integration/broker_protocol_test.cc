// The broker over real loopback sockets: handshake, routing, every -ERR path.
#include <chrono>
#include <string>
#include <thread>
#include <vector>

#include <sys/socket.h>

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "embed/testing/broker_fixture.h"

namespace embed::testing {
namespace {

using namespace std::chrono_literals;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::StartsWith;

class BrokerProtocol : public BrokerFixture {
 protected:
  void SetUp() override { StartBroker(); }
};

TEST_F(BrokerProtocol, SendsInfoWithTheFieldsClientsNeed) {
  auto peer = ConnectRaw();
  auto line = peer->ReadLine();
  ASSERT_TRUE(line.ok());
  ASSERT_THAT(*line, StartsWith("INFO {"));
  EXPECT_EQ(line->back(), ' ');  // "INFO {json} \r\n"
  auto info = nlohmann::json::parse(line->substr(5));
  EXPECT_EQ(info["server_id"].get<std::string>().size(), 56u);
  EXPECT_EQ(info["server_id"].get<std::string>()[0], 'N');
  EXPECT_EQ(info["server_name"], info["server_id"]);
  EXPECT_EQ(info["version"], "2.10.0");
  EXPECT_EQ(info["proto"], 1);
  EXPECT_TRUE(info.contains("go"));
  EXPECT_EQ(info["host"], "127.0.0.1");
  EXPECT_EQ(info["port"], port());
  EXPECT_EQ(info["headers"], true);
  EXPECT_EQ(info["max_payload"], 1048576);
  EXPECT_GE(info["client_id"].get<int>(), 1);
  EXPECT_EQ(info["client_ip"], "127.0.0.1");
  EXPECT_FALSE(info.contains("auth_required"));
}

TEST_F(BrokerProtocol, VerboseConnectAcknowledgesEveryOp) {
  auto peer = ConnectRaw();
  ASSERT_TRUE(peer->ReadLine().ok());
  ASSERT_TRUE(peer->Send("CONNECT {}\r\nSUB foo 1\r\nPUB foo 2\r\nhi\r\nUNSUB 1\r\n").ok());
  auto lines = peer->LinesUntilPong();
  ASSERT_TRUE(lines.ok());
  EXPECT_THAT(*lines, ElementsAre("+OK", "+OK", "+OK", "MSG foo 1 2", "hi", "+OK"));
}

TEST_F(BrokerProtocol, DeliversAMessageToASubscriberOnAnotherConnection) {
  auto subscriber = ConnectPeer();
  auto publisher = ConnectPeer();
  ASSERT_TRUE(subscriber->Send("SUB greet.* 7\r\n").ok());
  ASSERT_TRUE(subscriber->LinesUntilPong().ok());
  ASSERT_TRUE(publisher->Send("PUB greet.joe reply.1 5\r\nhello\r\n").ok());
  auto message = subscriber->ReadMessage();
  ASSERT_TRUE(message.ok()) << message.status().ToString();
  EXPECT_EQ(message->control_line, "MSG greet.joe 7 reply.1 5");
  EXPECT_EQ(message->body, "hello");
  auto stats = broker().stats();
  EXPECT_EQ(stats.in_msgs, 1u);
  EXPECT_EQ(stats.out_msgs, 1u);
  EXPECT_EQ(stats.subscriptions, 1u);
  EXPECT_EQ(stats.connections, 2u);
}

TEST_F(BrokerProtocol, KeepsPerPublisherOrder) {
  auto subscriber = ConnectPeer();
  auto publisher = ConnectPeer();
  ASSERT_TRUE(subscriber->Send("SUB seq 1\r\n").ok());
  ASSERT_TRUE(subscriber->LinesUntilPong().ok());
  std::string batch;
  for (int i = 0; i < 1000; ++i) {
    std::string payload = std::to_string(i);
    batch += "PUB seq " + std::to_string(payload.size()) + "\r\n" + payload + "\r\n";
  }
  ASSERT_TRUE(publisher->Send(batch).ok());
  for (int i = 0; i < 1000; ++i) {
    auto message = subscriber->ReadMessage();
    ASSERT_TRUE(message.ok());
    ASSERT_EQ(message->body, std::to_string(i));
  }
}

TEST_F(BrokerProtocol, QueueGroupDeliversEachMessageToExactlyOneMember) {
  auto first = ConnectPeer();
  auto second = ConnectPeer();
  auto publisher = ConnectPeer();
  ASSERT_TRUE(first->Send("SUB jobs workers 1\r\n").ok());
  ASSERT_TRUE(second->Send("SUB jobs workers 1\r\n").ok());
  ASSERT_TRUE(first->LinesUntilPong().ok());
  ASSERT_TRUE(second->LinesUntilPong().ok());
  std::string batch;
  for (int i = 0; i < 200; ++i) batch += "PUB jobs 1\r\nx\r\n";
  ASSERT_TRUE(publisher->Send(batch).ok());
  ASSERT_TRUE(publisher->LinesUntilPong().ok());
  // The publisher's PONG proves routing finished; each member's PONG proves
  // its queued messages arrived before.
  auto first_lines = first->LinesUntilPong();
  auto second_lines = second->LinesUntilPong();
  ASSERT_TRUE(first_lines.ok());
  ASSERT_TRUE(second_lines.ok());
  std::size_t first_count = first_lines->size() / 2;
  std::size_t second_count = second_lines->size() / 2;
  EXPECT_EQ(first_count + second_count, 200u);
  EXPECT_GT(first_count, 40u);
  EXPECT_GT(second_count, 40u);
}

TEST_F(BrokerProtocol, SendsHMsgToHeaderClientsAndStripsHeadersForOthers) {
  auto with_headers = ConnectPeer(R"({"verbose":false,"pedantic":false,"headers":true})");
  auto without = ConnectPeer();
  ASSERT_TRUE(with_headers->Send("SUB h 1\r\n").ok());
  ASSERT_TRUE(without->Send("SUB h 2\r\n").ok());
  ASSERT_TRUE(with_headers->LinesUntilPong().ok());
  ASSERT_TRUE(without->LinesUntilPong().ok());
  ASSERT_TRUE(with_headers->Send("HPUB h 22 33\r\nNATS/1.0\r\nBar: Baz\r\n\r\nHello NATS!\r\n").ok());
  auto full = with_headers->ReadMessage();
  ASSERT_TRUE(full.ok());
  EXPECT_EQ(full->control_line, "HMSG h 1 22 33");
  EXPECT_EQ(full->body, "NATS/1.0\r\nBar: Baz\r\n\r\nHello NATS!");
  auto stripped = without->ReadMessage();
  ASSERT_TRUE(stripped.ok());
  EXPECT_EQ(stripped->control_line, "MSG h 2 11");
  EXPECT_EQ(stripped->body, "Hello NATS!");
}

TEST_F(BrokerProtocol, HPubFromAClientWithoutHeadersClosesWithoutErr) {
  auto peer = ConnectPeer();
  ASSERT_TRUE(peer->Send("HPUB h 12 12\r\nNATS/1.0\r\n\r\n\r\n").ok());
  EXPECT_TRUE(peer->WaitForClose());
  EXPECT_EQ(peer->received_before_close(), "");
}

TEST_F(BrokerProtocol, NoRespondersSendsA503ToTheRequester) {
  auto requester = ConnectPeer(
      R"({"verbose":false,"pedantic":false,"headers":true,"no_responders":true,"protocol":1})");
  ASSERT_TRUE(requester->Send("SUB _INBOX.x.* 3\r\nPUB nobody.home _INBOX.x.1 0\r\n\r\n").ok());
  auto message = requester->ReadMessage();
  ASSERT_TRUE(message.ok());
  EXPECT_EQ(message->control_line, "HMSG _INBOX.x.1 3 16 16");
  EXPECT_EQ(message->body, "NATS/1.0 503\r\n\r\n");
}

TEST_F(BrokerProtocol, RequestReplyRoundTrips) {
  auto responder = ConnectPeer();
  auto requester = ConnectPeer();
  ASSERT_TRUE(responder->Send("SUB svc.echo q 1\r\n").ok());
  ASSERT_TRUE(responder->LinesUntilPong().ok());
  ASSERT_TRUE(requester->Send("SUB _INBOX.r.* 1\r\nPUB svc.echo _INBOX.r.1 4\r\nping\r\n").ok());
  auto request = responder->ReadMessage();
  ASSERT_TRUE(request.ok());
  EXPECT_EQ(request->control_line, "MSG svc.echo 1 _INBOX.r.1 4");
  ASSERT_TRUE(responder->Send("PUB _INBOX.r.1 4\r\npong\r\n").ok());
  auto reply = requester->ReadMessage();
  ASSERT_TRUE(reply.ok());
  EXPECT_EQ(reply->control_line, "MSG _INBOX.r.1 1 4");
  EXPECT_EQ(reply->body, "pong");
}

TEST_F(BrokerProtocol, EchoFalseSuppressesOwnMessages) {
  auto peer = ConnectPeer(R"({"verbose":false,"pedantic":false,"echo":false,"protocol":1})");
  auto other = ConnectPeer();
  ASSERT_TRUE(peer->Send("SUB e 1\r\nPUB e 1\r\na\r\n").ok());
  auto lines = peer->LinesUntilPong();
  ASSERT_TRUE(lines.ok());
  EXPECT_THAT(*lines, IsEmpty());
  ASSERT_TRUE(other->Send("PUB e 1\r\nb\r\n").ok());
  auto message = peer->ReadMessage();
  ASSERT_TRUE(message.ok());
  EXPECT_EQ(message->body, "b");
}

TEST_F(BrokerProtocol, EchoIsOnByDefault) {
  auto peer = ConnectPeer();
  ASSERT_TRUE(peer->Send("SUB e 1\r\nPUB e 1\r\na\r\n").ok());
  auto lines = peer->LinesUntilPong();
  ASSERT_TRUE(lines.ok());
  EXPECT_THAT(*lines, ElementsAre("MSG e 1 1", "a"));
}

TEST_F(BrokerProtocol, UnsubWithMaxDeliversExactlyMaxMessages) {
  auto subscriber = ConnectPeer();
  auto publisher = ConnectPeer();
  ASSERT_TRUE(subscriber->Send("SUB m 5\r\nUNSUB 5 3\r\n").ok());
  ASSERT_TRUE(subscriber->LinesUntilPong().ok());
  std::string batch;
  for (int i = 0; i < 6; ++i) batch += "PUB m 1\r\n" + std::to_string(i) + "\r\n";
  ASSERT_TRUE(publisher->Send(batch).ok());
  ASSERT_TRUE(publisher->LinesUntilPong().ok());
  auto lines = subscriber->LinesUntilPong();
  ASSERT_TRUE(lines.ok());
  EXPECT_THAT(*lines, ElementsAre("MSG m 5 1", "0", "MSG m 5 1", "1", "MSG m 5 1", "2"));
  EXPECT_EQ(broker().stats().subscriptions, 0u);
}

TEST_F(BrokerProtocol, InvalidSubjectErrKeepsTheConnection) {
  auto peer = ConnectPeer();
  ASSERT_TRUE(peer->Send("SUB a..b 1\r\n").ok());
  auto lines = peer->LinesUntilPong();
  ASSERT_TRUE(lines.ok());
  EXPECT_THAT(*lines, ElementsAre("-ERR 'Invalid Subject'"));
}

TEST_F(BrokerProtocol, PedanticInvalidPublishSubjectErrKeepsTheConnection) {
  auto peer = ConnectPeer(R"({"verbose":false,"pedantic":true})");
  ASSERT_TRUE(peer->Send("SUB > 1\r\nPUB a.* 1\r\nx\r\n").ok());
  auto lines = peer->LinesUntilPong();
  ASSERT_TRUE(lines.ok());
  EXPECT_THAT(*lines, ElementsAre("-ERR 'Invalid Publish Subject'", "MSG a.* 1 1", "x"));
}

TEST_F(BrokerProtocol, ReservedReplyIsAPermissionsViolationAndDropped) {
  auto peer = ConnectPeer();
  ASSERT_TRUE(peer->Send("SUB foo 1\r\nPUB foo _R_.abc 1\r\nx\r\n").ok());
  auto lines = peer->LinesUntilPong();
  ASSERT_TRUE(lines.ok());
  EXPECT_THAT(*lines,
              ElementsAre("-ERR 'Permissions Violation for Publish with Reply of \"_R_.abc\"'"));
}

TEST_F(BrokerProtocol, UnknownOperationErrsAndCloses) {
  auto peer = ConnectPeer();
  ASSERT_TRUE(peer->Send("BOGUS\r\n").ok());
  EXPECT_TRUE(peer->WaitForClose());
  EXPECT_EQ(peer->received_before_close(), "-ERR 'Unknown Protocol Operation'\r\n");
}

TEST_F(BrokerProtocol, SyntaxErrorClosesWithoutErr) {
  auto peer = ConnectPeer();
  ASSERT_TRUE(peer->Send("PUB foo bar baz qux\r\n").ok());
  EXPECT_TRUE(peer->WaitForClose());
  EXPECT_EQ(peer->received_before_close(), "");
}

TEST_F(BrokerProtocol, InvalidClientProtocolErrsAndCloses) {
  auto peer = ConnectRaw();
  ASSERT_TRUE(peer->ReadLine().ok());
  ASSERT_TRUE(peer->Send("CONNECT {\"verbose\":false,\"protocol\":5}\r\n").ok());
  EXPECT_TRUE(peer->WaitForClose());
  EXPECT_EQ(peer->received_before_close(), "-ERR 'invalid client protocol'\r\n");
}

TEST_F(BrokerProtocol, NoRespondersWithoutHeadersErrsAndCloses) {
  auto peer = ConnectRaw();
  ASSERT_TRUE(peer->ReadLine().ok());
  ASSERT_TRUE(peer->Send("CONNECT {\"verbose\":false,\"no_responders\":true}\r\n").ok());
  EXPECT_TRUE(peer->WaitForClose());
  EXPECT_EQ(peer->received_before_close(), "-ERR 'no responders requires headers support'\r\n");
}

TEST_F(BrokerProtocol, ClosingAConnectionRemovesItsSubscriptions) {
  auto peer = ConnectPeer();
  ASSERT_TRUE(peer->Send("SUB a 1\r\nSUB b 2\r\nSUB c q 3\r\n").ok());
  ASSERT_TRUE(peer->LinesUntilPong().ok());
  EXPECT_EQ(broker().stats().subscriptions, 3u);
  peer->Close();
  // Nothing the test can read orders after the broker's close handling, so
  // wait for the counters with a deadline.
  auto deadline = std::chrono::steady_clock::now() + 5s;
  while ((broker().stats().subscriptions != 0 || broker().stats().connections != 0) &&
         std::chrono::steady_clock::now() < deadline) {
    std::this_thread::yield();
  }
  EXPECT_EQ(broker().stats().subscriptions, 0u);
  EXPECT_EQ(broker().stats().connections, 0u);
}

TEST_F(BrokerProtocol, PeerEofStillGetsTheOutputItIsOwed) {
  StartBroker();
  auto peer = ConnectPeer();
  ASSERT_TRUE(peer->Send("SUB a 1\r\nPUB a 2\r\nhi\r\n").ok());
  ASSERT_EQ(::shutdown(peer->fd(), SHUT_WR), 0);
  auto line = peer->ReadLine();
  ASSERT_TRUE(line.ok());
  EXPECT_EQ(*line, "MSG a 1 2");
  auto payload = peer->ReadLine();
  ASSERT_TRUE(payload.ok());
  EXPECT_EQ(*payload, "hi");
  EXPECT_TRUE(peer->WaitForClose());
}

TEST_F(BrokerProtocol, PeerEofFlushesEverythingQueuedForIt) {
  StartBroker();
  auto receiver = ConnectPeer();
  auto publisher = ConnectPeer();
  ASSERT_TRUE(receiver->Send("SUB a 1\r\nPING\r\n").ok());
  ASSERT_TRUE(receiver->LinesUntilPong().ok());
  // 8 MiB for a receiver that is not reading: most of it is still queued in
  // the broker when the receiver shuts down its sending side.
  constexpr int kMessages = 8192;
  const std::string payload(1024, 'x');
  std::string batch;
  for (int i = 0; i < kMessages; ++i) batch += "PUB a 1024\r\n" + payload + "\r\n";
  ASSERT_TRUE(publisher->Send(batch).ok());
  ASSERT_TRUE(publisher->LinesUntilPong(10s).ok());
  ASSERT_EQ(::shutdown(receiver->fd(), SHUT_WR), 0);
  const std::size_t message_bytes = std::string("MSG a 1 1024\r\n").size() + 1024 + 2;
  EXPECT_TRUE(receiver->DiscardBytes(message_bytes * kMessages, 10s).ok());
  EXPECT_TRUE(receiver->WaitForClose());
}

class BrokerLimits : public BrokerFixture {};

TEST_F(BrokerLimits, MaxPayloadErrsAndCloses) {
  auto options = TestOptions();
  options.limits.max_payload_bytes = 16;
  StartBroker(options);
  auto peer = ConnectRaw();
  auto info = peer->ReadLine();
  ASSERT_TRUE(info.ok());
  EXPECT_THAT(*info, HasSubstr("\"max_payload\":16"));
  ASSERT_TRUE(peer->Send("CONNECT {\"verbose\":false}\r\nPUB foo 17\r\n").ok());
  EXPECT_TRUE(peer->WaitForClose());
  EXPECT_EQ(peer->received_before_close(), "-ERR 'Maximum Payload Violation'\r\n");
}

TEST_F(BrokerLimits, RoutesSubjectsUpToTheConfiguredSubjectLimits) {
  // The index must accept every subject the session accepts (regression: the
  // router once used the default 1024-byte / 128-token limits).
  auto options = TestOptions();
  options.limits.max_subject_bytes = 4000;
  options.limits.max_subject_tokens = 1000;
  StartBroker(options);
  std::string subject = "long";
  while (subject.size() < 2000) subject += ".token";
  auto subscriber = ConnectPeer();
  auto publisher = ConnectPeer();
  ASSERT_TRUE(subscriber->Send("SUB " + subject + " 1\r\n").ok());
  auto before_pong = subscriber->LinesUntilPong();
  ASSERT_TRUE(before_pong.ok());
  EXPECT_TRUE(before_pong->empty()) << (*before_pong)[0];
  ASSERT_TRUE(publisher->Send("PUB " + subject + " 2\r\nhi\r\n").ok());
  auto message = subscriber->ReadMessage();
  ASSERT_TRUE(message.ok()) << message.status().ToString();
  EXPECT_EQ(message->control_line, "MSG " + subject + " 1 2");
}

TEST_F(BrokerLimits, HPubTotalCountsAgainstMaxPayload) {
  auto options = TestOptions();
  options.limits.max_payload_bytes = 16;
  StartBroker(options);
  auto peer = ConnectPeer(R"({"verbose":false,"headers":true})");
  ASSERT_TRUE(peer->Send("HPUB foo 12 20\r\n").ok());
  EXPECT_TRUE(peer->WaitForClose());
  EXPECT_EQ(peer->received_before_close(), "-ERR 'Maximum Payload Violation'\r\n");
}

TEST_F(BrokerLimits, MaxControlLineErrsAndCloses) {
  auto options = TestOptions();
  options.limits.max_control_line_bytes = 64;
  StartBroker(options);
  auto peer = ConnectPeer();
  ASSERT_TRUE(peer->Send("SUB " + std::string(100, 'x') + " 1\r\n").ok());
  EXPECT_TRUE(peer->WaitForClose());
  EXPECT_EQ(peer->received_before_close(), "-ERR 'maximum control line exceeded'\r\n");
}

TEST_F(BrokerLimits, MaxSubscriptionsErrsButKeepsTheConnection) {
  auto options = TestOptions();
  options.max_subscriptions = 1;
  StartBroker(options);
  auto peer = ConnectPeer();
  ASSERT_TRUE(peer->Send("SUB a 1\r\nSUB b 2\r\n").ok());
  auto lines = peer->LinesUntilPong();
  ASSERT_TRUE(lines.ok());
  EXPECT_THAT(*lines, ElementsAre("-ERR 'maximum subscriptions exceeded'"));
}

TEST_F(BrokerLimits, MaxConnectionsRejectsTheConnectionOverTheLimit) {
  auto options = TestOptions();
  options.max_connections = 2;
  StartBroker(options);
  auto first = ConnectPeer();
  auto second = ConnectPeer();
  auto third = ConnectRaw();
  auto info = third->ReadLine();
  ASSERT_TRUE(info.ok());
  EXPECT_THAT(*info, StartsWith("INFO "));
  EXPECT_TRUE(third->WaitForClose());
  EXPECT_EQ(third->received_before_close(), "-ERR 'maximum connections exceeded'\r\n");
  EXPECT_TRUE(first->LinesUntilPong().ok());
  EXPECT_EQ(broker().stats().connections, 2u);
}

TEST_F(BrokerLimits, SilentClientGetsPingsThenStaleConnection) {
  auto options = TestOptions();
  options.ping_interval = 50ms;
  options.ping_max = 2;
  StartBroker(options);
  auto peer = ConnectPeer();
  EXPECT_TRUE(peer->WaitForClose(5s));
  EXPECT_EQ(peer->received_before_close(), "PING\r\nPING\r\n-ERR 'Stale Connection'\r\n");
}

TEST_F(BrokerLimits, ClientAnsweringPingsStaysConnected) {
  auto options = TestOptions();
  options.ping_interval = 30ms;
  options.ping_max = 1;
  StartBroker(options);
  auto peer = ConnectPeer();
  for (int i = 0; i < 5; ++i) {
    auto line = peer->ReadLine();
    ASSERT_TRUE(line.ok()) << line.status().ToString();
    ASSERT_EQ(*line, "PING");
    ASSERT_TRUE(peer->Send("PONG\r\n").ok());
  }
}

class BrokerAuth : public BrokerFixture {};

TEST_F(BrokerAuth, TokenAuthAcceptsTheTokenAndAdvertisesAuthRequired) {
  auto options = TestOptions();
  options.auth_token = "s3cret";
  StartBroker(options);
  auto peer = ConnectRaw();
  auto info = peer->Handshake(R"({"verbose":false,"auth_token":"s3cret"})");
  ASSERT_TRUE(info.ok()) << info.status().ToString();
  EXPECT_THAT(*info, HasSubstr("\"auth_required\":true"));
}

TEST_F(BrokerAuth, WrongTokenIsAnAuthorizationViolation) {
  auto options = TestOptions();
  options.auth_token = "s3cret";
  StartBroker(options);
  auto peer = ConnectRaw();
  ASSERT_TRUE(peer->ReadLine().ok());
  ASSERT_TRUE(peer->Send("CONNECT {\"verbose\":false,\"auth_token\":\"bad\"}\r\nPING\r\n").ok());
  EXPECT_TRUE(peer->WaitForClose());
  EXPECT_EQ(peer->received_before_close(), "-ERR 'Authorization Violation'\r\n");
}

TEST_F(BrokerAuth, UserPasswordAuthAcceptsKnownUsersOnly) {
  auto options = TestOptions();
  options.users = {{"alice", "wonder"}, {"bob", "builder"}};
  StartBroker(options);
  auto good = ConnectRaw();
  EXPECT_TRUE(good->Handshake(R"({"verbose":false,"user":"bob","pass":"builder"})").ok());
  auto bad = ConnectRaw();
  ASSERT_TRUE(bad->ReadLine().ok());
  ASSERT_TRUE(bad->Send("CONNECT {\"verbose\":false,\"user\":\"bob\",\"pass\":\"wonder\"}\r\n").ok());
  EXPECT_TRUE(bad->WaitForClose());
  EXPECT_EQ(bad->received_before_close(), "-ERR 'Authorization Violation'\r\n");
}

TEST_F(BrokerAuth, FirstOpOtherThanConnectIsAnAuthorizationViolation) {
  auto options = TestOptions();
  options.auth_token = "s3cret";
  StartBroker(options);
  auto peer = ConnectRaw();
  ASSERT_TRUE(peer->ReadLine().ok());
  ASSERT_TRUE(peer->Send("SUB foo 1\r\n").ok());
  EXPECT_TRUE(peer->WaitForClose());
  EXPECT_EQ(peer->received_before_close(), "-ERR 'Authorization Violation'\r\n");
}

TEST_F(BrokerAuth, PayloadBeforeConnectIsAnAuthorizationViolation) {
  auto options = TestOptions();
  options.auth_token = "s3cret";
  options.auth_timeout = 10s;
  StartBroker(options);
  auto peer = ConnectRaw();
  ASSERT_TRUE(peer->ReadLine().ok());
  // Answered at once, without waiting for (and buffering) the body.
  ASSERT_TRUE(peer->Send("PUB a 1048576\r\n").ok());
  EXPECT_TRUE(peer->WaitForClose(3s));
  EXPECT_EQ(peer->received_before_close(), "-ERR 'Authorization Violation'\r\n");
}

TEST_F(BrokerAuth, NoConnectWithinAuthTimeoutIsAnAuthenticationTimeout) {
  auto options = TestOptions();
  options.auth_token = "s3cret";
  options.auth_timeout = 100ms;
  StartBroker(options);
  auto peer = ConnectRaw();
  ASSERT_TRUE(peer->ReadLine().ok());
  auto started = std::chrono::steady_clock::now();
  EXPECT_TRUE(peer->WaitForClose(5s));
  EXPECT_GE(std::chrono::steady_clock::now() - started, 80ms);
  EXPECT_EQ(peer->received_before_close(), "-ERR 'Authentication Timeout'\r\n");
}

}  // namespace
}  // namespace embed::testing
