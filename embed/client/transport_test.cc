// Tests of the client's transports against fake servers in the test: TLS on
// the NATS port starts before any CONNECT leaves (nothing in plaintext),
// tls:// fails clearly against a server without TLS, TLS options are
// checked at Connect(), and inproc://<name> reaches a server registered in
// the process (a tiny fake NATS server on a PipeStream).

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "embed/client/connection.h"
#include "embed/client/testing/recorders.h"
#include "embed/net/inproc/in_process.h"
#include "embed/net/inproc/pipe_stream.h"

namespace embed::client {
namespace {

using namespace std::chrono_literals;
using ::testing::HasSubstr;
using ::testing::Not;

// A loopback listener that serves one connection: sends `greeting`, then
// records what the client sends for up to `listen_for`, then closes.
class RecordingServer {
 public:
  explicit RecordingServer(std::string greeting) : greeting_(std::move(greeting)) {
    listener_ = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t length = sizeof(address);
    ok_ = listener_ >= 0 &&
          ::bind(listener_, reinterpret_cast<sockaddr*>(&address), sizeof(address)) == 0 &&
          ::listen(listener_, 4) == 0 &&
          ::getsockname(listener_, reinterpret_cast<sockaddr*>(&address), &length) == 0;
    port_ = ntohs(address.sin_port);
    thread_ = std::thread([this] { Serve(); });
  }
  ~RecordingServer() {
    stop_ = true;
    thread_.join();
    if (listener_ >= 0) ::close(listener_);
  }

  bool ok() const { return ok_; }
  std::uint16_t port() const { return port_; }
  // Waits until the connection ended; returns what the client sent.
  std::string Received() {
    thread_done_.wait(false);
    std::lock_guard<std::mutex> lock(mutex_);
    return received_;
  }

 private:
  void Serve() {
    const auto deadline = std::chrono::steady_clock::now() + 3s;
    int client = -1;
    while (!stop_ && std::chrono::steady_clock::now() < deadline) {
      pollfd p{listener_, POLLIN, 0};
      if (::poll(&p, 1, 20) == 1) {
        client = ::accept(listener_, nullptr, nullptr);
        break;
      }
    }
    if (client >= 0) {
      (void)!::write(client, greeting_.data(), greeting_.size());
      // Read until the client goes quiet for a while or closes.
      auto quiet_until = std::chrono::steady_clock::now() + 500ms;
      while (!stop_ && std::chrono::steady_clock::now() < quiet_until) {
        pollfd p{client, POLLIN, 0};
        if (::poll(&p, 1, 20) != 1) continue;
        char buffer[4096];
        const ssize_t n = ::read(client, buffer, sizeof(buffer));
        if (n <= 0) break;
        std::lock_guard<std::mutex> lock(mutex_);
        received_.append(buffer, static_cast<std::size_t>(n));
        quiet_until = std::chrono::steady_clock::now() + 500ms;
      }
      ::close(client);
    }
    thread_done_ = true;
    thread_done_.notify_all();
  }

