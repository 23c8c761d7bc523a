// One broker, every transport: our client over nats://, tls://, ws://, wss://
// and inproc:// against the embedded broker, with the same behaviour
// (pub/sub across transports, request/reply, large messages, reconnect after
// a broker restart with buffered publishes), plus the TLS rules of the NATS
// port (INFO in clear, handshake timeout, mTLS).
#include <chrono>
#include <string>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "embed/broker/broker.h"
#include "embed/client/connection.h"
#include "embed/client/testing/recorders.h"
#include "embed/testing/raw_peer.h"
#include "embed/testing/test_certs.h"

namespace embed::testing {
namespace {

using namespace std::chrono_literals;
using client::Connection;
using client::ConnectionEvent;
using client::ConnectionOptions;
using client::Message;
using client::testing::Collector;
using client::testing::EventLog;
using ::testing::HasSubstr;
using ::testing::StartsWith;

enum class Transport { kTcp, kTls, kWs, kWss, kInProcess };

std::string TransportName(const ::testing::TestParamInfo<Transport>& info) {
  switch (info.param) {
    case Transport::kTcp: return "Tcp";
    case Transport::kTls: return "Tls";
    case Transport::kWs: return "WebSocket";
    case Transport::kWss: return "SecureWebSocket";
    case Transport::kInProcess: return "InProcess";
  }
  return "";
}

class BrokerTransports : public ::testing::TestWithParam<Transport> {
 protected:
  bool UsesTls() const {
    return GetParam() == Transport::kTls || GetParam() == Transport::kWss;
  }

  broker::BrokerOptions Options() {
    broker::BrokerOptions options;
    options.port = port_;
    options.io_threads = 2;
    options.websocket.enabled = true;
    options.websocket.port = ws_port_;
    options.in_process_name = "transport-test-" + std::to_string(::getpid());
    if (UsesTls()) {
      const TestCerts& certs = SharedTestCerts();
      options.tls.cert_file = certs.server_cert;
      options.tls.key_file = certs.server_key;
    }
    return options;
  }

  void StartBroker() {
    auto started = broker::Broker::Start(Options());
    ASSERT_TRUE(started.ok()) << started.status().ToString();
    broker_ = std::move(started).value();
    port_ = broker_->port();
    ws_port_ = broker_->ws_port();
  }

  void SetUp() override { StartBroker(); }
  void TearDown() override {
    if (broker_) broker_->Stop();
  }

  std::string Url() const {
    switch (GetParam()) {
      case Transport::kTcp: return broker_->url();
      case Transport::kTls: return broker_->url();
      case Transport::kWs:
      case Transport::kWss: return broker_->ws_url();
      case Transport::kInProcess: return broker_->in_process_url();
    }
    return "";
  }

  ConnectionOptions ClientOptions(const std::string& url) {
    ConnectionOptions options;
    options.urls = {url};
    options.reconnect_wait = 50ms;
    options.reconnect_jitter = 10ms;
    options.max_reconnect_attempts = -1;
    if (UsesTls()) options.tls.ca_file = SharedTestCerts().ca_cert;
    return options;
  }

  std::unique_ptr<Connection> Connect(const std::string& url, EventLog* log = nullptr) {
    ConnectionOptions options = ClientOptions(url);
    if (log != nullptr) log->Attach(options);
    auto connection = Connection::Connect(options);
    EXPECT_TRUE(connection.ok()) << url << ": " << connection.status().ToString();
    return connection.ok() ? std::move(connection).value() : nullptr;
  }

