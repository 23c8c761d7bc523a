// The broker's WebSocket listener over real loopback sockets, checked with a
// frame-level client written apart from net::WsCodec (ws_raw_peer.h): the
// upgrade rules and exact 101, NATS bytes split across and packed into
// frames, masking rules, control frames, close codes (nats-wire.md §7).
#include <chrono>
#include <string>

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>
#include <zlib.h>

#include "embed/testing/broker_fixture.h"
#include "tests/integration/ws_raw_peer.h"

namespace embed::testing {
namespace {

using namespace std::chrono_literals;
using ::testing::HasSubstr;
using ::testing::Not;
using ::testing::StartsWith;

constexpr std::uint8_t kText = 1;
constexpr std::uint8_t kBinary = 2;
constexpr std::uint8_t kContinuation = 0;
constexpr std::uint8_t kClose = 8;
constexpr std::uint8_t kPing = 9;
constexpr std::uint8_t kPong = 10;

// nats-server's CONNECT defaults are verbose and pedantic: turn them off.
constexpr std::string_view kQuietConnect = R"({"verbose":false,"pedantic":false})";

class BrokerWebSocket : public BrokerFixture {
 protected:
  static broker::BrokerOptions WsOptions() {
    broker::BrokerOptions options = TestOptions();
    options.websocket.enabled = true;
    options.websocket.port = 0;
    return options;
  }

  void SetUp() override { StartBroker(WsOptions()); }

  std::unique_ptr<WsRawPeer> OpenWs(std::string_view extra_headers = "") {
    auto peer = WsRawPeer::Open(broker().ws_port(), WsRawPeer::UpgradeRequest(extra_headers));
    EXPECT_TRUE(peer.ok()) << peer.status().ToString();
    return peer.ok() ? std::move(peer).value() : nullptr;
  }

