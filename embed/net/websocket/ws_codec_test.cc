// WsCodec framing rules: decoding, encoding, control frames, errors.
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
