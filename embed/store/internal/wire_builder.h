#pragma once
// Test helper: builds protobuf wire-format bytes by hand, so the store's
// tests need no libprotobuf and can also build malformed input.
//
//   std::string user = WireBuilder().String(1, "ada").Varint(2, 36).Done();

#include <bit>
#include <cstdint>
#include <string>
#include <string_view>

namespace embed::store::internal {

class WireBuilder {
 public:
  WireBuilder& Tag(std::uint32_t field, int wire_type) {
    return RawVarint((static_cast<std::uint64_t>(field) << 3) |
                     static_cast<std::uint64_t>(wire_type));
  }
  WireBuilder& RawVarint(std::uint64_t value) {
    while (value >= 0x80) {
      bytes_ += static_cast<char>((value & 0x7f) | 0x80);
      value >>= 7;
    }
    bytes_ += static_cast<char>(value);
    return *this;
  }
  WireBuilder& Varint(std::uint32_t field, std::uint64_t value) {
    return Tag(field, 0).RawVarint(value);
  }
  // int32/int64/enum: negative values are sign-extended to 64 bits.
  WireBuilder& Int(std::uint32_t field, std::int64_t value) {
    return Varint(field, static_cast<std::uint64_t>(value));
  }
  WireBuilder& Sint(std::uint32_t field, std::int64_t value) {
    return Varint(
        field, (static_cast<std::uint64_t>(value) << 1) ^ static_cast<std::uint64_t>(value >> 63));
  }
  WireBuilder& Fixed64(std::uint32_t field, std::uint64_t value) {
    Tag(field, 1);
    for (int i = 0; i < 8; ++i) bytes_ += static_cast<char>(value >> (8 * i));
    return *this;
  }
  WireBuilder& Fixed32(std::uint32_t field, std::uint32_t value) {
    Tag(field, 5);
    for (int i = 0; i < 4; ++i) bytes_ += static_cast<char>(value >> (8 * i));
    return *this;
  }
  WireBuilder& Double(std::uint32_t field, double value) {
    return Fixed64(field, std::bit_cast<std::uint64_t>(value));
  }
  WireBuilder& Float(std::uint32_t field, float value) {
    return Fixed32(field, std::bit_cast<std::uint32_t>(value));
  }
  WireBuilder& Bytes(std::uint32_t field, std::string_view value) {
    Tag(field, 2).RawVarint(value.size());
    bytes_ += value;
    return *this;
  }
  WireBuilder& String(std::uint32_t field, std::string_view value) { return Bytes(field, value); }
  WireBuilder& Message(std::uint32_t field, const WireBuilder& message) {
    return Bytes(field, message.bytes_);
  }
  WireBuilder& Raw(std::string_view bytes) {
    bytes_ += bytes;
    return *this;
  }
  std::string Done() const { return bytes_; }

 private:
  std::string bytes_;
};

}  // namespace embed::store::internal
