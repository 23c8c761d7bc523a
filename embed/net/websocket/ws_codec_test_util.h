#pragma once
// Test-only helpers of the WsCodec tests: frames built and parsed by hand
// (independently of the codec), zlib round trips, test payloads.

#include <algorithm>
#include <array>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include <gtest/gtest.h>
#include <zlib.h>

#include "embed/net/websocket/ws_codec.h"

namespace embed::net::ws_test {

using Key = std::array<std::uint8_t, 4>;

// Builds one frame by hand. `length_form` forces the 7/16/64-bit length form
// (0: minimal).
inline std::string Frame(std::uint8_t first, std::string_view payload, bool mask, Key key = {0x11, 0x22, 0x33, 0x44},
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
inline std::vector<ParsedFrame> ParseFrames(std::string_view wire) {
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

inline std::string ReadAll(WsCodec& codec) {
  std::string out;
  char buffer[777];
  while (codec.has_app_data()) out.append(buffer, codec.ReadApp(buffer, sizeof(buffer)));
  return out;
}

inline std::string Take(WsCodec& codec) {
  std::string wire;
  codec.TakeWireOutput(wire);
  return wire;
}

inline WsCodec Server(bool compression = false, std::size_t max_message_bytes = 64 * 1024 * 1024) {
  WsCodecOptions options;
  options.role = WsRole::kServer;
  options.compression = compression;
  options.max_message_bytes = max_message_bytes;
  return WsCodec(options);
}

inline WsCodec Client(bool compression = false, std::size_t max_message_bytes = 64 * 1024 * 1024) {
  WsCodecOptions options;
  options.role = WsRole::kClient;
  options.compression = compression;
  options.max_message_bytes = max_message_bytes;
  return WsCodec(options);
}

// Expects the codec to have failed with `error` and queued exactly one CLOSE
// with `close_code`.
inline void ExpectClosedWith(WsCodec& codec, WsError error, int close_code) {
  EXPECT_EQ(codec.error(), make_error_code(error)) << codec.error().message();
  const auto frames = ParseFrames(Take(codec));
  ASSERT_EQ(frames.size(), 1u);
  EXPECT_EQ(frames[0].first, 0x88);
  ASSERT_GE(frames[0].payload.size(), 2u);
  EXPECT_EQ((static_cast<std::uint8_t>(frames[0].payload[0]) << 8) | static_cast<std::uint8_t>(frames[0].payload[1]),
            close_code);
  EXPECT_EQ(codec.sent_close_code(), close_code);
}

inline std::string Deflate(std::string_view input, int flush) {
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

inline std::string Inflate(std::string input) {
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

inline std::string Pattern(std::size_t size) {
  std::string out;
  for (std::size_t i = 0; i < size; ++i) out.push_back(static_cast<char>('a' + (i * 7 + i / 13) % 26));
  return out;
}

}  // namespace embed::net::ws_test
