// Interop: our client (embed::client) against a real nats-server started by
// each test on 127.0.0.1 and an ephemeral port, and, when the broker is part
// of the build, against our own broker: pub/sub, wildcards, queue groups,
// headers, request/reply, no responders, reconnect after the server restarts.

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "embed/client/connection.h"
#include "embed/client/testing/nats_server_process.h"
#include "embed/client/testing/recorders.h"
#include "embed/client/testing/server_test.h"
#include "embed/client/testing/test_server.h"

#ifdef EMBED_CLIENT_INTEROP_WITH_BROKER
#include "embed/broker/broker.h"
#endif

namespace embed::client {
namespace testing {

#ifdef EMBED_CLIENT_INTEROP_WITH_BROKER
namespace {

int NextServerNumber() {
  static std::atomic<int> next{0};
  return ++next;
}

// Our broker, in process. Kill() stops it (every connection drops at once);
// Restart() serves again on the same port.
class EmbedBrokerServer final : public TestServer {
 public:
  static Result<std::unique_ptr<TestServer>> Start() { return StartWithAuth({}); }
  static Result<std::unique_ptr<TestServer>> StartWithAuth(const TestServerAuth& auth) {
    std::unique_ptr<EmbedBrokerServer> server(new EmbedBrokerServer());
    server->auth_ = auth;
    EMBED_RETURN_IF_ERROR(server->Serve(0));
    return std::unique_ptr<TestServer>(std::move(server));
  }
  // With TLS on the NATS port and/or a WebSocket listener, as nats-server
  // gets them from NatsServerProcess::StartWithTransports.
  static Result<std::unique_ptr<TestServer>> StartWithTransports(
      const TestServerTransports& transports) {
    std::unique_ptr<EmbedBrokerServer> server(new EmbedBrokerServer());
    server->transports_ = transports;
    EMBED_RETURN_IF_ERROR(server->Serve(0));
    return std::unique_ptr<TestServer>(std::move(server));
  }
  ~EmbedBrokerServer() override { Kill(); }

  std::string url() const override {
    const bool tls = !transports_.cert_file.empty();
    return (tls ? "tls://127.0.0.1:" : "nats://127.0.0.1:") + std::to_string(port_);
  }
  std::string ws_url() const override {
    if (!transports_.websocket) return {};
    return (transports_.ws_tls ? "wss://127.0.0.1:" : "ws://127.0.0.1:") +
           std::to_string(ws_port_);
  }
  std::string inproc_url() const override { return "inproc://" + in_process_name_; }
  void Kill() override {
    if (broker_ != nullptr) broker_->Stop();
    broker_.reset();
  }
  Status Restart() override {
    Kill();
    return Serve(port_);
  }

 private:
  Status Serve(std::uint16_t port) {
    broker::BrokerOptions options;
    options.host = "127.0.0.1";
    options.port = port;
    options.io_threads = 1;
    options.auth_token = auth_.token;
    if (!auth_.user.empty()) options.users.push_back({auth_.user, auth_.password});
    options.tls.cert_file = transports_.cert_file;
    options.tls.key_file = transports_.key_file;
    options.tls.ca_file = transports_.ca_file;
    options.tls.verify_clients = transports_.verify_clients;
    options.websocket.enabled = transports_.websocket;
    options.websocket.port = ws_port_;  // 0 the first time; the same after Restart()
    options.websocket.compression = transports_.ws_compression;
    options.websocket.no_tls = !transports_.ws_tls;
    options.in_process_name = in_process_name_;
    EMBED_ASSIGN_OR_RETURN(broker_, broker::Broker::Start(options));
    port_ = broker_->port();
    if (transports_.websocket) ws_port_ = broker_->ws_port();
    return Status::Ok();
  }

