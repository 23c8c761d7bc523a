#include "embed/net/tls/tls_codec.h"

#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include <gtest/gtest.h>

#include <boost/asio/buffer.hpp>
#include <boost/asio/error.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>

#include "embed/net/layered_stream.h"
#include "embed/net/tcp_stream.h"
#include "embed/net/tls/tls_context.h"
#include "embed/testing/test_certs.h"

namespace embed::net {
namespace {

using embed::testing::SharedTestCerts;

using namespace std::chrono_literals;
using TlsStream = LayeredStream<TcpStream, TlsCodec>;

static_assert(StreamCodec<TlsCodec>);
static_assert(ByteStream<TlsStream>);

std::shared_ptr<TlsContext> ServerContext(bool verify_clients) {
  const auto& certs = SharedTestCerts();
  TlsConfig config;
  config.cert_file = certs.server_cert;
  config.key_file = certs.server_key;
  config.ca_file = certs.ca_cert;
  config.verify_peer = verify_clients;
  auto context = TlsContext::CreateServer(config);
  EXPECT_TRUE(context.ok()) << context.status().ToString();
  return context.ok() ? *context : nullptr;
}

std::shared_ptr<TlsContext> ClientContext(const std::string& ca_file, bool with_cert) {
  const auto& certs = SharedTestCerts();
  TlsConfig config;
  config.ca_file = ca_file;
  if (with_cert) {
    config.cert_file = certs.client_cert;
    config.key_file = certs.client_key;
  }
  auto context = TlsContext::CreateClient(config);
  EXPECT_TRUE(context.ok()) << context.status().ToString();
  return context.ok() ? *context : nullptr;
}

// Moves codec output from each side to the other until both are quiet.
void Shuttle(TlsCodec& a, TlsCodec& b) {
  for (int round = 0; round < 50; ++round) {
    std::string a_to_b;
    std::string b_to_a;
    a.TakeWireOutput(a_to_b);
    if (!a_to_b.empty()) b.OnWireInput(a_to_b);
    b.TakeWireOutput(b_to_a);
    if (!b_to_a.empty()) a.OnWireInput(b_to_a);
    if (a_to_b.empty() && b_to_a.empty()) return;
  }
  ADD_FAILURE() << "codecs kept talking";
}

std::string ReadAllApp(TlsCodec& codec) {
  std::string out;
  char buffer[1000];
  while (codec.has_app_data()) out.append(buffer, codec.ReadApp(buffer, sizeof buffer));
  return out;
}

TEST(TlsCodecInMemory, HandshakesAndCarriesDataBothWaysEncrypted) {
  TlsCodec server = TlsCodec::Server(ServerContext(false), false);
  TlsCodec client = TlsCodec::Client(ClientContext(SharedTestCerts().ca_cert, false), "localhost", false);
  EXPECT_TRUE(client.has_wire_output());  // the ClientHello, queued at once
  EXPECT_FALSE(client.handshake_done());

  // Written before the handshake ends: held, then sent encrypted.
  std::string wire;
  client.EncodeApp("CONNECT {\"secret\":1}\r\n", wire);
  EXPECT_EQ(wire.find("secret"), std::string::npos);

  Shuttle(client, server);
  ASSERT_FALSE(server.error()) << server.error_reason();
  ASSERT_FALSE(client.error()) << client.error_reason();
  EXPECT_TRUE(client.handshake_done());
  EXPECT_TRUE(server.handshake_done());
  EXPECT_EQ(ReadAllApp(server), "CONNECT {\"secret\":1}\r\n");
  EXPECT_NE(client.peer_certificate_subject().find("CN=localhost"), std::string::npos)
      << client.peer_certificate_subject();
  EXPECT_EQ(server.peer_certificate_subject(), "");  // no client certificate asked for

  // After the handshake the records wait in the codec (order with its own
  // records is kept) and never carry the plaintext.
  std::string reply;
  server.EncodeApp("MSG secret-reply\r\n", reply);
  ASSERT_TRUE(server.has_wire_output());
  server.TakeWireOutput(reply);
  EXPECT_EQ(reply.find("secret-reply"), std::string::npos);
  client.OnWireInput(reply);
  EXPECT_EQ(ReadAllApp(client), "MSG secret-reply\r\n");
  EXPECT_FALSE(client.has_app_data());

  // close_notify reaches the peer as eof.
  std::string closing;
  client.EncodeClose(1000, "", closing);
  ASSERT_FALSE(closing.empty());
  server.OnWireInput(closing);
  EXPECT_EQ(server.error(), boost::asio::error::eof);
}

TEST(TlsCodecInMemory, PlaintextInfoFirstThenTlsTheNatsWay) {
  TlsCodec server = TlsCodec::Server(ServerContext(false), true);
  TlsCodec client = TlsCodec::Client(ClientContext(SharedTestCerts().ca_cert, false), "localhost", true);
  EXPECT_FALSE(client.has_wire_output());  // nothing until StartHandshake()

  std::string wire;
  server.EncodeApp("INFO {\"tls_required\":true}\r\n", wire);
  server.TakeWireOutput(wire);
  EXPECT_EQ(wire, "INFO {\"tls_required\":true}\r\n");
  client.OnWireInput(wire);
  EXPECT_EQ(ReadAllApp(client), "INFO {\"tls_required\":true}\r\n");

  client.StartHandshake();
  EXPECT_TRUE(client.has_wire_output());
  std::string connect;
  client.EncodeApp("CONNECT {}\r\n", connect);
  Shuttle(client, server);
  ASSERT_TRUE(client.handshake_done()) << client.error_reason();
  EXPECT_EQ(ReadAllApp(server), "CONNECT {}\r\n");
  // The second server write is TLS.
  std::string pong;
  server.EncodeApp("PONG\r\n", pong);
  server.TakeWireOutput(pong);
  EXPECT_EQ(pong.find("PONG"), std::string::npos);
  client.OnWireInput(pong);
  EXPECT_EQ(ReadAllApp(client), "PONG\r\n");
}

TEST(TlsCodecInMemory, GarbageFromThePeerIsAnErrorNotACrash) {
  TlsCodec server = TlsCodec::Server(ServerContext(false), false);
  server.OnWireInput(std::string(5000, '\x16'));
  server.OnWireInput("GET / HTTP/1.1\r\nHost: x\r\n\r\n");
  ASSERT_TRUE(server.error());
  EXPECT_EQ(&server.error().category(), &TlsCategory());
  EXPECT_STREQ(server.error().category().name(), "tls");
  EXPECT_FALSE(server.error().message().empty());
  EXPECT_FALSE(server.has_app_data());
  std::string alert;
  server.TakeWireOutput(alert);  // whatever alert OpenSSL owes the peer
  server.OnWireInput("more");    // ignored after the error
  std::string plain;
  server.EncodeApp("ignored", plain);
  EXPECT_TRUE(plain.empty());
}

TEST(TlsCodecInMemory, FloodBeforeTheFirstServerWriteIsBounded) {
  TlsCodec server = TlsCodec::Server(ServerContext(false), true);
  std::string chunk(64 * 1024, 'x');
  for (int i = 0; i < 5 && !server.error(); ++i) server.OnWireInput(chunk);
  ASSERT_TRUE(server.error());
  EXPECT_EQ(server.error().value(), tls_errc::kTooMuchInput);
}

TEST(TlsCodecInMemory, OneContextServesSessionsOnManyThreadsAtOnce) {
  auto server_context = ServerContext(true);
  auto client_context = ClientContext(SharedTestCerts().ca_cert, true);
  constexpr int kThreads = 4;
  constexpr int kSessionsPerThread = 25;
  std::vector<int> successes(kThreads, 0);
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kSessionsPerThread; ++i) {
        TlsCodec server = TlsCodec::Server(server_context, false);
        TlsCodec client = TlsCodec::Client(client_context, "localhost", false);
        std::string ignored;
        const std::string message = "thread " + std::to_string(t) + " #" + std::to_string(i);
        client.EncodeApp(message, ignored);
        Shuttle(client, server);
        if (ReadAllApp(server) == message && !server.error() && !client.error()) ++successes[t];
      }
    });
  }
  for (auto& thread : threads) thread.join();
  for (int t = 0; t < kThreads; ++t) EXPECT_EQ(successes[t], kSessionsPerThread) << t;
}

