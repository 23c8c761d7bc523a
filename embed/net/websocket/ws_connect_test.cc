#include "embed/net/websocket/ws_connect.h"

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>

#include <gtest/gtest.h>

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>

#include "embed/net/tcp_stream.h"

namespace embed::net {
namespace {

using namespace std::chrono_literals;
using boost::asio::ip::tcp;
using WsStream = LayeredStream<TcpStream, WsCodec>;

class WsConnectTest : public ::testing::Test {
 protected:
  WsConnectTest()
      : guard_(boost::asio::make_work_guard(io_)),
        acceptor_(io_, tcp::endpoint(boost::asio::ip::make_address("127.0.0.1"), 0)) {}

  // Runs the io_context until `done()` or 5 s passed.
  template <typename Predicate>
  bool RunUntil(Predicate done) {
    const auto deadline = std::chrono::steady_clock::now() + 5s;
    while (!done()) {
      if (std::chrono::steady_clock::now() > deadline) return false;
      io_.run_one_for(50ms);
    }
    return true;
  }

  // A connected pair of TcpStreams (server end, client end).
  std::pair<TcpStream, TcpStream> Connect() {
    TcpSocket server_socket(io_);
    TcpSocket client_socket(io_);
    client_socket.connect(acceptor_.local_endpoint());
    acceptor_.accept(server_socket);
    return {TcpStream(std::move(server_socket)), TcpStream(std::move(client_socket))};
  }

  // Reads from `stream` until `want` bytes arrived or the stream failed
  // (the error goes to `error`).
  template <typename Stream>
  std::string Read(Stream& stream, std::size_t want, boost::system::error_code* error = nullptr) {
    std::string out;
    const auto deadline = std::chrono::steady_clock::now() + 5s;
    while (out.size() < want && std::chrono::steady_clock::now() < deadline) {
      char buffer[8192];
      boost::system::error_code read_error;
      const std::size_t count = stream.ReadSome(boost::asio::buffer(buffer), read_error);
      if (!read_error) {
        out.append(buffer, count);
        continue;
      }
      if (read_error != boost::asio::error::would_block) {
        if (error) *error = read_error;
        break;
      }
      bool readable = false;
      stream.AsyncWaitReadable([&readable](boost::system::error_code) { readable = true; });
      RunUntil([&] { return readable; });
    }
    return out;
  }

  // Runs both handshakes on a fresh connection.
  std::pair<std::optional<WsStream>, std::optional<WsStream>> Handshake(bool compression) {
    auto [server_end, client_end] = Connect();
    std::optional<WsStream> server, client;
    int server_calls = 0, client_calls = 0;
    WsServerOptions options;
    options.compression = compression;
    AsyncWsAccept(std::move(server_end), options, 2000ms, [&](Result<WsStream> result) {
      ++server_calls;
      EXPECT_TRUE(result.ok()) << result.status().ToString();
      if (result.ok()) server.emplace(std::move(result).value());
    });
    AsyncWsConnect(std::move(client_end), "127.0.0.1:1", "/", compression, 2000ms, [&](Result<WsStream> result) {
      ++client_calls;
      EXPECT_TRUE(result.ok()) << result.status().ToString();
      if (result.ok()) client.emplace(std::move(result).value());
    });
    EXPECT_TRUE(RunUntil([&] { return server_calls == 1 && client_calls == 1; }));
    io_.run_for(20ms);  // any second call would show here
    EXPECT_EQ(server_calls, 1);
    EXPECT_EQ(client_calls, 1);
    return {std::move(server), std::move(client)};
  }