  TestServerAuth auth_;
  TestServerTransports transports_;
  std::uint16_t ws_port_ = 0;
  // Unique per server object, kept across Restart().
  std::string in_process_name_ = "embed-interop-" + std::to_string(NextServerNumber());
  std::unique_ptr<broker::Broker> broker_;
  std::uint16_t port_ = 0;
};

}  // namespace

std::vector<TestServerKind> ExtraServerKinds() {
  return {TestServerKind{"EmbedBroker", &EmbedBrokerServer::Start,
                         &EmbedBrokerServer::StartWithAuth,
                         &EmbedBrokerServer::StartWithTransports}};
}
#endif

namespace {

std::vector<TestServerKind> InteropServerKinds() {
  std::vector<TestServerKind> kinds = {NatsServerKind()};
#ifdef EMBED_CLIENT_INTEROP_WITH_BROKER
  for (TestServerKind& kind : ExtraServerKinds()) kinds.push_back(std::move(kind));
#endif
  return kinds;
}

using namespace std::chrono_literals;

class ClientInteropTest : public ServerTest {
 protected:
  ClientInteropTest() : ServerTest("embed-interop") {}
};

TEST_P(ClientInteropTest, PublishesAndSubscribesAcrossConnections) {
  auto subscriber = ConnectOrFail();
  auto publisher = ConnectOrFail();
  ASSERT_TRUE(subscriber && publisher);
  Collector collector;
  auto sub = subscriber->Subscribe("interop.pubsub", collector.Handler());
  ASSERT_TRUE(sub.ok());
  ASSERT_TRUE(subscriber->Flush(kDefaultWait).ok());
  ASSERT_TRUE(publisher->Publish("interop.pubsub", "one").ok());
  ASSERT_TRUE(publisher->Publish("interop.pubsub", std::string(100'000, 'b')).ok());
  ASSERT_TRUE(collector.WaitFor(2));
  EXPECT_EQ(collector.messages()[0].payload, "one");
  EXPECT_EQ(collector.messages()[1].payload.size(), 100'000u);
  EXPECT_EQ(collector.messages()[1].subject, "interop.pubsub");
}

TEST_P(ClientInteropTest, MatchesWildcardSubscriptions) {
  auto connection = ConnectOrFail();
  ASSERT_NE(connection, nullptr);
  Collector star;
  Collector full;
  auto star_sub = connection->Subscribe("interop.*.created", star.Handler());
  auto full_sub = connection->Subscribe("interop.>", full.Handler());
  ASSERT_TRUE(star_sub.ok() && full_sub.ok());
  for (const char* subject :
       {"interop.order.created", "interop.order.deleted", "interop.a.b.created", "other"}) {
    ASSERT_TRUE(connection->Publish(subject, subject).ok());
  }
  ASSERT_TRUE(connection->Flush(kDefaultWait).ok());
  ASSERT_TRUE(full.WaitFor(3));
  ASSERT_TRUE(star.WaitFor(1));
  EXPECT_EQ(star.messages()[0].subject, "interop.order.created");
  EXPECT_EQ(full.messages()[2].subject, "interop.a.b.created");
  EXPECT_EQ(star.size(), 1u);
}

TEST_P(ClientInteropTest, SharesMessagesWithinAQueueGroup) {
  auto first = ConnectOrFail();
  auto second = ConnectOrFail();
  auto publisher = ConnectOrFail();
  ASSERT_TRUE(first && second && publisher);
  Collector a;
  Collector b;
  Collector all;
  const auto both = [&all](MessageHandler member) -> MessageHandler {
    return [member, all_handler = all.Handler()](Message& m) {
      member(m);
      all_handler(m);
    };
  };
  SubscribeOptions queue;
  queue.queue_group = "workers";
  auto sub_a = first->Subscribe("interop.jobs", both(a.Handler()), queue);
  auto sub_b = second->Subscribe("interop.jobs", both(b.Handler()), queue);
  ASSERT_TRUE(sub_a.ok() && sub_b.ok());
  ASSERT_TRUE(first->Flush(kDefaultWait).ok());
  ASSERT_TRUE(second->Flush(kDefaultWait).ok());
  constexpr std::size_t kJobs = 200;
  for (std::size_t i = 0; i < kJobs; ++i) {
    ASSERT_TRUE(publisher->Publish("interop.jobs", std::to_string(i)).ok());
  }
  ASSERT_TRUE(all.WaitFor(kJobs));
  // Round trips through both members' connections: nothing more is on its way.
  ASSERT_TRUE(first->Flush(kDefaultWait).ok());
  ASSERT_TRUE(second->Flush(kDefaultWait).ok());
  std::set<std::string> seen;
  for (const Message& m : a.messages()) seen.insert(m.payload);
  for (const Message& m : b.messages()) seen.insert(m.payload);
  EXPECT_EQ(seen.size(), kJobs);
  EXPECT_EQ(a.size() + b.size(), kJobs);
  EXPECT_GT(a.size(), 0u);
  EXPECT_GT(b.size(), 0u);
}

TEST_P(ClientInteropTest, CarriesHeaders) {
  auto connection = ConnectOrFail();
  ASSERT_NE(connection, nullptr);
  Collector collector;
  auto sub = connection->Subscribe("interop.headers", collector.Handler());
  ASSERT_TRUE(sub.ok());
  Message message;
  message.subject = "interop.headers";
  message.headers.Add("X-Trace", "t-1");
  message.headers.Add("X-Multi", "a");
  message.headers.Add("X-Multi", "b");
  message.payload = "payload";
  ASSERT_TRUE(connection->Publish(message).ok());
  Message empty_body;
  empty_body.subject = "interop.headers";
  empty_body.has_headers = true;
  ASSERT_TRUE(connection->Publish(empty_body).ok());
  ASSERT_TRUE(collector.WaitFor(2));
  const Message received = collector.messages()[0];
  ASSERT_TRUE(received.has_headers);
  EXPECT_EQ(received.headers.Get("X-Trace"), "t-1");
  EXPECT_EQ(received.headers.Values("X-Multi").size(), 2u);
  EXPECT_EQ(received.payload, "payload");
  EXPECT_TRUE(collector.messages()[1].has_headers);
  EXPECT_TRUE(collector.messages()[1].payload.empty());
}

TEST_P(ClientInteropTest, RequestsAndReplies) {
  auto service = ConnectOrFail();
  auto client = ConnectOrFail();
  ASSERT_TRUE(service && client);
  Connection* raw = service.get();
  SubscribeOptions queue;
  queue.queue_group = "svc";
  auto responder = service->Subscribe(
      "interop.echo",
      [raw](const Message& request) {
        raw->Publish(request.reply_to, "re:" + request.payload).IgnoreError();
      },
      queue);
  ASSERT_TRUE(responder.ok());
  ASSERT_TRUE(service->Flush(kDefaultWait).ok());
  for (int i = 0; i < 10; ++i) {
    auto reply = client->Request("interop.echo", std::to_string(i), 2s);
    ASSERT_TRUE(reply.ok()) << reply.status().ToString();
    EXPECT_EQ(reply->payload, "re:" + std::to_string(i));
  }
}

TEST_P(ClientInteropTest, ReportsNoResponders) {
  auto client = ConnectOrFail();
  ASSERT_NE(client, nullptr);
  const auto start = std::chrono::steady_clock::now();
  auto reply = client->Request("interop.nobody", "x", 5s);
  EXPECT_EQ(reply.status().code(), StatusCode::kUnavailable) << reply.status().ToString();
  EXPECT_LT(std::chrono::steady_clock::now() - start, 4s);
}

TEST_P(ClientInteropTest, ReconnectsAfterTheServerRestarts) {
  EventLog log;
  ConnectionOptions options = Options();
  log.Attach(options);
  auto connection = ConnectOrFail(options);
  ASSERT_NE(connection, nullptr);
  Collector collector;
  auto sub = connection->Subscribe("interop.restart", collector.Handler());
  ASSERT_TRUE(sub.ok());
  ASSERT_TRUE(connection->Publish("interop.restart", "before").ok());
  ASSERT_TRUE(collector.WaitFor(1));

  server_->Kill();
  ASSERT_TRUE(log.WaitForEvent(ConnectionEvent::kDisconnected));
  ASSERT_TRUE(connection->Publish("interop.restart", "buffered").ok());
  ASSERT_TRUE(server_->Restart().ok());
  ASSERT_TRUE(log.WaitForEvent(ConnectionEvent::kReconnected, 10s));

  // Resubscribed, and the publish buffered while down was delivered.
  ASSERT_TRUE(collector.WaitFor(2));
  EXPECT_EQ(collector.messages()[1].payload, "buffered");
  auto other = ConnectOrFail();
  ASSERT_NE(other, nullptr);
  ASSERT_TRUE(other->Publish("interop.restart", "from-other").ok());
  ASSERT_TRUE(collector.WaitFor(3));
  EXPECT_EQ(collector.messages()[2].payload, "from-other");
}

INSTANTIATE_TEST_SUITE_P(Servers, ClientInteropTest, ::testing::ValuesIn(InteropServerKinds()),
                         [](const ::testing::TestParamInfo<TestServerKind>& param_info) {
                           return param_info.param.name;
                         });

}  // namespace
}  // namespace testing
}  // namespace embed::client
