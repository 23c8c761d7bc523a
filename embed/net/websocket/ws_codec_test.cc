#include "embed/net/websocket/ws_codec.h"

#include <algorithm>
#include <array>
#include <cstdint>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <zlib.h>

#include <boost/asio/error.hpp>

namespace embed::net {
namespace {

using Key = std::array<std::uint8_t, 4>;

// Builds one frame by hand. `length_form` forces the 7/16/64-bit length form
// (0: minimal).
std::string Frame(std::uint8_t first, std::string_view payload, bool mask, Key key = {0x11, 0x22, 0x33, 0x44},
                  int length_form = 0) {
  std::string out;
  out.push_back(static_cast<char>(first));
  const std::uint8_t mask_bit = mask ? 0x80 : 0;
  const std::size_t size = payload.size();
  int form = length_form != 0 ? length_form : size < 126 ? 7 : size <= 0xFFFF ? 16 : 64;
  if (form == 7) {
    out.push_back(static_cast<char>(mask_bit | size));
  } else if (form == 16) {
    out.push_back(static_cast<char>(mask_bit | 126));
    out.push_back(static_cast<char>(size >> 8));
    out.push_back(static_cast<char>(size & 0xFF));
  } else {
    out.push_back(static_cast<char>(mask_bit | 127));
    for (int shift = 56; shift >= 0; shift -= 8) out.push_back(static_cast<char>((std::uint64_t{size} >> shift) & 0xFF));
  }
  if (mask) out.append(reinterpret_cast<const char*>(key.data()), 4);
  for (std::size_t i = 0; i < size; ++i) {
    out.push_back(mask ? static_cast<char>(payload[i] ^ key[i % 4]) : payload[i]);
  }
  return out;
}

struct ParsedFrame {
  std::uint8_t first = 0;
  bool masked = false;
  std::string payload;  // unmasked
};

// Splits wire bytes into frames (test side; trusts its input).
std::vector<ParsedFrame> ParseFrames(std::string_view wire) {
  std::vector<ParsedFrame> frames;
  std::size_t at = 0;
  while (at + 2 <= wire.size()) {
    ParsedFrame frame;
    frame.first = static_cast<std::uint8_t>(wire[at]);
    const auto second = static_cast<std::uint8_t>(wire[at + 1]);
    frame.masked = (second & 0x80) != 0;
    std::uint64_t size = second & 0x7F;
    at += 2;
    if (size == 126) {
      size = (std::uint64_t{static_cast<std::uint8_t>(wire[at])} << 8) | static_cast<std::uint8_t>(wire[at + 1]);
      at += 2;
    } else if (size == 127) {
      size = 0;
      for (int i = 0; i < 8; ++i) size = (size << 8) | static_cast<std::uint8_t>(wire[at + static_cast<std::size_t>(i)]);
      at += 8;
    }
    Key key{};
    if (frame.masked) {
      for (std::size_t i = 0; i < 4; ++i) key[i] = static_cast<std::uint8_t>(wire[at + i]);
      at += 4;
    }
    frame.payload.assign(wire.substr(at, static_cast<std::size_t>(size)));
    if (frame.masked) {
      for (std::size_t i = 0; i < frame.payload.size(); ++i) frame.payload[i] = static_cast<char>(frame.payload[i] ^ key[i % 4]);
    }
    at += static_cast<std::size_t>(size);
    frames.push_back(std::move(frame));
  }
  EXPECT_EQ(at, wire.size()) << "trailing partial frame";
  return frames;
}

std::string ReadAll(WsCodec& codec) {
  std::string out;
  char buffer[777];
  while (codec.has_app_data()) out.append(buffer, codec.ReadApp(buffer, sizeof(buffer)));
  return out;
}

std::string Take(WsCodec& codec) {
  std::string wire;
  codec.TakeWireOutput(wire);
  return wire;
}

WsCodec Server(bool compression = false, std::size_t max_message_bytes = 64 * 1024 * 1024) {
  WsCodecOptions options;
  options.role = WsRole::kServer;
  options.compression = compression;
  options.max_message_bytes = max_message_bytes;
  return WsCodec(options);
}

WsCodec Client(bool compression = false, std::size_t max_message_bytes = 64 * 1024 * 1024) {
  WsCodecOptions options;
  options.role = WsRole::kClient;
  options.compression = compression;
  options.max_message_bytes = max_message_bytes;
  return WsCodec(options);
}

// Expects the codec to have failed with `error` and queued exactly one CLOSE
// with `close_code`.
void ExpectClosedWith(WsCodec& codec, WsError error, int close_code) {
  EXPECT_EQ(codec.error(), make_error_code(error)) << codec.error().message();
  const auto frames = ParseFrames(Take(codec));
  ASSERT_EQ(frames.size(), 1u);
  EXPECT_EQ(frames[0].first, 0x88);
  ASSERT_GE(frames[0].payload.size(), 2u);
  EXPECT_EQ((static_cast<std::uint8_t>(frames[0].payload[0]) << 8) | static_cast<std::uint8_t>(frames[0].payload[1]),
            close_code);
  EXPECT_EQ(codec.sent_close_code(), close_code);
}

std::string Deflate(std::string_view input, int flush) {
  z_stream z{};
  EXPECT_EQ(deflateInit2(&z, 6, Z_DEFLATED, -15, 8, Z_DEFAULT_STRATEGY), Z_OK);
  std::string out(deflateBound(&z, static_cast<uLong>(input.size())) + 64, '\0');
  z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(input.data()));
  z.avail_in = static_cast<uInt>(input.size());
  z.next_out = reinterpret_cast<Bytef*>(out.data());
  z.avail_out = static_cast<uInt>(out.size());
  deflate(&z, flush);
  out.resize(out.size() - z.avail_out);
  deflateEnd(&z);
  return out;
}

std::string Inflate(std::string input) {
  input.append("\x00\x00\xff\xff", 4);
  z_stream z{};
  EXPECT_EQ(inflateInit2(&z, -15), Z_OK);
  std::string out(1 << 20, '\0');
  z.next_in = reinterpret_cast<Bytef*>(input.data());
  z.avail_in = static_cast<uInt>(input.size());
  z.next_out = reinterpret_cast<Bytef*>(out.data());
  z.avail_out = static_cast<uInt>(out.size());
  const int rc = inflate(&z, Z_SYNC_FLUSH);
  EXPECT_TRUE(rc == Z_OK || rc == Z_STREAM_END) << rc;
  out.resize(out.size() - z.avail_out);
  inflateEnd(&z);
  return out;
}

std::string Pattern(std::size_t size) {
  std::string out;
  for (std::size_t i = 0; i < size; ++i) out.push_back(static_cast<char>('a' + (i * 7 + i / 13) % 26));
  return out;
}

TEST(WsCodecTest, ServerDecodesMaskedBinaryAndTextFrames) {
  WsCodec server = Server();
  server.OnWireInput(Frame(0x82, "PING\r\n", true) + Frame(0x81, "PONG\r\n", true, {9, 8, 7, 6}));
  EXPECT_EQ(ReadAll(server), "PING\r\nPONG\r\n");
  EXPECT_FALSE(server.error());
  EXPECT_FALSE(server.has_wire_output());
}

TEST(WsCodecTest, FragmentsAndContinuationsFeedOneByteStream) {
  WsCodec server = Server();
  server.OnWireInput(Frame(0x01, "AB", true) + Frame(0x00, "CD", true) + Frame(0x89, "p", true) +
                     Frame(0x80, "EF", true) + Frame(0x82, "", true) + Frame(0x82, "G", true));
  EXPECT_EQ(ReadAll(server), "ABCDEFG");
  EXPECT_FALSE(server.error());
  const auto frames = ParseFrames(Take(server));
  ASSERT_EQ(frames.size(), 1u);  // the PONG for the ping between fragments
  EXPECT_EQ(frames[0].first, 0x8A);
  EXPECT_EQ(frames[0].payload, "p");
}

TEST(WsCodecTest, ExtendedLengthsDecode) {
  const std::string big = Pattern(70000);
  WsCodec server = Server();
  server.OnWireInput(Frame(0x82, big.substr(0, 300), true) + Frame(0x82, big.substr(300), true) +
                     Frame(0x82, "x", true, {1, 2, 3, 4}, 64) + Frame(0x82, "y", true, {1, 2, 3, 4}, 16));
  EXPECT_EQ(ReadAll(server), big + "xy");
  EXPECT_FALSE(server.error());
}

TEST(WsCodecTest, ServerOutputIsOneUnmaskedBinaryFrame) {
  WsCodec server = Server();
  std::string wire;
  server.EncodeApp("INFO {}\r\n", wire);
  EXPECT_EQ(wire, std::string("\x82\x09INFO {}\r\n"));
  wire.clear();
  const std::string big = Pattern(70000);
  server.EncodeApp(big, wire);
  const auto frames = ParseFrames(wire);
  ASSERT_EQ(frames.size(), 1u);
  EXPECT_EQ(frames[0].first, 0x82);
  EXPECT_FALSE(frames[0].masked);
  EXPECT_EQ(frames[0].payload, big);
  EXPECT_EQ(static_cast<std::uint8_t>(wire[1]), 127);
  wire.clear();
  server.EncodeApp(big.substr(0, 200), wire);
  EXPECT_EQ(static_cast<std::uint8_t>(wire[1]), 126);
  wire.clear();
  server.EncodeApp("", wire);
  EXPECT_TRUE(wire.empty());
}

TEST(WsCodecTest, BrowserFramingCutsAt4096) {
  WsCodecOptions options;
  options.browser_framing = true;
  WsCodec server(options);
  const std::string big = Pattern(10000);
  std::string wire;
  server.EncodeApp(big, wire);
  const auto frames = ParseFrames(wire);
  ASSERT_EQ(frames.size(), 3u);
  std::string joined;
  for (const auto& frame : frames) {
    EXPECT_EQ(frame.first, 0x82);  // each a complete binary message
    EXPECT_FALSE(frame.masked);
    EXPECT_LE(frame.payload.size(), 4096u);
    joined += frame.payload;
  }
  EXPECT_EQ(frames[0].payload.size(), 4096u);
  EXPECT_EQ(joined, big);
}

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

TEST(WsCodecTest, ClientOutputIsMaskedWithVaryingKeys) {
  WsCodec client = Client();
  std::string first, second;
  client.EncodeApp("CONNECT {}\r\n", first);
  client.EncodeApp("CONNECT {}\r\n", second);
  EXPECT_EQ(static_cast<std::uint8_t>(first[0]), 0x82);
  EXPECT_TRUE(static_cast<std::uint8_t>(first[1]) & 0x80);
  EXPECT_NE(first.substr(2, 4), second.substr(2, 4));  // 2^-32 chance of a false failure
  EXPECT_EQ(first.find("CONNECT"), std::string::npos);
  WsCodec server = Server();
  server.OnWireInput(first + second);
  EXPECT_EQ(ReadAll(server), "CONNECT {}\r\nCONNECT {}\r\n");
}

TEST(WsCodecTest, PingIsAnsweredWithPongOfSamePayload) {
  WsCodec server = Server();
  server.OnWireInput(Frame(0x89, "hello ping", true));
  EXPECT_FALSE(server.has_app_data());
  EXPECT_FALSE(server.error());
  auto frames = ParseFrames(Take(server));
  ASSERT_EQ(frames.size(), 1u);
  EXPECT_EQ(frames[0].first, 0x8A);
  EXPECT_FALSE(frames[0].masked);
  EXPECT_EQ(frames[0].payload, "hello ping");
  EXPECT_FALSE(server.has_wire_output());

  WsCodec client = Client();
  client.OnWireInput(Frame(0x89, std::string(125, 'z'), false));
  frames = ParseFrames(Take(client));
  ASSERT_EQ(frames.size(), 1u);
  EXPECT_EQ(frames[0].first, 0x8A);
  EXPECT_TRUE(frames[0].masked);
  EXPECT_EQ(frames[0].payload, std::string(125, 'z'));
}

TEST(WsCodecTest, PongIsIgnored) {
  WsCodec server = Server();
  server.OnWireInput(Frame(0x8A, "whatever", true) + Frame(0x82, "ok", true));
  EXPECT_EQ(ReadAll(server), "ok");
  EXPECT_FALSE(server.has_wire_output());
  EXPECT_FALSE(server.error());
}

TEST(WsCodecTest, CloseIsEchoedAndEndsTheStream) {
  WsCodec server = Server();
  server.OnWireInput(Frame(0x82, "last", true) + Frame(0x88, std::string("\x03\xe9goodbye", 9), true) +
                     Frame(0x82, "ignored", true));
  EXPECT_EQ(server.error(), boost::asio::error::eof);
  EXPECT_EQ(ReadAll(server), "last");  // bytes before the CLOSE stay readable
  EXPECT_EQ(server.received_close_code(), 1001);
  const auto frames = ParseFrames(Take(server));
  ASSERT_EQ(frames.size(), 1u);
  EXPECT_EQ(frames[0].first, 0x88);
  EXPECT_EQ(frames[0].payload, std::string("\x03\xe9", 2));
  // The close was sent: EncodeClose adds nothing more.
  std::string wire;
  server.EncodeClose(1000, "bye", wire);
  EXPECT_TRUE(wire.empty());
}

TEST(WsCodecTest, CloseWithoutStatusIsEchoedEmpty) {
  WsCodec client = Client();
  client.OnWireInput(Frame(0x88, "", false));
  EXPECT_EQ(client.error(), boost::asio::error::eof);
  EXPECT_EQ(client.received_close_code(), 1005);
  const auto frames = ParseFrames(Take(client));
  ASSERT_EQ(frames.size(), 1u);
  EXPECT_EQ(frames[0].first, 0x88);
  EXPECT_TRUE(frames[0].masked);
  EXPECT_TRUE(frames[0].payload.empty());
}

TEST(WsCodecTest, OneByteCloseBodyIsProtocolError) {
  WsCodec server = Server();
  server.OnWireInput(Frame(0x88, "x", true));
  ExpectClosedWith(server, WsError::kBadControlFrame, 1002);
}

TEST(WsCodecTest, ControlFrameRules) {
  {
    WsCodec server = Server();
    server.OnWireInput(Frame(0x89, std::string(126, 'a'), true));
    ExpectClosedWith(server, WsError::kBadControlFrame, 1002);
  }
  {
    WsCodec server = Server();
    server.OnWireInput(Frame(0x09, "a", true));  // PING without FIN
    ExpectClosedWith(server, WsError::kBadControlFrame, 1002);
  }
  {
    WsCodec server = Server(true);
    server.OnWireInput(Frame(0xC9, "a", true));  // RSV1 on a control frame
    ExpectClosedWith(server, WsError::kReservedBits, 1002);
  }
}

TEST(WsCodecTest, UnmaskedClientFrameIsRejectedUnlessNoMasking) {
  WsCodec server = Server();
  server.OnWireInput(Frame(0x82, "PUB a 1\r\nx\r\n", false));
  EXPECT_FALSE(server.has_app_data());
  const std::string wire = Take(server);
  EXPECT_EQ(server.error(), make_error_code(WsError::kMaskMissing));
  const auto frames = ParseFrames(wire);
  ASSERT_EQ(frames.size(), 1u);
  EXPECT_EQ(frames[0].payload, std::string("\x03\xea", 2) + "mask bit missing");

  WsCodecOptions options;
  options.accept_unmasked = true;
  WsCodec lenient(options);
  lenient.OnWireInput(Frame(0x82, "abc", false) + Frame(0x82, "def", true));
  EXPECT_EQ(ReadAll(lenient), "abcdef");
  EXPECT_FALSE(lenient.error());
}

TEST(WsCodecTest, MaskedServerFrameIsRejectedByClient) {
  WsCodec client = Client();
  client.OnWireInput(Frame(0x82, "INFO", true));
  EXPECT_FALSE(client.has_app_data());
  ExpectClosedWith(client, WsError::kUnexpectedMask, 1002);
}

TEST(WsCodecTest, ReservedBitsAreRejected) {
  for (std::uint8_t first : {std::uint8_t{0xA2}, std::uint8_t{0x92}}) {  // RSV2, RSV3
    WsCodec server = Server(true);
    server.OnWireInput(Frame(first, "x", true));
    ExpectClosedWith(server, WsError::kReservedBits, 1002);
  }
  {
    WsCodec server = Server(false);  // RSV1 without compression
    server.OnWireInput(Frame(0xC2, "x", true));
    ExpectClosedWith(server, WsError::kReservedBits, 1002);
  }
  {
    WsCodec server = Server(true);  // RSV1 on a continuation
    server.OnWireInput(Frame(0x02, "abc", true) + Frame(0xC0, "x", true));
    ExpectClosedWith(server, WsError::kReservedBits, 1002);
  }
}

TEST(WsCodecTest, ReservedOpcodesAreRejected) {
  for (int opcode : {3, 4, 5, 6, 7, 11, 12, 13, 14, 15}) {
    WsCodec server = Server();
    server.OnWireInput(Frame(static_cast<std::uint8_t>(0x80 | opcode), "", true));
    ExpectClosedWith(server, WsError::kReservedOpcode, 1002);
  }
}

TEST(WsCodecTest, LengthWithTopBitIsRejected) {
  WsCodec server = Server();
  std::string frame = "\x82\xff";
  frame.append("\x80\x00\x00\x00\x00\x00\x00\x01", 8);
  frame.append("\x01\x02\x03\x04", 4);
  server.OnWireInput(frame);
  ExpectClosedWith(server, WsError::kBadLength, 1002);
}

TEST(WsCodecTest, ContinuationRules) {
  {
    WsCodec server = Server();
    server.OnWireInput(Frame(0x80, "orphan", true));
    ExpectClosedWith(server, WsError::kBadContinuation, 1002);
  }
  {
    WsCodec server = Server();
    server.OnWireInput(Frame(0x02, "start", true) + Frame(0x82, "new message", true));
    EXPECT_EQ(ReadAll(server), "start");
    ExpectClosedWith(server, WsError::kBadContinuation, 1002);
  }
}

TEST(WsCodecTest, MessageTooBigClosesWith1009) {
  {
    WsCodec server = Server(false, 100);
    server.OnWireInput(Frame(0x82, std::string(100, 'a'), true));
    EXPECT_EQ(ReadAll(server), std::string(100, 'a'));
    server.OnWireInput(Frame(0x82, std::string(101, 'a'), true));
    EXPECT_FALSE(server.has_app_data());
    ExpectClosedWith(server, WsError::kMessageTooBig, 1009);
  }
  {
    WsCodec server = Server(false, 100);  // the sum of the fragments counts
    server.OnWireInput(Frame(0x02, std::string(60, 'a'), true) + Frame(0x80, std::string(60, 'b'), true));
    ExpectClosedWith(server, WsError::kMessageTooBig, 1009);
  }
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

TEST(WsCodecTest, CloseWithAnInvalidCodeOrReasonIsProtocolError) {
  for (const int code : {0, 999, 1004, 1005, 1006, 1012, 1013, 1014, 1015, 1016, 2000, 2999, 5000, 65535}) {
    SCOPED_TRACE(code);
    WsCodec server = Server();
    std::string body;
    body.push_back(static_cast<char>(code >> 8));
    body.push_back(static_cast<char>(code & 0xFF));
    server.OnWireInput(Frame(0x88, body, true));
    ExpectClosedWith(server, WsError::kBadControlFrame, 1002);
  }
  for (const std::string& reason : {std::string("\xff"), std::string("\xc0\xaf"), std::string("\xed\xa0\x80"),
                                   std::string("ok\xe2\x82"), std::string("\xf4\x90\x80\x80")}) {
    WsCodec server = Server();
    server.OnWireInput(Frame(0x88, std::string("\x03\xe8", 2) + reason, true));
    ExpectClosedWith(server, WsError::kBadControlFrame, 1002);
  }
  for (const int code : {1000, 1001, 1002, 1003, 1007, 1008, 1009, 1010, 1011, 3000, 4999}) {
    SCOPED_TRACE(code);
    WsCodec server = Server();
    std::string body;
    body.push_back(static_cast<char>(code >> 8));
    body.push_back(static_cast<char>(code & 0xFF));
    body += "h\xc3\xa9llo \xe2\x82\xac \xf0\x9d\x84\x9e";
    server.OnWireInput(Frame(0x88, body, true));
    EXPECT_EQ(server.error(), boost::asio::error::eof);
    EXPECT_EQ(server.received_close_code(), code);
    const auto frames = ParseFrames(Take(server));
    ASSERT_EQ(frames.size(), 1u);
    EXPECT_EQ(frames[0].payload, body.substr(0, 2));
  }
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

TEST(WsCodecTest, EverySplitPointDecodesTheSame) {
  // Client frames: masked, mixed text/binary, fragmented, a ping, compressed.
  WsCodec encoder = Client(true);
  std::string stream;
  encoder.EncodeApp("CONNECT {\"verbose\":false}\r\n", stream);
  encoder.EncodeApp(Pattern(300), stream);
  stream += Frame(0x01, "frag1-", true, {0xde, 0xad, 0xbe, 0xef});
  stream += Frame(0x89, "ping!", true, {1, 1, 1, 1});
  stream += Frame(0x80, "frag2", true, {0xfe, 0xed, 0x00, 0x01});
  stream += Frame(0x82, Pattern(200), true, {7, 7, 7, 7}, 64);
  const std::string expected = "CONNECT {\"verbose\":false}\r\n" + Pattern(300) + "frag1-frag2" + Pattern(200);
  const std::string expected_pong = Frame(0x8A, "ping!", false);

  for (std::size_t cut = 0; cut <= stream.size(); ++cut) {
    WsCodec server = Server(true);
    std::string app;
    server.OnWireInput(std::string_view(stream).substr(0, cut));
    app += ReadAll(server);
    server.OnWireInput(std::string_view(stream).substr(cut));
    app += ReadAll(server);
    ASSERT_EQ(app, expected) << "cut at " << cut;
    ASSERT_FALSE(server.error()) << "cut at " << cut;
    ASSERT_EQ(Take(server), expected_pong) << "cut at " << cut;
  }
  // And one byte at a time.
  WsCodec server = Server(true);
  std::string app;
  for (char c : stream) {
    server.OnWireInput(std::string_view(&c, 1));
    app += ReadAll(server);
  }
  EXPECT_EQ(app, expected);
  EXPECT_EQ(Take(server), expected_pong);
}

TEST(WsCodecTest, EncodeCloseCarriesCodeAndTruncatedReason) {
  WsCodec server = Server();
  std::string wire;
  server.EncodeClose(ws_close::kPolicyViolation, "Authorization Violation", wire);
  auto frames = ParseFrames(wire);
  ASSERT_EQ(frames.size(), 1u);
  EXPECT_EQ(frames[0].first, 0x88);
  EXPECT_EQ(frames[0].payload, std::string("\x03\xf0", 2) + "Authorization Violation");
  // Nothing may follow a CLOSE.
  wire.clear();
  server.EncodeApp("late", wire);
  server.EncodeClose(1000, "again", wire);
  EXPECT_TRUE(wire.empty());

  WsCodec client = Client();
  const std::string long_reason(200, 'r');
  client.EncodeClose(ws_close::kProtocolError, long_reason, wire);
  frames = ParseFrames(wire);
  ASSERT_EQ(frames.size(), 1u);
  EXPECT_TRUE(frames[0].masked);
  ASSERT_EQ(frames[0].payload.size(), 125u);
  EXPECT_EQ(frames[0].payload.substr(2), std::string(120, 'r') + "...");
}

TEST(WsCodecTest, InputAfterAnErrorIsIgnored) {
  WsCodec server = Server();
  server.OnWireInput(Frame(0x83, "", true));
  const auto error = server.error();
  EXPECT_TRUE(error);
  Take(server);
  server.OnWireInput(Frame(0x82, "more", true) + Frame(0x89, "x", true));
  EXPECT_FALSE(server.has_app_data());
  EXPECT_FALSE(server.has_wire_output());
  EXPECT_EQ(server.error(), error);
}

TEST(WsCodecTest, IdleCodecHoldsNoHeap) {
  WsCodec server = Server(true);
  EXPECT_EQ(server.heap_bytes(), 0u);
  WsCodec encoder = Client(true);
  std::string wire;
  encoder.EncodeApp(Pattern(5000), wire);
  wire += Frame(0x89, "ping", true);
  server.OnWireInput(std::string_view(wire).substr(0, wire.size() / 2));  // mid compressed message
  EXPECT_GT(server.heap_bytes(), 32u * 1024);                              // the inflater
  server.OnWireInput(std::string_view(wire).substr(wire.size() / 2));
  EXPECT_GT(server.heap_bytes(), 0u);  // decoded bytes and the PONG wait
  EXPECT_EQ(ReadAll(server), Pattern(5000));
  EXPECT_TRUE(server.has_wire_output());
  Take(server);
  EXPECT_EQ(server.heap_bytes(), 0u);
  // Uncompressed traffic, read in small pieces, ends with nothing held too.
  server.OnWireInput(Frame(0x82, Pattern(3000), true));
  EXPECT_GT(server.heap_bytes(), 0u);
  EXPECT_EQ(ReadAll(server), Pattern(3000));
  EXPECT_EQ(server.heap_bytes(), 0u);
}

TEST(WsCodecTest, MovedCodecKeepsState) {
  WsCodec server = Server(true);
  WsCodec encoder = Client(true);
  std::string wire;
  encoder.EncodeApp(Pattern(1000), wire);
  server.OnWireInput(std::string_view(wire).substr(0, 20));  // mid compressed message
  WsCodec moved(std::move(server));
  moved.OnWireInput(std::string_view(wire).substr(20));
  EXPECT_EQ(ReadAll(moved), Pattern(1000));
}

}  // namespace
}  // namespace embed::net