// Two TLS streams over a real loopback TCP connection, driven by polling in
// one thread: every wait is bounded.
class TlsOverTcp : public ::testing::Test {
 protected:
  struct Side {
    explicit Side(TlsStream tls_stream) : stream(std::move(tls_stream)) {}
    // Reads everything available (non-blocking); keeps the first error.
    void Poll() {
      if (error) return;
      std::vector<char> buffer(64 * 1024);
      while (true) {
        boost::system::error_code read_error;
        std::size_t count = stream.ReadSome(boost::asio::buffer(buffer), read_error);
        if (read_error == boost::asio::error::would_block) return;
        if (read_error) {
          error = read_error;
          return;
        }
        received.append(buffer.data(), count);
      }
    }
    void Write(const std::string& bytes) {
      ++writes_pending;
      stream.AsyncWrite(boost::asio::buffer(bytes),
                        [this](boost::system::error_code result, std::size_t) {
                          --writes_pending;
                          if (result && !write_error) write_error = result;
                        });
    }
    TlsStream stream;
    std::string received;
    boost::system::error_code error;
    boost::system::error_code write_error;
    int writes_pending = 0;
  };

  void Connect(TlsCodec server_codec, TlsCodec client_codec) {
    boost::asio::ip::tcp::acceptor acceptor(
        io_, boost::asio::ip::tcp::endpoint(boost::asio::ip::make_address("127.0.0.1"), 0));
    TcpSocket client_socket(io_);
    client_socket.connect(acceptor.local_endpoint());
    TcpSocket server_socket(io_);
    acceptor.accept(server_socket);
    server_ = std::make_unique<Side>(
        TlsStream(TcpStream(std::move(server_socket)), std::move(server_codec)));
    client_ = std::make_unique<Side>(
        TlsStream(TcpStream(std::move(client_socket)), std::move(client_codec)));
    client_->stream.FlushWireOutput();  // the ClientHello when TLS starts at once
  }