  std::string greeting_;
  int listener_ = -1;
  bool ok_ = false;
  std::uint16_t port_ = 0;
  std::atomic<bool> stop_{false};
  std::atomic<bool> thread_done_{false};
  std::mutex mutex_;
  std::string received_;
  std::thread thread_;
};

constexpr const char* kTlsRequiredInfo =
    "INFO {\"server_id\":\"FAKE\",\"version\":\"2.9.10\",\"proto\":1,\"headers\":true,"
    "\"max_payload\":1048576,\"tls_required\":true} \r\n";
constexpr const char* kPlainInfo =
    "INFO {\"server_id\":\"FAKE\",\"version\":\"2.9.10\",\"proto\":1,\"headers\":true,"
    "\"max_payload\":1048576} \r\n";

ConnectionOptions FastOptions(std::string url) {
  ConnectionOptions options;
  options.urls = {std::move(url)};
  options.connect_timeout = 1s;
  options.user = "alice";
  options.password = "secret-password";
  return options;
}

// The server requires TLS: the first bytes the client sends are a TLS
// ClientHello, never a plaintext CONNECT with the credentials.
void ExpectTlsBeforeAnyConnect(const std::string& scheme) {
  RecordingServer server(kTlsRequiredInfo);
  ASSERT_TRUE(server.ok());
  ConnectionOptions options =
      FastOptions(scheme + "://127.0.0.1:" + std::to_string(server.port()));
  options.tls.verify = false;
  auto connection = Connection::Connect(options);
  // The fake server cannot finish the handshake.
  EXPECT_FALSE(connection.ok());
  const std::string received = server.Received();
  ASSERT_GE(received.size(), 6u) << scheme;
  EXPECT_EQ(static_cast<unsigned char>(received[0]), 0x16) << "not a TLS handshake record";
  EXPECT_EQ(static_cast<unsigned char>(received[1]), 0x03);
  EXPECT_THAT(received, Not(HasSubstr("CONNECT")));
  EXPECT_THAT(received, Not(HasSubstr("secret-password")));
}

TEST(ClientTransport, StartsTlsBeforeConnectWhenTheServerRequiresIt) {
  ExpectTlsBeforeAnyConnect("nats");
}

TEST(ClientTransport, StartsTlsBeforeConnectOnATlsUrl) { ExpectTlsBeforeAnyConnect("tls"); }

TEST(ClientTransport, FailsATlsUrlWhenTheServerOffersNoTls) {
  RecordingServer server(kPlainInfo);
  ASSERT_TRUE(server.ok());
  auto connection = Connection::Connect(
      FastOptions("tls://127.0.0.1:" + std::to_string(server.port())));
  ASSERT_FALSE(connection.ok());
  EXPECT_EQ(connection.status().code(), StatusCode::kUnavailable);
  EXPECT_THAT(std::string(connection.status().message()),
              HasSubstr("secure connection not available"));
  // Nothing was sent in plaintext.
  EXPECT_EQ(server.Received(), "");
}

TEST(ClientTransport, ChecksTlsOptionsAtConnect) {
  ConnectionOptions options = FastOptions("tls://127.0.0.1:1");
  options.tls.cert_file = "/nonexistent/client.pem";
  auto no_key = Connection::Connect(options);
  EXPECT_EQ(no_key.status().code(), StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(no_key.status().message()), HasSubstr("tls.key_file"));

  options.tls = TlsOptions{};
  options.tls.ca_file = "/nonexistent/ca.pem";
  auto missing_ca = Connection::Connect(options);
  EXPECT_FALSE(missing_ca.ok());
  EXPECT_THAT(std::string(missing_ca.status().message()), HasSubstr("/nonexistent/ca.pem"));
}

TEST(ClientTransport, FailsAnUnknownInprocName) {
  auto connection = Connection::Connect(FastOptions("inproc://nobody-registered-this"));
  ASSERT_FALSE(connection.ok());
  EXPECT_EQ(connection.status().code(), StatusCode::kUnavailable);
  EXPECT_THAT(std::string(connection.status().message()),
              HasSubstr("inproc://nobody-registered-this"));
}

TEST(ClientTransport, FailsAWebSocketUrlWithoutAWebSocketServer) {
  // A NATS-speaking server is no WebSocket server: the upgrade fails.
  RecordingServer server(kPlainInfo);
  ASSERT_TRUE(server.ok());
  auto connection =
      Connection::Connect(FastOptions("ws://127.0.0.1:" + std::to_string(server.port())));
  ASSERT_FALSE(connection.ok());
  EXPECT_THAT(std::string(connection.status().message()), HasSubstr("websocket"));
  // Like a refused TCP connection: the server is unavailable.
  EXPECT_EQ(connection.status().code(), StatusCode::kUnavailable);
  EXPECT_THAT(server.Received(), HasSubstr("GET / HTTP/1.1"));
}

TEST(ClientTransport, RefusesPlainWebSocketWhenTlsIsConfigured) {
  ConnectionOptions options = FastOptions("ws://127.0.0.1:1");
  options.tls.ca_file = "/etc/ssl/certs/ca-certificates.crt";
  auto connection = Connection::Connect(options);
  EXPECT_EQ(connection.status().code(), StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(connection.status().message()), HasSubstr("wss://"));
}

TEST(ClientTransport, FailsWhenProtocolComesBeforeTheInfoOfATlsServer) {
  // A PING before INFO queues a PONG: the stream must not change layers
  // under it, and no CONNECT may follow in clear.
  RecordingServer server(std::string("PING\r\n") + kTlsRequiredInfo);
  ASSERT_TRUE(server.ok());
  ConnectionOptions options = FastOptions("tls://127.0.0.1:" + std::to_string(server.port()));
  options.tls.verify = false;
  options.allow_reconnect = false;
  auto connection = Connection::Connect(options);
  ASSERT_FALSE(connection.ok());
  EXPECT_THAT(std::string(connection.status().message()), HasSubstr("before INFO"));
  const std::string received = server.Received();
  EXPECT_THAT(received, Not(HasSubstr("CONNECT")));
  EXPECT_THAT(received, Not(HasSubstr("secret-password")));
}

// A tiny NATS server on the server end of in-process pipes: INFO, PONG for
// PING, and PUB delivered to SUBs with the same subject.
class FakeInprocServer {
 public:
  FakeInprocServer() : work_(boost::asio::make_work_guard(io_)) {
    thread_ = std::thread([this] { io_.run(); });
  }
  ~FakeInprocServer() {
    registration_.reset();
    boost::asio::post(io_, [this] {
      for (auto& session : sessions_) session->stream.Close();
      sessions_.clear();
      work_.reset();
    });
    thread_.join();
  }

