#include "embed/store/internal/field_reader.h"

#include <bit>
#include <cstring>
#include <optional>
#include <string>

namespace embed::store::internal {
namespace {

// A cursor over wire-format bytes. Every read checks bounds: the input is
// whatever the app handed to Put, so nothing about it is trusted.
class Reader {
 public:
  explicit Reader(std::string_view bytes) : bytes_(bytes) {}

  bool done() const { return pos_ == bytes_.size(); }

  bool ReadVarint(std::uint64_t* out) {
    std::uint64_t value = 0;
    for (int i = 0; i < 10; ++i) {
      if (pos_ == bytes_.size()) return false;
      const auto byte = static_cast<std::uint8_t>(bytes_[pos_++]);
      // The tenth byte may only carry the top bit of a 64-bit value.
      if (i == 9 && byte > 1) return false;
      value |= static_cast<std::uint64_t>(byte & 0x7f) << (7 * i);
      if ((byte & 0x80) == 0) {
        *out = value;
        return true;
      }
    }
    return false;
  }

  bool ReadFixed(std::size_t size, std::uint64_t* out) {
    if (bytes_.size() - pos_ < size) return false;
    std::uint64_t value = 0;
    for (std::size_t i = 0; i < size; ++i) {
      value |= static_cast<std::uint64_t>(static_cast<std::uint8_t>(bytes_[pos_ + i])) << (8 * i);
    }
    pos_ += size;
    *out = value;
    return true;
  }

  bool ReadLength(std::string_view* out) {
    std::uint64_t length = 0;
    if (!ReadVarint(&length)) return false;
    if (length > bytes_.size() - pos_) return false;
    *out = bytes_.substr(pos_, static_cast<std::size_t>(length));
    pos_ += static_cast<std::size_t>(length);
    return true;
  }

  // Reads a tag; false for a malformed one (field 0, number too large,
  // wire types 6 and 7).
  bool ReadTag(std::uint32_t* field, WireType* wire_type) {
    std::uint64_t tag = 0;
    if (!ReadVarint(&tag)) return false;
    const std::uint64_t number = tag >> 3;
    const auto type = static_cast<std::uint8_t>(tag & 7);
    if (number == 0 || number > kMaxFieldNumber || type > 5) return false;
    *field = static_cast<std::uint32_t>(number);
    *wire_type = static_cast<WireType>(type);
    return true;
  }

  // Skips the value of a field whose tag was just read. A group is skipped up
  // to its matching end tag.
  bool SkipValue(std::uint32_t field, WireType wire_type, int depth) {
    std::uint64_t ignored = 0;
    std::string_view ignored_bytes;
    switch (wire_type) {
      case WireType::kVarint:
        return ReadVarint(&ignored);
      case WireType::kFixed64:
        return ReadFixed(8, &ignored);
      case WireType::kFixed32:
        return ReadFixed(4, &ignored);
      case WireType::kLengthDelimited:
        return ReadLength(&ignored_bytes);
      case WireType::kEndGroup:
        return false;  // not inside a group here
      case WireType::kStartGroup: {
        if (depth >= kMaxGroupDepth) return false;
        for (;;) {
          std::uint32_t inner = 0;
          WireType inner_type{};
          if (!ReadTag(&inner, &inner_type)) return false;
          if (inner_type == WireType::kEndGroup) return inner == field;
          if (!SkipValue(inner, inner_type, depth + 1)) return false;
        }
      }
    }
    return false;
  }