  // Polls both sides until `done` holds; false after `timeout`.
  bool RunUntil(const std::function<bool()>& done, std::chrono::milliseconds timeout = 5s) {
    auto deadline = std::chrono::steady_clock::now() + timeout;
    while (std::chrono::steady_clock::now() < deadline) {
      io_.poll();
      io_.restart();
      server_->Poll();
      client_->Poll();
      if (done()) return true;
      std::this_thread::sleep_for(1ms);
    }
    return false;
  }

  boost::asio::io_context io_;
  std::unique_ptr<Side> server_;
  std::unique_ptr<Side> client_;
};

TEST_F(TlsOverTcp, NatsStylePlaintextInfoThenHandshakeThenEncryptedConnect) {
  Connect(TlsCodec::Server(ServerContext(false), true),
          TlsCodec::Client(ClientContext(SharedTestCerts().ca_cert, false), "localhost", true));
  server_->Write("INFO {}\r\n");
  ASSERT_TRUE(RunUntil([&] { return client_->received == "INFO {}\r\n"; }))
      << "client got '" << client_->received << "'";
  EXPECT_FALSE(client_->stream.codec().handshake_done());

  client_->stream.codec().StartHandshake();
  client_->stream.FlushWireOutput();
  client_->Write("CONNECT {}\r\nPING\r\n");
  ASSERT_TRUE(RunUntil([&] { return server_->received == "CONNECT {}\r\nPING\r\n"; }))
      << "server got '" << server_->received << "' " << server_->error.message();
  EXPECT_TRUE(server_->stream.codec().handshake_done());
  EXPECT_TRUE(client_->stream.codec().handshake_done());

  server_->Write("PONG\r\n");
  ASSERT_TRUE(RunUntil([&] { return client_->received == "INFO {}\r\nPONG\r\n"; }))
      << client_->error.message();
  EXPECT_FALSE(server_->error);
  EXPECT_FALSE(client_->error);
}

TEST_F(TlsOverTcp, MutualTlsAcceptsTheClientCertificate) {
  Connect(TlsCodec::Server(ServerContext(true), false),
          TlsCodec::Client(ClientContext(SharedTestCerts().ca_cert, true), "localhost", false));
  client_->Write("hello");
  ASSERT_TRUE(RunUntil([&] { return server_->received == "hello"; }))
      << server_->stream.codec().error_reason() << " / "
      << client_->stream.codec().error_reason();
  EXPECT_NE(server_->stream.codec().peer_certificate_subject().find("CN=embed-test-client"),
            std::string::npos)
      << server_->stream.codec().peer_certificate_subject();
  server_->Write("world");
  ASSERT_TRUE(RunUntil([&] { return client_->received == "world"; }));
}

TEST_F(TlsOverTcp, MutualTlsRejectsAClientWithoutCertificate) {
  Connect(TlsCodec::Server(ServerContext(true), false),
          TlsCodec::Client(ClientContext(SharedTestCerts().ca_cert, false), "localhost", false));
  client_->Write("hello");
  ASSERT_TRUE(RunUntil([&] { return server_->error && client_->error; }))
      << "server: " << server_->error.message() << " client: " << client_->error.message();
  EXPECT_EQ(&server_->error.category(), &TlsCategory());
  EXPECT_NE(server_->error.message().find("certificate"), std::string::npos)
      << server_->error.message();
  EXPECT_NE(client_->error, boost::asio::error::eof);
  EXPECT_TRUE(server_->received.empty());
}