  // Upgrade, INFO, CONNECT, PING/PONG.
  std::unique_ptr<WsRawPeer> ConnectWs(std::string_view connect_json = kQuietConnect,
                                       std::string_view extra_headers = "") {
    auto peer = OpenWs(extra_headers);
    if (!peer) return nullptr;
    auto info = peer->ReadLine();
    EXPECT_TRUE(info.ok() && info->starts_with("INFO ")) << info.status().ToString();
    EXPECT_TRUE(
        peer->SendFrame(kBinary, "CONNECT " + std::string(connect_json) + "\r\nPING\r\n").ok());
    auto pong = peer->ReadLine();
    EXPECT_TRUE(pong.ok() && *pong == "PONG") << (pong.ok() ? *pong : pong.status().ToString());
    return peer;
  }
};

TEST_F(BrokerWebSocket, AnswersTheUpgradeWithTheExactResponseThenInfoInABinaryFrame) {
  auto peer = OpenWs();
  ASSERT_NE(peer, nullptr);
  EXPECT_EQ(peer->response(),
            "HTTP/1.1 101 Switching Protocols\r\n"
            "Upgrade: websocket\r\n"
            "Connection: Upgrade\r\n"
            "Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n"
            "\r\n");
  auto frame = peer->ReadFrame();
  ASSERT_TRUE(frame.ok()) << frame.status().ToString();
  EXPECT_EQ(frame->opcode, kBinary);
  EXPECT_TRUE(frame->fin);
  ASSERT_THAT(frame->payload, StartsWith("INFO {"));
  ASSERT_TRUE(frame->payload.ends_with("\r\n"));  // nats.ws waits for CR LF
  auto info = nlohmann::json::parse(frame->payload.substr(5, frame->payload.size() - 7));
  EXPECT_EQ(info["port"], broker().ws_port());
  EXPECT_FALSE(info.contains("tls_required"));
  EXPECT_EQ(broker().ws_url(), "ws://127.0.0.1:" + std::to_string(broker().ws_port()));
}

TEST_F(BrokerWebSocket, RejectsBadUpgradeRequests) {
  struct Case {
    std::string request;
    std::string status;
  };
  const Case cases[] = {
      {"POST / HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
       "Sec-WebSocket-Key: a2V5a2V5a2V5a2V5a2V5a2==\r\nSec-WebSocket-Version: 13\r\n\r\n",
       "HTTP/1.1 405"},
      {"GET / HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\n"
       "Sec-WebSocket-Key: a2V5a2V5a2V5a2V5a2V5a2==\r\nSec-WebSocket-Version: 13\r\n\r\n",
       "HTTP/1.1 400"},
      {"GET / HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
       "Sec-WebSocket-Version: 13\r\n\r\n",
       "HTTP/1.1 400"},
      {"GET / HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
       "Sec-WebSocket-Key: a2V5a2V5a2V5a2V5a2V5a2==\r\nSec-WebSocket-Version: 8\r\n\r\n",
       "HTTP/1.1 400"},
  };
  for (const Case& test : cases) {
    auto peer = WsRawPeer::Open(broker().ws_port(), test.request);
    ASSERT_TRUE(peer.ok()) << peer.status().ToString();
    EXPECT_THAT((*peer)->response(), StartsWith(test.status)) << test.request;
    EXPECT_TRUE((*peer)->WaitForTcpClose());
  }
  EXPECT_EQ(broker().stats().connections, 0u);
}

TEST_F(BrokerWebSocket, DropsAClientThatPipelinesDataBehindTheUpgrade) {
  auto raw = RawPeer::Connect(broker().ws_port());
  ASSERT_TRUE(raw.ok());
  ASSERT_TRUE((*raw)->Send(WsRawPeer::UpgradeRequest() +
                           WsRawPeer::EncodeFrame(kBinary, "CONNECT {}\r\n", true, true, false))
                  .ok());
  EXPECT_TRUE((*raw)->WaitForClose());
  EXPECT_THAT((*raw)->received_before_close(), Not(HasSubstr("INFO")));
}

TEST_F(BrokerWebSocket, AcceptsOpsSplitAcrossAndPackedIntoFramesOfBothKinds) {
  auto subscriber = ConnectPeer();  // plain TCP on the other side
  ASSERT_TRUE(subscriber->Send("SUB greet 1\r\n").ok());
  ASSERT_TRUE(subscriber->LinesUntilPong().ok());
  auto peer = ConnectWs();
  ASSERT_NE(peer, nullptr);
  // One op over three frames of one fragmented message, then two ops in a
  // text frame, then an op cut across two separate messages.
  ASSERT_TRUE(peer->SendFrame(kBinary, "PU", /*fin=*/false).ok());
  ASSERT_TRUE(peer->SendFrame(kContinuation, "B greet 5\r\nhel", false).ok());
  ASSERT_TRUE(peer->SendFrame(kContinuation, "lo\r\n", true).ok());
  ASSERT_TRUE(peer->SendFrame(kText, "PUB greet 1\r\na\r\nPUB greet 1\r\nb\r\n").ok());
  ASSERT_TRUE(peer->SendFrame(kBinary, "PUB gre").ok());
  ASSERT_TRUE(peer->SendFrame(kBinary, "et 2\r\nok\r\nPING\r\n").ok());
  auto pong = peer->ReadLine();
  ASSERT_TRUE(pong.ok());
  EXPECT_EQ(*pong, "PONG");
  for (std::string expected : {"hello", "a", "b", "ok"}) {
    auto message = subscriber->ReadMessage();
    ASSERT_TRUE(message.ok()) << message.status().ToString();
    EXPECT_EQ(message->body, expected);
  }
}

TEST_F(BrokerWebSocket, DeliversToAWebSocketSubscriberInBinaryFrames) {
  auto peer = ConnectWs();
  ASSERT_NE(peer, nullptr);
  ASSERT_TRUE(peer->SendFrame(kBinary, "SUB big 1\r\nPING\r\n").ok());
  ASSERT_EQ(*peer->ReadLine(), "PONG");
  auto publisher = ConnectPeer();
  const std::string payload(100'000, 'x');
  ASSERT_TRUE(publisher->Send("PUB big " + std::to_string(payload.size()) + "\r\n" + payload +
                              "\r\n")
                  .ok());
  auto line = peer->ReadLine();
  ASSERT_TRUE(line.ok());
  EXPECT_EQ(*line, "MSG big 1 100000");
  auto body = peer->ReadData(payload.size() + 2);
  ASSERT_TRUE(body.ok());
  EXPECT_EQ(body->substr(0, payload.size()), payload);
}

TEST_F(BrokerWebSocket, CutsOutputIntoFramesOfAtMost4096BytesForBrowsers) {
  auto peer = ConnectWs(kQuietConnect, "User-Agent: Mozilla/5.0 (X11; Linux x86_64)\r\n");
  ASSERT_NE(peer, nullptr);
  ASSERT_TRUE(peer->SendFrame(kBinary, "SUB big 1\r\nPING\r\n").ok());
  ASSERT_EQ(*peer->ReadLine(), "PONG");
  auto publisher = ConnectPeer();
  const std::string payload(20'000, 'y');
  ASSERT_TRUE(publisher->Send("PUB big 20000\r\n" + payload + "\r\n").ok());
  const std::string expected = "MSG big 1 20000\r\n" + payload + "\r\n";
  std::string received;
  int frames = 0;
  while (received.size() < expected.size()) {
    auto frame = peer->ReadFrame();
    ASSERT_TRUE(frame.ok()) << frame.status().ToString();
    EXPECT_LE(frame->payload.size(), 4096u);
    EXPECT_TRUE(frame->fin);
    EXPECT_EQ(frame->opcode, kBinary);
    received += frame->payload;
    ++frames;
  }
  EXPECT_GE(frames, 5);
  EXPECT_EQ(received, expected);
}

TEST_F(BrokerWebSocket, AnswersPingWithPongAndEchoesClose) {
  auto peer = ConnectWs();
  ASSERT_NE(peer, nullptr);
  ASSERT_TRUE(peer->SendFrame(kPing, "are you there").ok());
  auto pong = peer->ReadFrame();
  ASSERT_TRUE(pong.ok());
  EXPECT_EQ(pong->opcode, kPong);
  EXPECT_EQ(pong->payload, "are you there");
  ASSERT_TRUE(peer->SendFrame(kClose, std::string("\x03\xE8", 2) + "bye").ok());
  auto close = peer->ReadUntilClose();
  ASSERT_TRUE(close.ok()) << close.status().ToString();
  EXPECT_EQ(close->close_code(), 1000);
  EXPECT_TRUE(peer->WaitForTcpClose());
}

TEST_F(BrokerWebSocket, ClosesAnUnmaskedFrameWith1002UnlessNoMaskingWasAgreed) {
  auto peer = OpenWs();
  ASSERT_NE(peer, nullptr);
  ASSERT_TRUE(peer->ReadLine().ok());
  ASSERT_TRUE(peer->SendFrame(kBinary, "CONNECT {}\r\n", true, /*masked=*/false).ok());
  auto close = peer->ReadUntilClose();
  ASSERT_TRUE(close.ok()) << close.status().ToString();
  EXPECT_EQ(close->close_code(), 1002);

  auto trusted = OpenWs("Nats-No-Masking: true\r\n");
  ASSERT_NE(trusted, nullptr);
  EXPECT_THAT(trusted->response(), HasSubstr("Nats-No-Masking: true\r\n"));
  ASSERT_TRUE(trusted->ReadLine().ok());
  ASSERT_TRUE(trusted->SendFrame(kBinary, "CONNECT " + std::string(kQuietConnect) + "\r\nPING\r\n",
                                true, false)
                  .ok());
  auto line = trusted->ReadLine();
  ASSERT_TRUE(line.ok()) << line.status().ToString();
  EXPECT_EQ(*line, "PONG");
}

TEST_F(BrokerWebSocket, SendsTheErrThenAClosePolicyViolationOnAuthFailure) {
  broker::BrokerOptions options = WsOptions();
  options.auth_token = "s3cret";
  TearDown();
  StartBroker(options);
  auto peer = OpenWs();
  ASSERT_NE(peer, nullptr);
  auto info = peer->ReadLine();
  ASSERT_TRUE(info.ok());
  EXPECT_THAT(*info, HasSubstr("\"auth_required\":true"));
  ASSERT_TRUE(peer->SendFrame(kBinary, "CONNECT {\"auth_token\":\"wrong\"}\r\n").ok());
  auto error = peer->ReadLine();
  ASSERT_TRUE(error.ok());
  EXPECT_EQ(*error, "-ERR 'Authorization Violation'");
  auto close = peer->ReadUntilClose();
  ASSERT_TRUE(close.ok()) << close.status().ToString();
  EXPECT_EQ(close->close_code(), 1008);
  EXPECT_EQ(close->close_reason(), "Authentication Failure");

  auto good = ConnectWs(R"({"verbose":false,"auth_token":"s3cret"})");
  EXPECT_NE(good, nullptr);
}

TEST_F(BrokerWebSocket, ClosesWith1009WhenAPayloadIsTooBigAnd1002OnAParseError) {
  auto peer = ConnectWs();
  ASSERT_NE(peer, nullptr);
  ASSERT_TRUE(peer->SendFrame(kBinary, "PUB x 99999999\r\n").ok());
  auto error = peer->ReadLine();
  ASSERT_TRUE(error.ok());
  EXPECT_EQ(*error, "-ERR 'Maximum Payload Violation'");
  auto close = peer->ReadUntilClose();
  ASSERT_TRUE(close.ok());
  EXPECT_EQ(close->close_code(), 1009);

  auto other = ConnectWs();
  ASSERT_NE(other, nullptr);
  ASSERT_TRUE(other->SendFrame(kBinary, "BOGUS\r\n").ok());
  auto parse_error = other->ReadLine();
  ASSERT_TRUE(parse_error.ok());
  EXPECT_THAT(*parse_error, StartsWith("-ERR 'Unknown Protocol Operation'"));
  auto parse_close = other->ReadUntilClose();
  ASSERT_TRUE(parse_close.ok());
  EXPECT_EQ(parse_close->close_code(), 1002);
}

// Raw DEFLATE of `text` without the final 00 00 FF FF (RFC 7692 §7.2.1).
std::string Deflate(std::string_view text) {
  z_stream stream{};
  EXPECT_EQ(deflateInit2(&stream, Z_DEFAULT_COMPRESSION, Z_DEFLATED, -15, 8, Z_DEFAULT_STRATEGY),
            Z_OK);
  std::string out(text.size() + 64, '\0');
  stream.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(text.data()));
  stream.avail_in = static_cast<uInt>(text.size());
  stream.next_out = reinterpret_cast<Bytef*>(out.data());
  stream.avail_out = static_cast<uInt>(out.size());
  EXPECT_EQ(deflate(&stream, Z_SYNC_FLUSH), Z_OK);
  out.resize(out.size() - stream.avail_out);
  deflateEnd(&stream);
  EXPECT_TRUE(out.ends_with(std::string("\0\0\xFF\xFF", 4)));
  out.resize(out.size() - 4);
  return out;
}

std::string Inflate(std::string data) {
  data.append("\0\0\xFF\xFF", 4);
  z_stream stream{};
  EXPECT_EQ(inflateInit2(&stream, -15), Z_OK);
  std::string out(1 << 20, '\0');
  stream.next_in = reinterpret_cast<Bytef*>(data.data());
  stream.avail_in = static_cast<uInt>(data.size());
  stream.next_out = reinterpret_cast<Bytef*>(out.data());
  stream.avail_out = static_cast<uInt>(out.size());
  inflate(&stream, Z_SYNC_FLUSH);
  out.resize(out.size() - stream.avail_out);
  inflateEnd(&stream);
  return out;
}

TEST_F(BrokerWebSocket, NegotiatesPermessageDeflateAndInflatesAndCompresses) {
  auto peer = OpenWs("Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits\r\n");
  ASSERT_NE(peer, nullptr);
  EXPECT_THAT(peer->response(),
              HasSubstr("Sec-WebSocket-Extensions: permessage-deflate; "
                        "server_no_context_takeover; client_no_context_takeover\r\n"));
  auto info = peer->ReadFrame();  // INFO is over 64 bytes: compressed
  ASSERT_TRUE(info.ok()) << info.status().ToString();
  EXPECT_TRUE(info->rsv1);
  EXPECT_THAT(Inflate(info->payload), StartsWith("INFO {"));
  const std::string payload(5'000, 'z');
  const std::string ops = "CONNECT " + std::string(kQuietConnect) +
                          "\r\nSUB zip 1\r\nPUB zip 5000\r\n" + payload + "\r\n";
  ASSERT_TRUE(peer->SendFrame(kBinary, Deflate(ops), true, true, /*rsv1=*/true).ok());
  // The echo comes back compressed (above the 64-byte threshold).
  std::string received;
  while (received.find(payload) == std::string::npos) {
    auto frame = peer->ReadFrame();
    ASSERT_TRUE(frame.ok()) << frame.status().ToString() << "; received: " << received;
    ASSERT_NE(frame->opcode, kClose) << frame->close_code() << " " << frame->close_reason();
    received += frame->rsv1 ? Inflate(frame->payload) : frame->payload;
  }
  EXPECT_THAT(received, HasSubstr("MSG zip 1 5000\r\n" + payload + "\r\n"));
}

TEST_F(BrokerWebSocket, LeavesCompressionOffWhenDisabled) {
  broker::BrokerOptions options = WsOptions();
  options.websocket.compression = false;
  TearDown();
  StartBroker(options);
  auto peer = OpenWs("Sec-WebSocket-Extensions: permessage-deflate\r\n");
  ASSERT_NE(peer, nullptr);
  EXPECT_THAT(peer->response(), Not(HasSubstr("permessage-deflate")));
}

TEST_F(BrokerWebSocket, DropsAClientThatNeverSendsTheUpgrade) {
  broker::BrokerOptions options = WsOptions();
  options.websocket.handshake_timeout = 200ms;
  TearDown();
  StartBroker(options);
  auto raw = RawPeer::Connect(broker().ws_port());
  ASSERT_TRUE(raw.ok());
  ASSERT_TRUE((*raw)->Send("GET / HTTP/1.1\r\nHost: x\r\n").ok());
  EXPECT_TRUE((*raw)->WaitForClose(3s));
}

TEST_F(BrokerWebSocket, StopClosesTheSocketOfASubscriberThatStoppedReading) {
  auto peer = ConnectWs();
  ASSERT_NE(peer, nullptr);
  ASSERT_TRUE(peer->SendFrame(kBinary, "SUB flood 1\r\nPING\r\n").ok());
  ASSERT_EQ(*peer->ReadLine(), "PONG");
  // More than the loopback socket buffers hold: the broker's write to the
  // peer, which reads nothing now, stays in flight.
  auto publisher = ConnectPeer();
  const std::string payload(1000 * 1000, 'f');
  for (int i = 0; i < 32; ++i) {
    ASSERT_TRUE(publisher->Send("PUB flood 1000000\r\n" + payload + "\r\n").ok());
  }
  ASSERT_TRUE(publisher->LinesUntilPong(10s).ok());
  // Stop() must close the socket itself, not leave it to a close that waits
  // for that write on I/O threads that no longer run.
  broker().Stop();
  EXPECT_TRUE(peer->WaitForTcpClose(10s));
}

}  // namespace
}  // namespace embed::testing