  boost::asio::io_context io_;
  boost::asio::executor_work_guard<boost::asio::io_context::executor_type> guard_;
  tcp::acceptor acceptor_;
};

std::string Pattern(std::size_t size) {
  std::string out;
  for (std::size_t i = 0; i < size; ++i) out.push_back(static_cast<char>('A' + (i * 31 + i / 7) % 50));
  return out;
}

TEST_F(WsConnectTest, EndToEndOverLoopback) {
  for (bool compression : {false, true}) {
    SCOPED_TRACE(compression ? "compression" : "plain");
    auto [server, client] = Handshake(compression);
    ASSERT_TRUE(server && client);
    EXPECT_EQ(server->codec().options().compression, compression);
    EXPECT_EQ(client->codec().options().compression, compression);
    EXPECT_EQ(client->codec().options().role, WsRole::kClient);

    // Client -> server, several writes.
    bool wrote = false;
    const std::string request = "CONNECT {}\r\nPING\r\n";
    client->AsyncWrite(boost::asio::buffer(request), [&](boost::system::error_code error, std::size_t size) {
      EXPECT_FALSE(error);
      EXPECT_EQ(size, request.size());
      wrote = true;
    });
    EXPECT_EQ(Read(*server, request.size()), request);
    ASSERT_TRUE(RunUntil([&] { return wrote; }));

    // Server -> client, a big write.
    const std::string big = Pattern(300 * 1024);
    wrote = false;
    server->AsyncWrite(boost::asio::buffer(big), [&](boost::system::error_code error, std::size_t size) {
      EXPECT_FALSE(error);
      EXPECT_EQ(size, big.size());
      wrote = true;
    });
    EXPECT_EQ(Read(*client, big.size()), big);
    ASSERT_TRUE(RunUntil([&] { return wrote; }));

    // A PING written raw by the client is answered with a PONG.
    std::string ping_frame = "\x89\x84";
    ping_frame += std::string("\x01\x02\x03\x04", 4);
    for (std::size_t i = 0; i < 4; ++i) ping_frame.push_back(static_cast<char>("ping"[i] ^ (i + 1)));
    wrote = false;
    client->inner().AsyncWrite(boost::asio::buffer(ping_frame),
                               [&](boost::system::error_code, std::size_t) { wrote = true; });
    ASSERT_TRUE(RunUntil([&] { return wrote; }));
    bool readable = false;
    server->AsyncWaitReadable([&](boost::system::error_code) { readable = true; });
    ASSERT_TRUE(RunUntil([&] { return readable; }));
    char byte;
    boost::system::error_code server_error;
    EXPECT_EQ(server->ReadSome(boost::asio::buffer(&byte, 1), server_error), 0u);
    EXPECT_EQ(server_error, boost::asio::error::would_block);  // no application bytes; the PONG goes out
    EXPECT_EQ(Read(client->inner(), 6), std::string("\x8a\x04ping", 6));

    // Close() sends a CLOSE the other side reads as eof (and echoes). Let
    // the PONG's write complete first: Close() sends nothing while a write
    // is in flight (it cannot cut into a frame).
    io_.run_for(20ms);
    server->SetCloseStatus(ws_close::kGoingAway, "Server Shutdown");
    server->Close();
    boost::system::error_code client_error;
    EXPECT_EQ(Read(*client, 1, &client_error), "");
    EXPECT_EQ(client_error, boost::asio::error::eof);
    EXPECT_EQ(client->codec().received_close_code(), ws_close::kGoingAway);
    client->Close();
    io_.run_for(20ms);
  }
}

TEST_F(WsConnectTest, CloseFromThePeerIsEchoedBeforeTheStreamCloses) {
  auto [server, client] = Handshake(false);
  ASSERT_TRUE(server && client);
  // The client sends a CLOSE (raw) and keeps its stream open.
  std::string close_frame = "\x88\x85";
  close_frame += std::string(4, '\0');  // zero mask key: payload as is
  close_frame += std::string("\x03\xe8", 2) + "bye";
  bool wrote = false;
  client->inner().AsyncWrite(boost::asio::buffer(close_frame),
                             [&](boost::system::error_code, std::size_t) { wrote = true; });
  ASSERT_TRUE(RunUntil([&] { return wrote; }));
  // The server reads eof, then closes at once (as a session does).
  boost::system::error_code server_error;
  EXPECT_EQ(Read(*server, 1, &server_error), "");
  EXPECT_EQ(server_error, boost::asio::error::eof);
  EXPECT_EQ(server->codec().received_close_code(), 1000);
  server->Close();
  // The echo arrived before the TCP close.
  boost::system::error_code client_error;
  const std::string raw = Read(client->inner(), 1 << 20, &client_error);
  EXPECT_EQ(raw, std::string("\x88\x02\x03\xe8", 4));
  EXPECT_EQ(client_error, boost::asio::error::eof);
}

TEST_F(WsConnectTest, ClientKeepsBytesSentRightAfterThe101) {
  auto [server_end, client_end] = Connect();
  std::optional<WsStream> client;
  AsyncWsConnect(std::move(client_end), "localhost", "/", false, 2000ms, [&](Result<WsStream> result) {
    ASSERT_TRUE(result.ok()) << result.status().ToString();
    client.emplace(std::move(result).value());
  });
  // A scripted server: reads the request, answers 101 + INFO frame in one write.
  std::string request = Read(server_end, 1);
  while (request.find("\r\n\r\n") == std::string::npos) request += Read(server_end, 1);
  const std::size_t at = request.find("Sec-WebSocket-Key: ") + 19;
  const std::string key = request.substr(at, request.find("\r\n", at) - at);
  const std::string info = "INFO {\"server_id\":\"x\"} \r\n";
  std::string reply = "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                      "Sec-WebSocket-Accept: " +
                      WsAcceptKey(key) + "\r\n\r\n";
  reply += "\x82";
  reply.push_back(static_cast<char>(info.size()));
  reply += info;
  bool wrote = false;
  server_end.AsyncWrite(boost::asio::buffer(reply), [&](boost::system::error_code, std::size_t) { wrote = true; });
  ASSERT_TRUE(RunUntil([&] { return wrote && client.has_value(); }));
  EXPECT_TRUE(client->codec().has_app_data());
  EXPECT_EQ(Read(*client, info.size()), info);
  client->Close();
  server_end.Close();
}

TEST_F(WsConnectTest, ClientAnswersAPingSentRightAfterThe101) {
  auto [server_end, client_end] = Connect();
  std::optional<WsStream> client;
  AsyncWsConnect(std::move(client_end), "localhost", "/", false, 2000ms, [&](Result<WsStream> result) {
    ASSERT_TRUE(result.ok()) << result.status().ToString();
    client.emplace(std::move(result).value());
  });
  std::string request = Read(server_end, 1);
  while (request.find("\r\n\r\n") == std::string::npos) request += Read(server_end, 1);
  const std::size_t at = request.find("Sec-WebSocket-Key: ") + 19;
  const std::string key = request.substr(at, request.find("\r\n", at) - at);
  std::string reply = "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                      "Sec-WebSocket-Accept: " +
                      WsAcceptKey(key) + "\r\n\r\n";
  reply += "\x89\x04ping";  // a PING in the same segment as the 101
  bool wrote = false;
  server_end.AsyncWrite(boost::asio::buffer(reply), [&](boost::system::error_code, std::size_t) { wrote = true; });
  ASSERT_TRUE(RunUntil([&] { return wrote && client.has_value(); }));
  // The client never reads, yet its PONG (masked: 2 + 4 + 4 bytes) arrives.
  const std::string pong = Read(server_end, 10);
  ASSERT_EQ(pong.size(), 10u);
  EXPECT_EQ(static_cast<std::uint8_t>(pong[0]), 0x8A);
  EXPECT_EQ(static_cast<std::uint8_t>(pong[1]), 0x84);
  std::string payload = pong.substr(6);
  for (std::size_t i = 0; i < payload.size(); ++i) payload[i] = static_cast<char>(payload[i] ^ pong[2 + i % 4]);
  EXPECT_EQ(payload, "ping");
  client->Close();
  server_end.Close();
}

TEST_F(WsConnectTest, ConnectFailsOnCompressionNotOffered) {
  auto [server_end, client_end] = Connect();
  std::optional<Status> failure;
  AsyncWsConnect(std::move(client_end), "h", "/", false, 2000ms,
                 [&](Result<WsStream> result) { failure = result.status(); });
  std::string request = Read(server_end, 1);
  while (request.find("\r\n\r\n") == std::string::npos) request += Read(server_end, 1);
  const std::size_t at = request.find("Sec-WebSocket-Key: ") + 19;
  const std::string key = request.substr(at, request.find("\r\n", at) - at);
  const std::string reply =
      "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
      "Sec-WebSocket-Accept: " +
      WsAcceptKey(key) +
      "\r\nSec-WebSocket-Extensions: permessage-deflate; server_no_context_takeover; "
      "client_no_context_takeover\r\n\r\n";
  server_end.AsyncWrite(boost::asio::buffer(reply), [](boost::system::error_code, std::size_t) {});
  ASSERT_TRUE(RunUntil([&] { return failure.has_value(); }));
  EXPECT_EQ(failure->code(), StatusCode::kProtocolError);
  server_end.Close();
}

TEST_F(WsConnectTest, AcceptRejectsABadRequestWith400) {
  auto [server_end, client_end] = Connect();
  std::optional<Status> failure;
  int calls = 0;
  AsyncWsAccept(std::move(server_end), WsServerOptions{}, 2000ms, [&](Result<WsStream> result) {
    ++calls;
    ASSERT_FALSE(result.ok());
    failure = result.status();
  });
  const std::string request = "GET / HTTP/1.1\r\nHost: h\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                              "Sec-WebSocket-Key: k\r\nSec-WebSocket-Version: 7\r\n\r\n";
  bool wrote = false;
  client_end.AsyncWrite(boost::asio::buffer(request), [&](boost::system::error_code, std::size_t) { wrote = true; });
  boost::system::error_code error;
  const std::string response = Read(client_end, 1 << 20, &error);
  EXPECT_EQ(response.substr(0, 25), "HTTP/1.1 400 Bad Request\r");
  EXPECT_NE(response.find("\r\n\r\ninvalid version"), std::string::npos);
  ASSERT_TRUE(RunUntil([&] { return calls == 1; }));
  EXPECT_EQ(failure->message(), "invalid version");
  io_.run_for(20ms);
  EXPECT_EQ(calls, 1);
}

TEST_F(WsConnectTest, AcceptFailsOnPipelinedData) {
  auto [server_end, client_end] = Connect();
  std::optional<Status> failure;
  AsyncWsAccept(std::move(server_end), WsServerOptions{}, 2000ms,
                [&](Result<WsStream> result) { failure = result.status(); });
  const std::string request = "GET / HTTP/1.1\r\nHost: h\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                              "Sec-WebSocket-Key: k\r\nSec-WebSocket-Version: 13\r\n\r\n\x82\x80....";
  client_end.AsyncWrite(boost::asio::buffer(request), [](boost::system::error_code, std::size_t) {});
  ASSERT_TRUE(RunUntil([&] { return failure.has_value(); }));
  EXPECT_EQ(failure->code(), StatusCode::kProtocolError);
  boost::system::error_code error;
  EXPECT_EQ(Read(client_end, 1, &error), "");  // dropped without a 101
  EXPECT_TRUE(error);
}

TEST_F(WsConnectTest, AcceptTimesOutOnceAndReleasesEverything) {
  auto [server_end, client_end] = Connect();
  int calls = 0;
  std::optional<Status> failure;
  auto token = std::make_shared<int>(0);
  std::weak_ptr<int> watch = token;
  AsyncWsAccept(std::move(server_end), WsServerOptions{}, 100ms, [&, token](Result<WsStream> result) {
    ++calls;
    failure = result.status();
  });
  token.reset();
  const std::string partial = "GET / HTTP/1.1\r\nHost: h\r\n";  // never finished
  client_end.AsyncWrite(boost::asio::buffer(partial), [](boost::system::error_code, std::size_t) {});
  ASSERT_TRUE(RunUntil([&] { return calls == 1; }));
  EXPECT_EQ(failure->code(), StatusCode::kTimeout);
  io_.run_for(50ms);
  EXPECT_EQ(calls, 1);
  EXPECT_TRUE(watch.expired());  // the handler (and the operation) were released
}

TEST_F(WsConnectTest, ConnectFailsOnNon101) {
  auto [server_end, client_end] = Connect();
  std::optional<Status> failure;
  AsyncWsConnect(std::move(client_end), "h", "/", false, 2000ms,
                 [&](Result<WsStream> result) { failure = result.status(); });
  std::string request = Read(server_end, 1);
  while (request.find("\r\n\r\n") == std::string::npos) request += Read(server_end, 1);
  const std::string reply = WsRejectResponse(400, "invalid version");
  server_end.AsyncWrite(boost::asio::buffer(reply), [](boost::system::error_code, std::size_t) {});
  ASSERT_TRUE(RunUntil([&] { return failure.has_value(); }));
  EXPECT_EQ(failure->code(), StatusCode::kProtocolError);
  EXPECT_NE(failure->message().find("400"), std::string_view::npos);
}

TEST_F(WsConnectTest, SuccessfulHandshakeLeavesNoTimerBehind) {
  auto token = std::make_shared<int>(0);
  std::weak_ptr<int> watch = token;
  auto [server_end, client_end] = Connect();
  std::optional<WsStream> server, client;
  AsyncWsAccept(std::move(server_end), WsServerOptions{}, 60000ms, [&, token](Result<WsStream> result) {
    ASSERT_TRUE(result.ok());
    server.emplace(std::move(result).value());
  });
  AsyncWsConnect(std::move(client_end), "h", "/", false, 60000ms, [&, token](Result<WsStream> result) {
    ASSERT_TRUE(result.ok());
    client.emplace(std::move(result).value());
  });
  token.reset();
  ASSERT_TRUE(RunUntil([&] { return server && client; }));
  // The 60 s timers were cancelled: their handlers ran and nothing is pending.
  io_.run_for(20ms);
  EXPECT_TRUE(watch.expired());
  guard_.reset();
  const auto start = std::chrono::steady_clock::now();
  server->Close();
  client->Close();
  io_.run_for(2s);
  EXPECT_TRUE(io_.stopped());
  EXPECT_LT(std::chrono::steady_clock::now() - start, 1500ms);
}

}  // namespace
}  // namespace embed::net
