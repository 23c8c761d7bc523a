// Interop: our client (embed::client) over every network transport against
// a real nats-server started by each test with a generated config: tls://
// (server verified with the test CA, mutual TLS, a wrong CA, TLS asked of a
// server without it), ws:// (pub/sub, request/reply, 1 MiB, headers,
// reconnect with the reconnect buffer), wss:// and ws:// with compression;
// and inproc://<name> for server kinds that run in this process.
// Parameterized over the server kinds that can start such listeners
// (TestServerKind::start_with_transports), so a binary that adds the embed
// broker runs the same cases against it.

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "embed/client/connection.h"
#include "embed/client/testing/nats_server_process.h"
#include "embed/client/testing/recorders.h"
#include "embed/client/testing/server_test.h"
#include "embed/client/testing/test_server.h"
#include "embed/testing/test_certs.h"

namespace embed::client::testing {
namespace {

using namespace std::chrono_literals;
using ::testing::HasSubstr;

// nats-server, plus the kinds the binary adds that can start these listeners.
std::vector<TestServerKind> TransportServerKinds() {
  std::vector<TestServerKind> kinds = {NatsServerKind()};
#ifdef EMBED_CLIENT_TEST_EXTRA_SERVER_KINDS
  for (TestServerKind& kind : ExtraServerKinds()) {
    if (kind.start_with_transports) kinds.push_back(std::move(kind));
  }
#endif
  return kinds;
}

using embed::testing::SharedTestCerts;

class ClientTransportInteropTest : public ::testing::TestWithParam<TestServerKind> {
 protected:
  // TLS on the NATS port with the test certificates.
  static TestServerTransports Tls() {
    TestServerTransports transports;
    transports.cert_file = SharedTestCerts().server_cert;
    transports.key_file = SharedTestCerts().server_key;
    transports.ca_file = SharedTestCerts().ca_cert;
    return transports;
  }
  static TestServerTransports Ws(bool tls = false, bool compression = false) {
    TestServerTransports transports;
    if (tls) transports = Tls();
    transports.websocket = true;
    transports.ws_tls = tls;
    transports.ws_compression = compression;
    return transports;
  }

  std::unique_ptr<TestServer> StartServer(const TestServerTransports& transports) {
    auto server = GetParam().start_with_transports(transports);
    EXPECT_TRUE(server.ok()) << server.status().ToString();
    return server.ok() ? std::move(server).value() : nullptr;
  }

  static ConnectionOptions Options(std::string url) {
    ConnectionOptions options;
    options.urls = {std::move(url)};
    options.name = "embed-transport-interop";
    options.reconnect_wait = 50ms;
    options.reconnect_jitter = 10ms;
    options.max_reconnect_attempts = -1;
    return options;
  }
  static ConnectionOptions TlsClientOptions(std::string url) {
    ConnectionOptions options = Options(std::move(url));
    options.tls.ca_file = SharedTestCerts().ca_cert;
    return options;
  }

  static std::unique_ptr<Connection> ConnectOrFail(const ConnectionOptions& options) {
    auto connection = Connection::Connect(options);
    EXPECT_TRUE(connection.ok()) << options.urls[0] << ": " << connection.status().ToString();
    return connection.ok() ? std::move(connection).value() : nullptr;
  }

