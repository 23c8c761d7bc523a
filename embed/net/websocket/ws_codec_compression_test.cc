// WsCodec compression (permessage-deflate) and memory bounds: inflation
// budgets, zip bombs, PING floods, Safari and browser framing of compressed
// output.
#include "embed/net/websocket/ws_codec.h"

#include <cstdint>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <zlib.h>

#include <boost/asio/error.hpp>

#include "embed/net/websocket/ws_codec_test_util.h"

namespace embed::net {
namespace {

using namespace ws_test;

TEST(WsCodecTest, BrowserFramingFragmentsCompressedOutput) {
  WsCodecOptions options;
  options.browser_framing = true;
  options.compression = true;
  WsCodec server(options);
  std::string random_like;
  std::uint32_t x = 12345;
  for (int i = 0; i < 20000; ++i) {
    x = x * 1103515245u + 12345u;
    random_like.push_back(static_cast<char>(x >> 24));
  }
  std::string wire;
  server.EncodeApp(random_like, wire);
  const auto frames = ParseFrames(wire);
  ASSERT_GE(frames.size(), 3u);
  EXPECT_EQ(frames.front().first, 0x42);  // binary, RSV1, not FIN
  for (std::size_t i = 1; i + 1 < frames.size(); ++i) EXPECT_EQ(frames[i].first, 0x00);
  EXPECT_EQ(frames.back().first, 0x80);
  for (const auto& frame : frames) EXPECT_LE(frame.payload.size(), 4096u);
  WsCodec client = Client(true);
  client.OnWireInput(wire);
  EXPECT_EQ(ReadAll(client), random_like);
  EXPECT_FALSE(client.error());
}

TEST(WsCodecTest, ZipBombIsBounded) {
  // 16 MiB of zeros deflate to ~16 KiB; the limit is 1 MiB.
  const std::string zeros(16 * 1024 * 1024, '\0');
  std::string compressed = Deflate(zeros, Z_SYNC_FLUSH);
  ASSERT_LT(compressed.size(), 100u * 1024);
  compressed.resize(compressed.size() - 4);
  WsCodec server = Server(true, 1024 * 1024);
  server.OnWireInput(Frame(0xC2, compressed, true));
  std::size_t decoded = 0;
  char buffer[4096];
  while (server.has_app_data()) decoded += server.ReadApp(buffer, sizeof(buffer));
  EXPECT_LE(decoded, 1024u * 1024 + 1);
  ExpectClosedWith(server, WsError::kMessageTooBig, 1009);
}

TEST(WsCodecTest, PingFloodKeepsOnlyTheLatestPong) {
  for (const bool client_role : {false, true}) {
    SCOPED_TRACE(client_role ? "client" : "server");
    WsCodec codec = client_role ? Client() : Server();
    std::string flood;
    for (int i = 0; i < 20000; ++i) flood += Frame(0x89, "ping " + std::to_string(i), !client_role);
    codec.OnWireInput(flood);
    EXPECT_FALSE(codec.error());
    EXPECT_TRUE(codec.has_wire_output());
    EXPECT_EQ(codec.heap_bytes(), 0u);  // one PONG slot, no growing queue
    auto frames = ParseFrames(Take(codec));
    ASSERT_EQ(frames.size(), 1u);
    EXPECT_EQ(frames[0].first, 0x8A);
    EXPECT_EQ(frames[0].masked, client_role);
    EXPECT_EQ(frames[0].payload, "ping 19999");
    EXPECT_FALSE(codec.has_wire_output());
  }
  {
    // A PONG still owed goes out before the CLOSE echo, never after it.
    WsCodec server = Server();
    server.OnWireInput(Frame(0x89, "a", true) + Frame(0x89, "b", true) +
                       Frame(0x88, std::string("\x03\xe8", 2), true) + Frame(0x89, "c", true));
    auto frames = ParseFrames(Take(server));
    ASSERT_EQ(frames.size(), 2u);
    EXPECT_EQ(frames[0].first, 0x8A);
    EXPECT_EQ(frames[0].payload, "b");
    EXPECT_EQ(frames[1].first, 0x88);
  }
  {
    // The same before a CLOSE the application encodes.
    WsCodec server = Server();
    server.OnWireInput(Frame(0x89, "p", true));
    std::string wire;
    server.EncodeClose(1000, "bye", wire);
    auto frames = ParseFrames(wire);
    ASSERT_EQ(frames.size(), 2u);
    EXPECT_EQ(frames[0].first, 0x8A);
    EXPECT_EQ(frames[1].first, 0x88);
    EXPECT_FALSE(server.has_wire_output());
  }
}

TEST(WsCodecTest, CompressedInputIsInflatedAsTheReaderDrains) {
  // 64 MiB of zeros deflate to ~64 KiB: one read's worth of wire bytes.
  const std::size_t total = 64u * 1024 * 1024;
  std::string compressed = Deflate(std::string(total, '\0'), Z_SYNC_FLUSH);
  ASSERT_LT(compressed.size(), 80u * 1024);
  compressed.resize(compressed.size() - 4);
  for (const bool masked : {true, false}) {
    SCOPED_TRACE(masked ? "masked" : "unmasked");
    WsCodecOptions options;
    options.compression = true;
    options.accept_unmasked = true;
    WsCodec server(options);
    // The bomb, a PING, and a small message behind it, in one input.
    server.OnWireInput(Frame(0xC2, compressed, masked) + Frame(0x89, "after", masked) +
                       Frame(0x82, "tail", masked));
    EXPECT_FALSE(server.error());
    EXPECT_TRUE(server.has_app_data());
    EXPECT_LT(server.heap_bytes(), 1024u * 1024);
    EXPECT_FALSE(server.has_wire_output());  // the PING waits behind the bomb
    std::size_t decoded = 0;
    std::size_t max_heap = 0;
    bool all_zero = true;
    std::string rest;
    char buffer[65536];
    while (server.has_app_data()) {
      const std::size_t count = server.ReadApp(buffer, sizeof(buffer));
      ASSERT_GT(count, 0u);
      for (std::size_t i = 0; i < count; ++i) {
        if (decoded + i >= total) {
          rest.push_back(buffer[i]);
        } else if (buffer[i] != '\0') {
          all_zero = false;
        }
      }
      decoded += count;
      max_heap = std::max(max_heap, server.heap_bytes());
    }
    EXPECT_FALSE(server.error()) << server.error().message();
    EXPECT_EQ(decoded, total + 4);
    EXPECT_TRUE(all_zero);
    EXPECT_EQ(rest, "tail");
    EXPECT_LT(max_heap, 1024u * 1024);
    const auto frames = ParseFrames(Take(server));
    ASSERT_EQ(frames.size(), 1u);
    EXPECT_EQ(frames[0].payload, "after");
    EXPECT_EQ(server.heap_bytes(), 0u);
  }
}

TEST(WsCodecTest, HeldBackInputThatYieldsNothingEndsHasAppData) {
  // The budget is reached exactly at the end of a compressed message whose
  // rest yields no bytes: once drained, nothing is left to read.
  const std::string plain(WsCodec::kAppBudgetBytes, 'x');
  std::string compressed = Deflate(plain, Z_SYNC_FLUSH);
  compressed.resize(compressed.size() - 4);
  WsCodec server = Server(true);
  const std::string next = Frame(0x82, "next", true);
  server.OnWireInput(Frame(0xC2, compressed, true) + Frame(0x8A, "pong", true) + next.substr(0, 3));
  EXPECT_EQ(ReadAll(server), plain);
  EXPECT_FALSE(server.has_app_data());
  EXPECT_FALSE(server.error());
  EXPECT_FALSE(server.has_wire_output());
  server.OnWireInput(next.substr(3));
  EXPECT_EQ(ReadAll(server), "next");
  EXPECT_EQ(server.heap_bytes(), 0u);
}

TEST(WsCodecTest, UncompressedInputIsBoundedToo) {
  const std::string big = Pattern(3 * WsCodec::kAppBudgetBytes + 123);
  WsCodec server = Server();
  server.OnWireInput(Frame(0x82, big, true) + Frame(0x89, "x", true));
  EXPECT_FALSE(server.has_wire_output());
  std::string out;
  char buffer[1000];
  while (server.has_app_data()) {
    out.append(buffer, server.ReadApp(buffer, sizeof(buffer)));
    // The held-back wire bytes plus at most the budget of decoded bytes.
    EXPECT_LE(server.heap_bytes(), big.size() + 2 * WsCodec::kAppBudgetBytes + 64);
  }
  EXPECT_EQ(out, big);
  EXPECT_EQ(ParseFrames(Take(server)).size(), 1u);
}

TEST(WsCodecTest, SafariCompressedOutputIsNotFragmented) {
  // Incompressible enough to stay far above 4096 bytes after deflate.
  std::string input;
  std::uint32_t state = 12345;
  for (int i = 0; i < 20000; ++i) {
    state = state * 1664525u + 1013904223u;
    input.push_back(static_cast<char>(state >> 24));
  }
  WsCodecOptions options;
  options.compression = true;
  options.browser_framing = true;
  options.no_fragmenting_compressed = true;
  WsCodec safari(options);
  std::string wire;
  safari.EncodeApp(input, wire);
  auto frames = ParseFrames(wire);
  ASSERT_EQ(frames.size(), 1u);
  EXPECT_EQ(frames[0].first, 0xC2);  // FIN + RSV1 + binary
  EXPECT_GT(frames[0].payload.size(), WsCodec::kBrowserFrameBytes);
  EXPECT_EQ(Inflate(frames[0].payload), input);
  // Uncompressed output is still cut into complete 4096-byte messages.
  options.compression = false;
  WsCodec plain(options);
  wire.clear();
  plain.EncodeApp(input, wire);
  frames = ParseFrames(wire);
  ASSERT_EQ(frames.size(), 5u);
  for (const auto& frame : frames) EXPECT_EQ(frame.first, 0x82);
}

TEST(WsCodecTest, CompressionRoundTripBetweenCodecs) {
  WsCodec client = Client(true);
  WsCodec server = Server(true);
  const std::string big = "PUB subject 2000\r\n" + std::string(2000, 'x') + "\r\n";
  std::string wire;
  client.EncodeApp(big, wire);
  auto frames = ParseFrames(wire);
  ASSERT_EQ(frames.size(), 1u);
  EXPECT_EQ(frames[0].first, 0xC2);  // FIN, RSV1, binary
  EXPECT_LT(frames[0].payload.size(), big.size() / 4);
  std::string small_wire;
  client.EncodeApp("PING\r\n", small_wire);  // <= 64 bytes: not compressed
  EXPECT_EQ(ParseFrames(small_wire)[0].first, 0x82);
  server.OnWireInput(wire + small_wire + wire);
  EXPECT_EQ(ReadAll(server), big + "PING\r\n" + big);
  EXPECT_FALSE(server.error());

  wire.clear();
  server.EncodeApp(big, wire);
  frames = ParseFrames(wire);
  ASSERT_EQ(frames.size(), 1u);
  EXPECT_EQ(frames[0].first, 0xC2);
  EXPECT_FALSE(frames[0].masked);
  client.OnWireInput(wire);
  EXPECT_EQ(ReadAll(client), big);
  EXPECT_FALSE(client.error());
}

TEST(WsCodecTest, CompressedOutputInflatesWithZlib) {
  WsCodec server = Server(true);
  const std::string text = Pattern(5000);
  std::string wire;
  server.EncodeApp(text, wire);
  const auto frames = ParseFrames(wire);
  ASSERT_EQ(frames.size(), 1u);
  ASSERT_GE(frames[0].payload.size(), 4u);
  EXPECT_NE(frames[0].payload.substr(frames[0].payload.size() - 4), std::string("\x00\x00\xff\xff", 4));
  EXPECT_EQ(Inflate(frames[0].payload), text);
}

TEST(WsCodecTest, ZlibOutputInflatesInCodec) {
  const std::string text = Pattern(3000);
  // Sync flush with the tail stripped (RFC 7692), split in fragments.
  std::string sync = Deflate(text, Z_SYNC_FLUSH);
  ASSERT_EQ(sync.substr(sync.size() - 4), std::string("\x00\x00\xff\xff", 4));
  sync.resize(sync.size() - 4);
  // A final block (BFINAL) is accepted too.
  const std::string final_block = Deflate(text, Z_FINISH);
  WsCodec server = Server(true);
  const std::size_t half = sync.size() / 2;
  server.OnWireInput(Frame(0x42, sync.substr(0, half), true) + Frame(0x80, sync.substr(half), true) +
                     Frame(0xC2, final_block, true));
  EXPECT_EQ(ReadAll(server), text + text);
  EXPECT_FALSE(server.error());
}

TEST(WsCodecTest, CorruptCompressedDataIsProtocolError) {
  WsCodec server = Server(true);
  server.OnWireInput(Frame(0xC2, std::string("\xff\xff\xff\xff\xff\xff", 6), true));
  ExpectClosedWith(server, WsError::kBadCompressedData, 1002);
}

}  // namespace
}  // namespace embed::net