  std::uint16_t port_ = 0;
  std::uint16_t ws_port_ = 0;
  std::unique_ptr<broker::Broker> broker_;
};

TEST_P(BrokerTransports, UrlsNameTheTransport) {
  const std::string url = Url();
  switch (GetParam()) {
    case Transport::kTcp: EXPECT_THAT(url, StartsWith("nats://127.0.0.1:")); break;
    case Transport::kTls: EXPECT_THAT(url, StartsWith("tls://127.0.0.1:")); break;
    case Transport::kWs: EXPECT_THAT(url, StartsWith("ws://127.0.0.1:")); break;
    case Transport::kWss: EXPECT_THAT(url, StartsWith("wss://127.0.0.1:")); break;
    case Transport::kInProcess: EXPECT_THAT(url, StartsWith("inproc://transport-test-")); break;
  }
}

TEST_P(BrokerTransports, PublishesAndSubscribesAcrossTransports) {
  auto local = Connect(Url());
  // The other side always uses the plain NATS port (nats:// or tls://).
  auto remote = Connect(broker_->url());
  ASSERT_NE(local, nullptr);
  ASSERT_NE(remote, nullptr);
  Collector at_local;
  Collector at_remote;
  auto local_sub = local->Subscribe("to.local", at_local.Handler());
  auto remote_sub = remote->Subscribe("to.remote", at_remote.Handler());
  ASSERT_TRUE(local_sub.ok() && remote_sub.ok());
  ASSERT_TRUE(local->Flush(5s).ok());
  ASSERT_TRUE(remote->Flush(5s).ok());
  for (int i = 0; i < 100; ++i) {
    ASSERT_TRUE(remote->Publish("to.local", std::to_string(i)).ok());
    ASSERT_TRUE(local->Publish("to.remote", std::to_string(i)).ok());
  }
  ASSERT_TRUE(at_local.WaitFor(100));
  ASSERT_TRUE(at_remote.WaitFor(100));
  auto local_messages = at_local.messages();
  auto remote_messages = at_remote.messages();
  for (int i = 0; i < 100; ++i) {
    EXPECT_EQ(local_messages[static_cast<std::size_t>(i)].payload, std::to_string(i));
    EXPECT_EQ(remote_messages[static_cast<std::size_t>(i)].payload, std::to_string(i));
  }
}

TEST_P(BrokerTransports, RequestReplyAndNoResponders) {
  auto server = Connect(broker_->url());
  auto caller = Connect(Url());
  ASSERT_NE(server, nullptr);
  ASSERT_NE(caller, nullptr);
  Connection* responder = server.get();
  auto subscription = server->Subscribe("echo", [responder](const Message& request) {
    responder->Publish(request.reply_to, "echo:" + request.payload).IgnoreError();
  });
  ASSERT_TRUE(subscription.ok());
  ASSERT_TRUE(server->Flush(5s).ok());
  for (int i = 0; i < 20; ++i) {
    auto reply = caller->Request("echo", "n" + std::to_string(i), 5s);
    ASSERT_TRUE(reply.ok()) << reply.status().ToString();
    EXPECT_EQ(reply->payload, "echo:n" + std::to_string(i));
  }
  auto none = caller->Request("nobody.home", "?", 5s);
  EXPECT_EQ(none.status().code(), StatusCode::kUnavailable);
}

TEST_P(BrokerTransports, CarriesAMessageOfOneMebibyteIntact) {
  auto subscriber = Connect(Url());
  auto publisher = Connect(Url());
  ASSERT_NE(subscriber, nullptr);
  ASSERT_NE(publisher, nullptr);
  Collector collector;
  auto subscription = subscriber->Subscribe("big", collector.Handler());
  ASSERT_TRUE(subscription.ok());
  ASSERT_TRUE(subscriber->Flush(5s).ok());
  std::string payload(1024 * 1024 - 512, '\0');
  for (std::size_t i = 0; i < payload.size(); ++i) {
    payload[i] = static_cast<char>((i * 131) % 251);
  }
  ASSERT_TRUE(publisher->Publish("big", payload).ok());
  ASSERT_TRUE(collector.WaitFor(1, 10s));
  EXPECT_TRUE(collector.messages()[0].payload == payload);
}

TEST_P(BrokerTransports, ReconnectsAfterARestartAndDeliversWhatWasBuffered) {
  EventLog log;
  auto connection = Connect(Url(), &log);
  ASSERT_NE(connection, nullptr);
  Collector collector;
  auto subscription = connection->Subscribe("after.restart", collector.Handler());
  ASSERT_TRUE(subscription.ok());
  ASSERT_TRUE(connection->Flush(5s).ok());

  broker_->Stop();
  broker_.reset();
  ASSERT_TRUE(log.WaitForEvent(ConnectionEvent::kDisconnected));
  // Published while disconnected: goes to the reconnect buffer.
  ASSERT_TRUE(connection->Publish("after.restart", "buffered").ok());
  StartBroker();  // same ports and in-process name
  ASSERT_TRUE(log.WaitForEvent(ConnectionEvent::kReconnected, 10s));
  ASSERT_TRUE(connection->Publish("after.restart", "live").ok());
  ASSERT_TRUE(collector.WaitFor(2, 10s));
  auto messages = collector.messages();
  EXPECT_EQ(messages[0].payload, "buffered");
  EXPECT_EQ(messages[1].payload, "live");
}

INSTANTIATE_TEST_SUITE_P(AllTransports, BrokerTransports,
                         ::testing::Values(Transport::kTcp, Transport::kTls, Transport::kWs,
                                           Transport::kWss, Transport::kInProcess),
                         TransportName);

TEST(BrokerInProcess, UnknownNameIsUnavailableAndNamesAreUnique) {
  ConnectionOptions options;
  options.urls = {"inproc://nobody-registered-this"};
  options.allow_reconnect = false;
  auto connection = Connection::Connect(options);
  EXPECT_EQ(connection.status().code(), StatusCode::kUnavailable);

  broker::BrokerOptions broker_options;
  broker_options.port = 0;
  broker_options.in_process_name = "unique-name";
  auto first = broker::Broker::Start(broker_options);
  ASSERT_TRUE(first.ok());
  auto second = broker::Broker::Start(broker_options);
  EXPECT_EQ(second.status().code(), StatusCode::kAlreadyExists);
  EXPECT_EQ((*first)->in_process_url(), "inproc://unique-name");
  // A default name is unique per broker.
  broker_options.in_process_name.clear();
  auto third = broker::Broker::Start(broker_options);
  auto fourth = broker::Broker::Start(broker_options);
  ASSERT_TRUE(third.ok() && fourth.ok());
  EXPECT_NE((*third)->in_process_url(), (*fourth)->in_process_url());
}

class BrokerTls : public ::testing::Test {
 protected:
  broker::BrokerOptions TlsOptions() {
    const TestCerts& certs = SharedTestCerts();
    broker::BrokerOptions options;
    options.port = 0;
    options.io_threads = 1;
    options.tls.cert_file = certs.server_cert;
    options.tls.key_file = certs.server_key;
    return options;
  }
  void Start(const broker::BrokerOptions& options) {
    auto started = broker::Broker::Start(options);
    ASSERT_TRUE(started.ok()) << started.status().ToString();
    broker_ = std::move(started).value();
  }
  ConnectionOptions ClientOptions() {
    ConnectionOptions options;
    options.urls = {broker_->url()};
    options.allow_reconnect = false;
    options.connect_timeout = 3s;
    options.tls.ca_file = SharedTestCerts().ca_cert;
    return options;
  }
  std::unique_ptr<broker::Broker> broker_;
};

TEST_F(BrokerTls, SendsInfoInClearWithTlsRequiredThenDropsAPlaintextClient) {
  Start(TlsOptions());
  auto peer = RawPeer::Connect(broker_->port());
  ASSERT_TRUE(peer.ok());
  auto line = (*peer)->ReadLine();
  ASSERT_TRUE(line.ok());
  ASSERT_THAT(*line, StartsWith("INFO {"));
  auto info = nlohmann::json::parse(line->substr(5));
  EXPECT_EQ(info["tls_required"], true);
  ASSERT_TRUE((*peer)->Send("CONNECT {}\r\nPING\r\n").ok());
  EXPECT_TRUE((*peer)->WaitForClose());
  EXPECT_THAT((*peer)->received_before_close(), ::testing::Not(HasSubstr("PONG")));
}

TEST_F(BrokerTls, DropsAClientThatNeverStartsTheHandshake) {
  broker::BrokerOptions options = TlsOptions();
  options.tls.handshake_timeout = 300ms;
  Start(options);
  auto peer = RawPeer::Connect(broker_->port());
  ASSERT_TRUE(peer.ok());
  ASSERT_TRUE((*peer)->ReadLine().ok());
  const auto started = std::chrono::steady_clock::now();
  EXPECT_TRUE((*peer)->WaitForClose(5s));
  EXPECT_LT(std::chrono::steady_clock::now() - started, 3s);
  EXPECT_EQ(broker_->stats().connections, 0u);
}

TEST_F(BrokerTls, RequiresAClientCertificateWhenVerifyingClients) {
  const TestCerts& certs = SharedTestCerts();
  broker::BrokerOptions options = TlsOptions();
  options.tls.ca_file = certs.ca_cert;
  options.tls.verify_clients = true;
  Start(options);
  auto without = Connection::Connect(ClientOptions());
  EXPECT_FALSE(without.ok());

  ConnectionOptions with = ClientOptions();
  with.tls.cert_file = certs.client_cert;
  with.tls.key_file = certs.client_key;
  auto connection = Connection::Connect(with);
  ASSERT_TRUE(connection.ok()) << connection.status().ToString();
  auto reply = (*connection)->Request("nobody", "x", 2s);
  EXPECT_EQ(reply.status().code(), StatusCode::kUnavailable);
}

TEST_F(BrokerTls, AClientThatDoesNotTrustTheCertificateFailsClearly) {
  Start(TlsOptions());
  ConnectionOptions options = ClientOptions();
  options.tls.ca_file = SharedTestCerts().other_ca_cert;
  auto connection = Connection::Connect(options);
  ASSERT_FALSE(connection.ok());
  EXPECT_THAT(connection.status().ToString(), HasSubstr("certificate verify failed"));
}

TEST_F(BrokerTls, RejectsInconsistentOptions) {
  broker::BrokerOptions options;
  options.port = 0;
  options.tls.key_file = "/nonexistent.key";
  EXPECT_EQ(broker::Broker::Start(options).status().code(), StatusCode::kInvalidArgument);
  options = TlsOptions();
  options.tls.verify_clients = true;  // no CA
  EXPECT_EQ(broker::Broker::Start(options).status().code(), StatusCode::kInvalidArgument);
  options = TlsOptions();
  options.tls.cert_file = "/nonexistent.pem";
  auto missing = broker::Broker::Start(options);
  EXPECT_FALSE(missing.ok());
  EXPECT_THAT(missing.status().ToString(), HasSubstr("/nonexistent.pem"));
}

}  // namespace
}  // namespace embed::testing