  // Pub/sub between two connections, a request/reply, and a message with
  // headers, all over `options`.
  static void ExpectMessagingWorks(const ConnectionOptions& options,
                                   std::size_t big_payload_bytes = 100'000) {
    auto subscriber = ConnectOrFail(options);
    auto publisher = ConnectOrFail(options);
    ASSERT_TRUE(subscriber && publisher);
    Collector collector;
    auto sub = subscriber->Subscribe("transport.pubsub", collector.Handler());
    ASSERT_TRUE(sub.ok());
    ASSERT_TRUE(subscriber->Flush(kDefaultWait).ok());
    std::string big(big_payload_bytes, 'b');
    for (std::size_t i = 0; i < big.size(); i += 7) big[i] = static_cast<char>('a' + i % 23);
    ASSERT_TRUE(publisher->Publish("transport.pubsub", "one").ok());
    ASSERT_TRUE(publisher->Publish("transport.pubsub", big).ok());
    Message with_headers;
    with_headers.subject = "transport.pubsub";
    with_headers.headers.Add("X-Trace", "t-1");
    with_headers.payload = "h";
    ASSERT_TRUE(publisher->Publish(with_headers).ok());
    ASSERT_TRUE(collector.WaitFor(3, 10s));
    const auto messages = collector.messages();
    EXPECT_EQ(messages[0].payload, "one");
    EXPECT_EQ(messages[1].payload, big);
    ASSERT_TRUE(messages[2].has_headers);
    EXPECT_EQ(messages[2].headers.Get("X-Trace"), "t-1");

    Connection* raw = subscriber.get();
    auto responder = subscriber->Subscribe("transport.echo", [raw](const Message& request) {
      raw->Publish(request.reply_to, "re:" + request.payload).IgnoreError();
    });
    ASSERT_TRUE(responder.ok());
    ASSERT_TRUE(subscriber->Flush(kDefaultWait).ok());
    for (int i = 0; i < 5; ++i) {
      auto reply = publisher->Request("transport.echo", std::to_string(i), 2s);
      ASSERT_TRUE(reply.ok()) << reply.status().ToString();
      EXPECT_EQ(reply->payload, "re:" + std::to_string(i));
    }
  }
};

TEST_P(ClientTransportInteropTest, TlsVerifiesTheServerWithTheTestCa) {
  auto server = StartServer(Tls());
  ASSERT_NE(server, nullptr);
  ASSERT_THAT(server->url(), ::testing::StartsWith("tls://"));
  auto connection = ConnectOrFail(TlsClientOptions(server->url()));
  ASSERT_NE(connection, nullptr);
  EXPECT_EQ(connection->connected_url(), server->url());
  ExpectMessagingWorks(TlsClientOptions(server->url()));
}

TEST_P(ClientTransportInteropTest, TlsUpgradesANatsUrlWhenTheServerRequiresIt) {
  auto server = StartServer(Tls());
  ASSERT_NE(server, nullptr);
  const std::string nats_url = "nats://" + server->url().substr(std::string("tls://").size());
  // The CA is configured: TLS is wanted on nats:// too.
  ExpectMessagingWorks(TlsClientOptions(nats_url));
  // Nothing configured: upgrades because INFO says tls_required (as nats.go),
  // verifying with the system CAs, which do not know the test CA.
  auto untrusted = Connection::Connect(Options(nats_url));
  ASSERT_FALSE(untrusted.ok());
  EXPECT_THAT(std::string(untrusted.status().message()), HasSubstr("TLS handshake failed"));
  ConnectionOptions no_verify = Options(nats_url);
  no_verify.tls.verify = false;
  auto connection = ConnectOrFail(no_verify);
  ASSERT_NE(connection, nullptr);
  EXPECT_TRUE(connection->Flush(kDefaultWait).ok());
}

TEST_P(ClientTransportInteropTest, TlsWithAWrongCaFailsClearly) {
  auto server = StartServer(Tls());
  ASSERT_NE(server, nullptr);
  ConnectionOptions options = Options(server->url());
  options.tls.ca_file = SharedTestCerts().other_ca_cert;
  auto connection = Connection::Connect(options);
  ASSERT_FALSE(connection.ok());
  EXPECT_EQ(connection.status().code(), StatusCode::kUnavailable);
  EXPECT_THAT(std::string(connection.status().message()), HasSubstr("TLS handshake failed"));
  EXPECT_THAT(std::string(connection.status().message()), HasSubstr("certificate verify failed"));
}

TEST_P(ClientTransportInteropTest, TlsChecksTheServerName) {
  auto server = StartServer(Tls());
  ASSERT_NE(server, nullptr);
  ConnectionOptions options = TlsClientOptions(server->url());
  options.tls.server_name = "not-the-server.example";
  auto connection = Connection::Connect(options);
  ASSERT_FALSE(connection.ok());
  EXPECT_THAT(std::string(connection.status().message()), HasSubstr("TLS handshake failed"));
  options.tls.server_name = "localhost";  // in the certificate's SAN
  ExpectMessagingWorks(options, 1000);
}

TEST_P(ClientTransportInteropTest, MutualTlsNeedsAClientCertificate) {
  TestServerTransports transports = Tls();
  transports.verify_clients = true;
  auto server = StartServer(transports);
  ASSERT_NE(server, nullptr);
  ConnectionOptions options = TlsClientOptions(server->url());
  options.allow_reconnect = false;
  auto without = Connection::Connect(options);
  ASSERT_FALSE(without.ok()) << "connected without a client certificate";
  // TLS 1.3: the server rejects the missing certificate after the client's
  // side of the handshake ended: an alert ("TLS failed: ... bad
  // certificate") or, when the close overtakes it, a closed connection.
  EXPECT_EQ(without.status().code(), StatusCode::kUnavailable);
  EXPECT_THAT(std::string(without.status().message()), HasSubstr("cannot connect to tls://"));
  options.tls.cert_file = SharedTestCerts().client_cert;
  options.tls.key_file = SharedTestCerts().client_key;
  ExpectMessagingWorks(options, 1000);
}

TEST_P(ClientTransportInteropTest, TlsUrlToAServerWithoutTlsFails) {
  auto server = StartServer(TestServerTransports{});
  ASSERT_NE(server, nullptr);
  const std::string tls_url = "tls://" + server->url().substr(std::string("nats://").size());
  auto connection = Connection::Connect(TlsClientOptions(tls_url));
  ASSERT_FALSE(connection.ok());
  EXPECT_EQ(connection.status().code(), StatusCode::kUnavailable);
  EXPECT_THAT(std::string(connection.status().message()),
              HasSubstr("secure connection not available"));
}

TEST_P(ClientTransportInteropTest, WebSocketCarriesMessages) {
  auto server = StartServer(Ws());
  ASSERT_NE(server, nullptr);
  ASSERT_THAT(server->ws_url(), ::testing::StartsWith("ws://"));
  auto connection = ConnectOrFail(Options(server->ws_url()));
  ASSERT_NE(connection, nullptr);
  EXPECT_EQ(connection->connected_url(), server->ws_url());
  ExpectMessagingWorks(Options(server->ws_url()), 1024 * 1024);
}

TEST_P(ClientTransportInteropTest, WebSocketAndTcpClientsShareSubjects) {
  auto server = StartServer(Ws());
  ASSERT_NE(server, nullptr);
  auto ws = ConnectOrFail(Options(server->ws_url()));
  auto tcp = ConnectOrFail(Options(server->url()));
  ASSERT_TRUE(ws && tcp);
  Collector from_tcp;
  Collector from_ws;
  auto ws_sub = ws->Subscribe("mixed.to_ws", from_tcp.Handler());
  auto tcp_sub = tcp->Subscribe("mixed.to_tcp", from_ws.Handler());
  ASSERT_TRUE(ws_sub.ok() && tcp_sub.ok());
  ASSERT_TRUE(ws->Flush(kDefaultWait).ok() && tcp->Flush(kDefaultWait).ok());
  ASSERT_TRUE(tcp->Publish("mixed.to_ws", "from tcp").ok());
  ASSERT_TRUE(ws->Publish("mixed.to_tcp", "from ws").ok());
  ASSERT_TRUE(from_tcp.WaitFor(1) && from_ws.WaitFor(1));
  EXPECT_EQ(from_tcp.messages()[0].payload, "from tcp");
  EXPECT_EQ(from_ws.messages()[0].payload, "from ws");
}

TEST_P(ClientTransportInteropTest, WebSocketReconnectsAndDeliversTheReconnectBuffer) {
  auto server = StartServer(Ws());
  ASSERT_NE(server, nullptr);
  EventLog log;
  ConnectionOptions options = Options(server->ws_url());
  log.Attach(options);
  auto connection = ConnectOrFail(options);
  ASSERT_NE(connection, nullptr);
  Collector collector;
  auto sub = connection->Subscribe("transport.restart", collector.Handler());
  ASSERT_TRUE(sub.ok());
  ASSERT_TRUE(connection->Publish("transport.restart", "before").ok());
  ASSERT_TRUE(collector.WaitFor(1));

  server->Kill();
  ASSERT_TRUE(log.WaitForEvent(ConnectionEvent::kDisconnected));
  ASSERT_TRUE(connection->Publish("transport.restart", "buffered").ok());
  ASSERT_TRUE(server->Restart().ok());
  ASSERT_TRUE(log.WaitForEvent(ConnectionEvent::kReconnected, 10s));
  ASSERT_TRUE(collector.WaitFor(2));
  EXPECT_EQ(collector.messages()[1].payload, "buffered");
  EXPECT_EQ(connection->connected_url(), server->ws_url());
  auto other = ConnectOrFail(Options(server->ws_url()));
  ASSERT_NE(other, nullptr);
  ASSERT_TRUE(other->Publish("transport.restart", "from-other").ok());
  ASSERT_TRUE(collector.WaitFor(3));
  EXPECT_EQ(collector.messages()[2].payload, "from-other");
}

TEST_P(ClientTransportInteropTest, SecureWebSocketCarriesMessages) {
  auto server = StartServer(Ws(/*tls=*/true));
  ASSERT_NE(server, nullptr);
  ASSERT_THAT(server->ws_url(), ::testing::StartsWith("wss://"));
  ExpectMessagingWorks(TlsClientOptions(server->ws_url()), 1024 * 1024);
  // The server is checked there as on tls://.
  ConnectionOptions wrong_ca = Options(server->ws_url());
  wrong_ca.tls.ca_file = SharedTestCerts().other_ca_cert;
  auto connection = Connection::Connect(wrong_ca);
  ASSERT_FALSE(connection.ok());
  EXPECT_EQ(connection.status().code(), StatusCode::kUnavailable)
      << connection.status().ToString();
  EXPECT_THAT(std::string(connection.status().message()), HasSubstr("certificate verify failed"));
}

TEST_P(ClientTransportInteropTest, WebSocketWithCompressionCarriesMessages) {
  auto server = StartServer(Ws(/*tls=*/false, /*compression=*/true));
  ASSERT_NE(server, nullptr);
  ConnectionOptions options = Options(server->ws_url());
  options.ws_compression = true;
  ExpectMessagingWorks(options, 1024 * 1024);
  // A compressing client and a plain one talk through the same server.
  auto plain = ConnectOrFail(Options(server->ws_url()));
  auto compressed = ConnectOrFail(options);
  ASSERT_TRUE(plain && compressed);
  Collector collector;
  auto sub = plain->Subscribe("transport.deflate", collector.Handler());
  ASSERT_TRUE(sub.ok());
  ASSERT_TRUE(plain->Flush(kDefaultWait).ok());
  const std::string text(300'000, 'z');
  ASSERT_TRUE(compressed->Publish("transport.deflate", text).ok());
  ASSERT_TRUE(collector.WaitFor(1));
  EXPECT_EQ(collector.messages()[0].payload, text);
}

TEST_P(ClientTransportInteropTest, InProcessCarriesMessages) {
  auto server = StartServer(TestServerTransports{});
  ASSERT_NE(server, nullptr);
  if (server->inproc_url().empty()) GTEST_SKIP() << "this server does not run in process";
  auto connection = ConnectOrFail(Options(server->inproc_url()));
  ASSERT_NE(connection, nullptr);
  EXPECT_EQ(connection->connected_url(), server->inproc_url());
  ExpectMessagingWorks(Options(server->inproc_url()), 1024 * 1024);
  // In-process and TCP clients share subjects.
  auto tcp = ConnectOrFail(Options(server->url()));
  ASSERT_NE(tcp, nullptr);
  Collector collector;
  auto sub = connection->Subscribe("mixed.inproc", collector.Handler());
  ASSERT_TRUE(sub.ok());
  ASSERT_TRUE(connection->Flush(kDefaultWait).ok());
  ASSERT_TRUE(tcp->Publish("mixed.inproc", "from tcp").ok());
  ASSERT_TRUE(collector.WaitFor(1));
  EXPECT_EQ(collector.messages()[0].payload, "from tcp");
}

TEST_P(ClientTransportInteropTest, InProcessReconnectsAndDeliversTheReconnectBuffer) {
  auto server = StartServer(TestServerTransports{});
  ASSERT_NE(server, nullptr);
  if (server->inproc_url().empty()) GTEST_SKIP() << "this server does not run in process";
  EventLog log;
  ConnectionOptions options = Options(server->inproc_url());
  log.Attach(options);
  auto connection = ConnectOrFail(options);
  ASSERT_NE(connection, nullptr);
  Collector collector;
  auto sub = connection->Subscribe("inproc.restart", collector.Handler());
  ASSERT_TRUE(sub.ok());
  ASSERT_TRUE(connection->Publish("inproc.restart", "before").ok());
  ASSERT_TRUE(collector.WaitFor(1));
  server->Kill();
  ASSERT_TRUE(log.WaitForEvent(ConnectionEvent::kDisconnected));
  ASSERT_TRUE(connection->Publish("inproc.restart", "buffered").ok());
  ASSERT_TRUE(server->Restart().ok());
  ASSERT_TRUE(log.WaitForEvent(ConnectionEvent::kReconnected, 10s));
  ASSERT_TRUE(collector.WaitFor(2));
  EXPECT_EQ(collector.messages()[1].payload, "buffered");
}

INSTANTIATE_TEST_SUITE_P(Servers, ClientTransportInteropTest,
                         ::testing::ValuesIn(TransportServerKinds()),
                         [](const ::testing::TestParamInfo<TestServerKind>& param_info) {
                           return param_info.param.name;
                         });
GTEST_ALLOW_UNINSTANTIATED_PARAMETERIZED_TEST(ClientTransportInteropTest);

}  // namespace
}  // namespace embed::client::testing
