#pragma once
// A reader of the protobuf wire format, just enough for the store: it checks
// that a value is a well-formed message and pulls the value of one singular
// scalar field out of it, found by a path of field numbers. Pure: no SQLite,
// no libprotobuf (the store must not depend on the app's message types).
//
// What "well-formed" means here: every top-level tag has a field number in
// [1, 2^29) and a known wire type, every varint ends within 10 bytes, every
// length fits, and groups are balanced. Nested messages are only parsed along
// the field paths an index asks for; bytes inside other fields are opaque
// (like unknown fields to a parser that does not look into them).
//
// Semantics of Extract follow a protobuf parser: the last occurrence of a
// scalar wins, and repeated occurrences of an embedded message merge (so a
// path through a repeated message field sees the elements as if merged: the
// last element that has the field wins). An absent field is its proto3
// default. Packed repeated fields are not singular and are refused (wrong
// wire type).
//
//   EMBED_RETURN_IF_ERROR(ValidateMessage(bytes));
//   EMBED_ASSIGN_OR_RETURN(FieldValue v, Extract(bytes, {2, 1}, FieldType::kString));

#include <cstdint>
#include <span>
#include <string_view>
#include <variant>

#include "embed/base/result.h"
#include "embed/base/status.h"
#include "embed/store/database.h"

namespace embed::store::internal {

// Bounds on what the reader accepts.
inline constexpr std::size_t kMaxFieldPathLength = 16;
inline constexpr std::uint32_t kMaxFieldNumber = (1u << 29) - 1;
// Groups nest by recursion when skipped; deeper nesting is refused.
inline constexpr int kMaxGroupDepth = 64;

enum class WireType : std::uint8_t {
  kVarint = 0,
  kFixed64 = 1,
  kLengthDelimited = 2,
  kStartGroup = 3,
  kEndGroup = 4,
  kFixed32 = 5,
};

// How a FieldType is stored in an index column.
enum class ValueKind { kSigned, kUnsigned, kReal, kBytes };
ValueKind KindOf(FieldType type);
WireType WireTypeOf(FieldType type);

// A decoded field: int64 for signed kinds, bool and enum; uint64 for the
// unsigned kinds; double for double and float; a view into the message for
// string and bytes.
using FieldValue = std::variant<std::int64_t, std::uint64_t, double, std::string_view>;

// kInvalidArgument unless `message` is well-formed at its top level.
Status ValidateMessage(std::string_view message);

// The value of the field at `path` (1 to kMaxFieldPathLength field numbers)
// read as `type`; validates the top level and every message along the path.
// kInvalidArgument for malformed input or a field whose wire type does not
// match `type` (or, along the path, is not length-delimited).
Result<FieldValue> Extract(std::string_view message, std::span<const std::uint32_t> path,
                           FieldType type);

// Checks a declared path: 1..kMaxFieldPathLength numbers in [1, kMaxFieldNumber].
Status ValidateFieldPath(std::span<const std::uint32_t> path);

}  // namespace embed::store::internal