 private:
  std::string_view bytes_;
  std::size_t pos_ = 0;
};

Status Malformed() { return InvalidArgumentError("value is not well-formed protobuf wire format"); }

FieldValue DefaultOf(FieldType type) {
  switch (KindOf(type)) {
    case ValueKind::kSigned:
      return std::int64_t{0};
    case ValueKind::kUnsigned:
      return std::uint64_t{0};
    case ValueKind::kReal:
      return 0.0;
    case ValueKind::kBytes:
      return std::string_view();
  }
  return std::int64_t{0};
}

// Decodes the raw bits of a scalar (already read with the right wire type)
// as `type`, truncating 32-bit kinds as protobuf does.
FieldValue Decode(FieldType type, std::uint64_t raw) {
  switch (type) {
    case FieldType::kInt64:
    case FieldType::kSfixed64:
      return static_cast<std::int64_t>(raw);
    case FieldType::kInt32:
    case FieldType::kEnum:
    case FieldType::kSfixed32:
      return static_cast<std::int64_t>(static_cast<std::int32_t>(static_cast<std::uint32_t>(raw)));
    case FieldType::kSint64:
      return static_cast<std::int64_t>((raw >> 1) ^ (~(raw & 1) + 1));
    case FieldType::kSint32: {
      const auto low = static_cast<std::uint32_t>(raw);
      return static_cast<std::int64_t>(static_cast<std::int32_t>((low >> 1) ^ (~(low & 1) + 1)));
    }
    case FieldType::kBool:
      return std::int64_t{raw != 0 ? 1 : 0};
    case FieldType::kUint64:
    case FieldType::kFixed64:
      return raw;
    case FieldType::kUint32:
    case FieldType::kFixed32:
      return static_cast<std::uint64_t>(static_cast<std::uint32_t>(raw));
    case FieldType::kDouble:
      return std::bit_cast<double>(raw);
    case FieldType::kFloat:
      return static_cast<double>(std::bit_cast<float>(static_cast<std::uint32_t>(raw)));
    case FieldType::kString:
    case FieldType::kBytes:
      break;  // length-delimited; never reaches here
  }
  return std::int64_t{0};
}

// Walks `message`, updating `*found` with every occurrence of the field at
// `path` (the last one wins; occurrences of a message along the path merge).
Status Walk(std::string_view message, std::span<const std::uint32_t> path, FieldType type,
            std::optional<FieldValue>* found) {
  Reader reader(message);
  while (!reader.done()) {
    std::uint32_t field = 0;
    WireType wire_type{};
    if (!reader.ReadTag(&field, &wire_type)) return Malformed();
    if (field != path[0]) {
      if (!reader.SkipValue(field, wire_type, 0)) return Malformed();
      continue;
    }
    const bool leaf = path.size() == 1;
    const WireType expected = leaf ? WireTypeOf(type) : WireType::kLengthDelimited;
    if (wire_type != expected) {
      return InvalidArgumentError("field " + std::to_string(field) + " has wire type " +
                                  std::to_string(static_cast<int>(wire_type)) +
                                  ", the index expects " +
                                  std::to_string(static_cast<int>(expected)));
    }
    if (wire_type == WireType::kLengthDelimited) {
      std::string_view bytes;
      if (!reader.ReadLength(&bytes)) return Malformed();
      if (leaf) {
        *found = bytes;
      } else {
        EMBED_RETURN_IF_ERROR(Walk(bytes, path.subspan(1), type, found));
      }
      continue;
    }
    std::uint64_t raw = 0;
    const bool ok = wire_type == WireType::kVarint    ? reader.ReadVarint(&raw)
                    : wire_type == WireType::kFixed64 ? reader.ReadFixed(8, &raw)
                                                      : reader.ReadFixed(4, &raw);
    if (!ok) return Malformed();
    *found = Decode(type, raw);
  }
  return Status::Ok();
}

}  // namespace

ValueKind KindOf(FieldType type) {
  switch (type) {
    case FieldType::kInt64:
    case FieldType::kInt32:
    case FieldType::kSint64:
    case FieldType::kSint32:
    case FieldType::kSfixed64:
    case FieldType::kSfixed32:
    case FieldType::kBool:
    case FieldType::kEnum:
      return ValueKind::kSigned;
    case FieldType::kUint64:
    case FieldType::kUint32:
    case FieldType::kFixed64:
    case FieldType::kFixed32:
      return ValueKind::kUnsigned;
    case FieldType::kDouble:
    case FieldType::kFloat:
      return ValueKind::kReal;
    case FieldType::kString:
    case FieldType::kBytes:
      return ValueKind::kBytes;
  }
  return ValueKind::kSigned;
}

WireType WireTypeOf(FieldType type) {
  switch (type) {
    case FieldType::kFixed64:
    case FieldType::kSfixed64:
    case FieldType::kDouble:
      return WireType::kFixed64;
    case FieldType::kFixed32:
    case FieldType::kSfixed32:
    case FieldType::kFloat:
      return WireType::kFixed32;
    case FieldType::kString:
    case FieldType::kBytes:
      return WireType::kLengthDelimited;
    default:
      return WireType::kVarint;
  }
}

Status ValidateMessage(std::string_view message) {
  Reader reader(message);
  while (!reader.done()) {
    std::uint32_t field = 0;
    WireType wire_type{};
    if (!reader.ReadTag(&field, &wire_type)) return Malformed();
    if (!reader.SkipValue(field, wire_type, 0)) return Malformed();
  }
  return Status::Ok();
}

Status ValidateFieldPath(std::span<const std::uint32_t> path) {
  if (path.empty() || path.size() > kMaxFieldPathLength) {
    return InvalidArgumentError("a field path has 1 to 16 field numbers");
  }
  for (std::uint32_t number : path) {
    if (number == 0 || number > kMaxFieldNumber) {
      return InvalidArgumentError("field numbers lie in [1, 2^29)");
    }
  }
  return Status::Ok();
}

Result<FieldValue> Extract(std::string_view message, std::span<const std::uint32_t> path,
                           FieldType type) {
  EMBED_RETURN_IF_ERROR(ValidateFieldPath(path));
  std::optional<FieldValue> found;
  EMBED_RETURN_IF_ERROR(Walk(message, path, type, &found));
  if (!found) return DefaultOf(type);
  return *found;
}

}  // namespace embed::store::internal
