#pragma once
// Shared by the store crash test and its writer: what the writer writes, so
// the test can check every acknowledged value byte for byte.

#include <cstdint>
#include <string>

namespace embed::store::crash_test {

inline std::string KeyOf(std::uint64_t n) { return "k" + std::to_string(n); }

// A protobuf message { 1: n (varint), 2: payload (bytes) } whose payload
// length (16..1040 bytes) and contents follow from n.
inline std::string ValueOf(std::uint64_t n) {
  std::string out;
  auto varint = [&out](std::uint64_t v) {
    while (v >= 0x80) {
      out += static_cast<char>((v & 0x7f) | 0x80);
      v >>= 7;
    }
    out += static_cast<char>(v);
  };
  out += '\x08';
  varint(n);
  const std::size_t length = 16 + (n * 7919) % 1025;
  out += '\x12';
  varint(length);
  for (std::size_t i = 0; i < length; ++i) out += static_cast<char>('a' + (n + i) % 26);
  return out;
}

}  // namespace embed::store::crash_test
