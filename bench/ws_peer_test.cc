#include "bench/ws_peer.h"

#include <cstdint>
#include <string>
#include <vector>

#include <gtest/gtest.h>

namespace embed::bench {
namespace {

// A server frame (never masked) with `payload`.
std::string ServerFrame(std::uint8_t opcode, const std::string& payload) {
  std::string frame;
  frame.push_back(static_cast<char>(0x80 | opcode));
  if (payload.size() < 126) {
    frame.push_back(static_cast<char>(payload.size()));
  } else if (payload.size() <= 0xFFFF) {
    frame.push_back(126);
    frame.push_back(static_cast<char>(payload.size() >> 8));
    frame.push_back(static_cast<char>(payload.size() & 0xFF));
  } else {
    frame.push_back(127);
    for (int shift = 56; shift >= 0; shift -= 8) {
      frame.push_back(static_cast<char>((static_cast<std::uint64_t>(payload.size()) >> shift) & 0xFF));
    }
  }
  return frame + payload;
}

TEST(WsPeerTest, ClientFramesAreMaskedAndCarryThePayload) {
  for (std::size_t size : {0u, 5u, 125u, 126u, 65535u, 65536u}) {
    std::string payload(size, 'p');
    std::string frame;
    AppendClientFrame(frame, payload, 0x01020304);
    ASSERT_GE(frame.size(), size + 6);
    EXPECT_EQ(static_cast<std::uint8_t>(frame[0]), 0x82);
    EXPECT_TRUE(static_cast<std::uint8_t>(frame[1]) & 0x80) << "client frames must be masked";
    std::size_t header = size < 126 ? 2 : size <= 0xFFFF ? 4 : 10;
    ASSERT_EQ(frame.size(), header + 4 + size);
    const char mask[4] = {1, 2, 3, 4};
    for (std::size_t i = 0; i < size; ++i) {
      ASSERT_EQ(static_cast<char>(frame[header + 4 + i] ^ mask[i % 4]), 'p');
    }
  }
}

TEST(WsPeerTest, ReaderAndScannerHandleAnySplit) {
  std::string payload(70000, 'x');
  std::string nats = "INFO {\"server_id\":\"x\"}\r\nMSG a.b 1 5\r\nhello\r\nPING\r\nMSG a.b 1 " +
                     std::to_string(payload.size()) + "\r\n" + payload + "\r\nPONG\r\n+OK\r\n";
  // NATS bytes spread over frames of several length forms, plus a WebSocket PING.
  std::string wire = ServerFrame(kOpBinary, nats.substr(0, 10)) + ServerFrame(kOpPing, "hi") +
                     ServerFrame(kOpBinary, nats.substr(10, 300)) +
                     ServerFrame(kOpBinary, nats.substr(310));
  for (std::size_t step : {1u, 2u, 7u, 4096u, 1000000u}) {
    ServerFrameReader reader;
    NatsOpScanner scanner;
    std::string data;
    for (std::size_t offset = 0; offset < wire.size(); offset += step) {
      reader.Feed(wire.data() + offset, std::min(step, wire.size() - offset),
                  [&](const char* bytes, std::size_t size) {
                    data.append(bytes, size);
                    scanner.Feed(bytes, size);
                  });
    }
    EXPECT_EQ(data, nats) << "step " << step;
    EXPECT_TRUE(reader.events().error.empty()) << reader.events().error;
    EXPECT_EQ(reader.events().pings, 1u);
    EXPECT_EQ(reader.events().ping_payload, "hi");
    EXPECT_EQ(scanner.infos, 1u);
    EXPECT_EQ(scanner.messages, 2u);
    EXPECT_EQ(scanner.pings, 1u);
    EXPECT_EQ(scanner.pongs, 1u);
    EXPECT_TRUE(scanner.error.empty()) << scanner.error;
  }
}

TEST(WsPeerTest, ReportsProtocolProblems) {
  ServerFrameReader reader;
  std::string compressed = ServerFrame(kOpBinary, "abc");
  compressed[0] = static_cast<char>(compressed[0] | 0x40);  // RSV1 without an extension
  reader.Feed(compressed.data(), compressed.size(), [](const char*, std::size_t) {});
  EXPECT_FALSE(reader.events().error.empty());

  NatsOpScanner scanner;
  std::string error = "-ERR 'Authorization Violation'\r\n";
  scanner.Feed(error.data(), error.size());
  EXPECT_EQ(scanner.error, "-ERR 'Authorization Violation'");
}

TEST(WsPeerTest, ParsesUrlsAndUpgradeResponses) {
  auto address = ParseWsUrl("ws://127.0.0.1:8080/path");
  ASSERT_TRUE(address.has_value());
  EXPECT_EQ(HostPort(*address), "127.0.0.1:8080");
  EXPECT_FALSE(ParseWsUrl("wss://127.0.0.1:8080").has_value());
  EXPECT_FALSE(ParseWsUrl("ws://127.0.0.1").has_value());
  EXPECT_FALSE(ParseWsUrl("ws://127.0.0.1:99999").has_value());
  std::string response = "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n\r\nrest";
  EXPECT_EQ(ResponseHeadLength(response), response.size() - 4);
  EXPECT_EQ(ResponseHeadLength("HTTP/1.1 101 Switching"), 0u);
  EXPECT_TRUE(IsSwitchingProtocols(response));
  EXPECT_FALSE(IsSwitchingProtocols("HTTP/1.1 400 Bad Request\r\n\r\n"));
}

}  // namespace
}  // namespace embed::bench