TEST_F(TlsOverTcp, ClientTrustingAnotherCaFailsVerification) {
  Connect(TlsCodec::Server(ServerContext(false), false),
          TlsCodec::Client(ClientContext(SharedTestCerts().other_ca_cert, false), "localhost", false));
  client_->Write("hello");
  ASSERT_TRUE(RunUntil([&] { return server_->error && client_->error; }))
      << "server: " << server_->error.message() << " client: " << client_->error.message();
  EXPECT_EQ(client_->error.message(), "certificate verify failed");
  EXPECT_NE(client_->stream.codec().error_reason().find("certificate verify failed"),
            std::string::npos);
  EXPECT_TRUE(server_->received.empty());
}

TEST_F(TlsOverTcp, HostNameMismatchIsRejected) {
  Connect(TlsCodec::Server(ServerContext(false), false),
          TlsCodec::Client(ClientContext(SharedTestCerts().ca_cert, false), "nats.example.com", false));
  ASSERT_TRUE(RunUntil([&] { return client_->error.operator bool(); }));
  EXPECT_EQ(client_->error.message(), "certificate verify failed");
  EXPECT_NE(client_->stream.codec().error_reason().find("hostname mismatch"), std::string::npos)
      << client_->stream.codec().error_reason();
}

TEST_F(TlsOverTcp, IpLiteralInTheCertificateIsAccepted) {
  Connect(TlsCodec::Server(ServerContext(false), false),
          TlsCodec::Client(ClientContext(SharedTestCerts().ca_cert, false), "127.0.0.1", false));
  client_->Write("by address");
  ASSERT_TRUE(RunUntil([&] { return server_->received == "by address"; }))
      << client_->stream.codec().error_reason();
}

TEST_F(TlsOverTcp, OneMebibyteArrivesIntactBothWays) {
  Connect(TlsCodec::Server(ServerContext(false), false),
          TlsCodec::Client(ClientContext(SharedTestCerts().ca_cert, false), "localhost", false));
  std::string payload(1024 * 1024, '\0');
  for (std::size_t i = 0; i < payload.size(); ++i) {
    payload[i] = static_cast<char>((i * 131 + i / 4096) & 0xff);
  }
  client_->Write(payload);
  server_->Write(payload);
  ASSERT_TRUE(RunUntil([&] {
    return server_->received.size() >= payload.size() &&
           client_->received.size() >= payload.size() && client_->writes_pending == 0 &&
           server_->writes_pending == 0;
  }, 20s)) << server_->received.size() << " / " << client_->received.size();
  EXPECT_TRUE(server_->received == payload);
  EXPECT_TRUE(client_->received == payload);
  EXPECT_FALSE(client_->write_error);
  EXPECT_FALSE(server_->write_error);
}

TEST_F(TlsOverTcp, CloseSendsCloseNotifySeenAsEof) {
  Connect(TlsCodec::Server(ServerContext(false), false),
          TlsCodec::Client(ClientContext(SharedTestCerts().ca_cert, false), "localhost", false));
  client_->Write("last words");
  ASSERT_TRUE(RunUntil([&] { return server_->received == "last words"; }));
  client_->stream.Close();
  ASSERT_TRUE(RunUntil([&] { return server_->error.operator bool(); }));
  EXPECT_EQ(server_->error, boost::asio::error::eof);
  // The codec saw close_notify (not only the TCP FIN).
  EXPECT_EQ(server_->stream.codec().error(), boost::asio::error::eof);
  EXPECT_EQ(server_->received, "last words");
}

TEST_F(TlsOverTcp, CloseAtOnceClosesTheSocketWhileAWriteIsInFlight) {
  Connect(TlsCodec::Server(ServerContext(false), false),
          TlsCodec::Client(ClientContext(SharedTestCerts().ca_cert, false), "localhost", false));
  client_->Write("hello");
  ASSERT_TRUE(RunUntil([&] { return server_->received == "hello"; }));
  // The write's completion is queued, and stays so: io_ does not run here,
  // like a broker's I/O thread after Stop().
  server_->Write("PONG\r\n");
  server_->stream.CloseAtOnce();
  auto deadline = std::chrono::steady_clock::now() + 5s;
  while (!client_->error && std::chrono::steady_clock::now() < deadline) {
    client_->Poll();
    std::this_thread::sleep_for(1ms);
  }
  EXPECT_TRUE(client_->error) << "the socket is still open";
  io_.poll();
  EXPECT_EQ(server_->writes_pending, 0);
  EXPECT_EQ(server_->write_error, boost::asio::error::operation_aborted);
}

}  // namespace
}  // namespace embed::net