  Status Register(std::string name) {
    auto registration = net::RegisterInProcess(
        std::move(name), [this]() -> boost::asio::io_context& { return io_; },
        [this](net::PipeStream server_end) {
          auto session = std::make_shared<Session>(std::move(server_end));
          boost::asio::post(io_, [this, session] {
            sessions_.push_back(session);
            Send(session, kPlainInfo);
            Read(session);
          });
        });
    if (!registration.ok()) return registration.status();
    registration_ = std::move(registration).value();
    return Status::Ok();
  }

  int connections() const { return connections_.load(); }

 private:
  struct Session {
    explicit Session(net::PipeStream s) : stream(std::move(s)) {}
    net::PipeStream stream;
    std::string input;
    std::string output;
    std::string writing;
    bool write_in_flight = false;
    std::map<std::string, std::string> sids_by_subject;
  };

  void Read(const std::shared_ptr<Session>& session) {
    session->stream.AsyncWaitReadable([this, session](boost::system::error_code error) {
      if (error) return;
      char buffer[4096];
      while (true) {
        boost::system::error_code read_error;
        const std::size_t n =
            session->stream.ReadSome(boost::asio::buffer(buffer, sizeof(buffer)), read_error);
        if (read_error) {
          if (read_error != boost::asio::error::would_block) return;
          break;
        }
        session->input.append(buffer, n);
      }
      Process(session);
      Read(session);
    });
  }

  void Process(const std::shared_ptr<Session>& session) {
    std::string& in = session->input;
    while (true) {
      const auto end = in.find("\r\n");
      if (end == std::string::npos) return;
      const std::string line = in.substr(0, end);
      if (line.rfind("PUB ", 0) == 0) {
        // PUB <subject> <size>
        const auto space = line.find(' ', 4);
        const std::string subject = line.substr(4, space - 4);
        const std::size_t size = std::stoul(line.substr(space + 1));
        if (in.size() < end + 2 + size + 2) return;
        const std::string payload = in.substr(end + 2, size);
        in.erase(0, end + 2 + size + 2);
        if (const auto it = session->sids_by_subject.find(subject);
            it != session->sids_by_subject.end()) {
          Send(session, "MSG " + subject + " " + it->second + " " + std::to_string(size) +
                            "\r\n" + payload + "\r\n");
        }
        continue;
      }
      in.erase(0, end + 2);
      if (line == "PING") {
        Send(session, "PONG\r\n");
      } else if (line.rfind("CONNECT ", 0) == 0) {
        ++connections_;
      } else if (line.rfind("SUB ", 0) == 0) {
        // SUB <subject> <sid>
        const auto space = line.find(' ', 4);
        session->sids_by_subject[line.substr(4, space - 4)] = line.substr(line.rfind(' ') + 1);
      }
    }
  }

  void Send(const std::shared_ptr<Session>& session, const std::string& bytes) {
    session->output += bytes;
    if (session->write_in_flight) return;
    session->writing.swap(session->output);
    session->output.clear();
    session->write_in_flight = true;
    session->stream.AsyncWrite(boost::asio::buffer(session->writing),
                               [this, session](boost::system::error_code error, std::size_t) {
                                 session->write_in_flight = false;
                                 if (error || session->output.empty()) return;
                                 Send(session, "");
                               });
  }

  boost::asio::io_context io_;
  boost::asio::executor_work_guard<boost::asio::io_context::executor_type> work_;
  std::thread thread_;
  std::vector<std::shared_ptr<Session>> sessions_;
  std::unique_ptr<net::InProcessRegistration> registration_;
  std::atomic<int> connections_{0};
};

TEST(ClientTransport, ConnectsInProcessAndExchangesMessages) {
  FakeInprocServer server;
  const std::string name = "client-transport-test-" + std::to_string(::getpid());
  ASSERT_TRUE(server.Register(name).ok());
  ConnectionOptions options = FastOptions("inproc://" + name);
  auto connection = Connection::Connect(options);
  ASSERT_TRUE(connection.ok()) << connection.status().ToString();
  EXPECT_EQ((*connection)->connected_url(), "inproc://" + name);
  testing::Collector collector;
  auto sub = (*connection)->Subscribe("inproc.test", collector.Handler());
  ASSERT_TRUE(sub.ok());
  ASSERT_TRUE((*connection)->Publish("inproc.test", "hello").ok());
  ASSERT_TRUE((*connection)->Publish("inproc.test", std::string(200'000, 'x')).ok());
  ASSERT_TRUE(collector.WaitFor(2));
  EXPECT_EQ(collector.messages()[0].payload, "hello");
  EXPECT_EQ(collector.messages()[1].payload.size(), 200'000u);
  EXPECT_TRUE((*connection)->Flush(2s).ok());
  EXPECT_EQ(server.connections(), 1);
  (*connection)->Close();
}

}  // namespace
}  // namespace embed::client
