#include "embed/store/internal/field_reader.h"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <vector>

#include "embed/store/internal/wire_builder.h"

namespace embed::store::internal {
namespace {

using W = WireBuilder;

struct ScalarCase {
  const char* name;
  std::string message;
  FieldType type;
  FieldValue expected;
};

TEST(FieldReader, ExtractsEveryFieldType) {
  const std::vector<ScalarCase> cases = {
      {"int64", W().Int(1, -5).Done(), FieldType::kInt64, std::int64_t{-5}},
      {"int64 max", W().Int(1, INT64_MAX).Done(), FieldType::kInt64, std::int64_t{INT64_MAX}},
      {"int32 negative (10-byte varint)", W().Int(1, -7).Done(), FieldType::kInt32,
       std::int64_t{-7}},
      {"int32 truncates", W().Varint(1, 0x1'0000'0005).Done(), FieldType::kInt32, std::int64_t{5}},
      {"enum", W().Varint(1, 3).Done(), FieldType::kEnum, std::int64_t{3}},
      {"bool true", W().Varint(1, 2).Done(), FieldType::kBool, std::int64_t{1}},
      {"bool false", W().Varint(1, 0).Done(), FieldType::kBool, std::int64_t{0}},
      {"sint64", W().Sint(1, -123456789012).Done(), FieldType::kSint64,
       std::int64_t{-123456789012}},
      {"sint64 min", W().Sint(1, INT64_MIN).Done(), FieldType::kSint64, std::int64_t{INT64_MIN}},
      {"sint32", W().Sint(1, -3).Done(), FieldType::kSint32, std::int64_t{-3}},
      {"uint64 above int64", W().Varint(1, UINT64_MAX).Done(), FieldType::kUint64,
       std::uint64_t{UINT64_MAX}},
      {"uint32", W().Varint(1, 4000000000u).Done(), FieldType::kUint32, std::uint64_t{4000000000u}},
      {"fixed64", W().Fixed64(1, 1ull << 63).Done(), FieldType::kFixed64,
       std::uint64_t{1ull << 63}},
      {"fixed32", W().Fixed32(1, 0xffffffffu).Done(), FieldType::kFixed32,
       std::uint64_t{0xffffffffu}},
      {"sfixed64", W().Fixed64(1, static_cast<std::uint64_t>(-9)).Done(), FieldType::kSfixed64,
       std::int64_t{-9}},
      {"sfixed32", W().Fixed32(1, static_cast<std::uint32_t>(-9)).Done(), FieldType::kSfixed32,
       std::int64_t{-9}},
      {"double", W().Double(1, -2.5).Done(), FieldType::kDouble, -2.5},
      {"float", W().Float(1, 0.25f).Done(), FieldType::kFloat, 0.25},
      {"string", W().String(1, "ada").Done(), FieldType::kString, std::string_view("ada")},
      {"bytes", W().Bytes(1, std::string("\0\xff", 2)).Done(), FieldType::kBytes,
       std::string_view("\0\xff", 2)},
  };
  for (const ScalarCase& c : cases) {
    const std::vector<std::uint32_t> path = {1};
    Result<FieldValue> value = Extract(c.message, path, c.type);
    ASSERT_TRUE(value.ok()) << c.name << ": " << value.status().ToString();
    EXPECT_EQ(*value, c.expected) << c.name;
  }
}

TEST(FieldReader, AbsentFieldIsTheProto3Default) {
  const std::string message = W().String(2, "other").Done();
  const std::vector<std::uint32_t> path = {1};
  EXPECT_EQ(*Extract(message, path, FieldType::kInt64), FieldValue(std::int64_t{0}));
  EXPECT_EQ(*Extract(message, path, FieldType::kUint64), FieldValue(std::uint64_t{0}));
  EXPECT_EQ(*Extract(message, path, FieldType::kDouble), FieldValue(0.0));
  EXPECT_EQ(*Extract(message, path, FieldType::kString), FieldValue(std::string_view()));
  EXPECT_EQ(*Extract("", path, FieldType::kBool), FieldValue(std::int64_t{0}));
  const std::vector<std::uint32_t> nested = {3, 1};
  EXPECT_EQ(*Extract(message, nested, FieldType::kString), FieldValue(std::string_view()));
}

TEST(FieldReader, LastOccurrenceOfAScalarWins) {
  const std::string message = W().Varint(1, 1).String(2, "x").Varint(1, 9).Done();
  const std::vector<std::uint32_t> path = {1};
  EXPECT_EQ(*Extract(message, path, FieldType::kInt64), FieldValue(std::int64_t{9}));
}

TEST(FieldReader, FollowsNestedPathsWithMergeSemantics) {
  const std::string message =
      W().Varint(1, 7).Message(2, W().String(1, "inner").Message(3, W().Varint(4, 42))).Done();
  const std::vector<std::uint32_t> inner = {2, 1};
  const std::vector<std::uint32_t> deep = {2, 3, 4};
  EXPECT_EQ(*Extract(message, inner, FieldType::kString), FieldValue(std::string_view("inner")));
  EXPECT_EQ(*Extract(message, deep, FieldType::kInt64), FieldValue(std::int64_t{42}));
  // Two occurrences of field 2 merge: field 1 from the second, field 3 kept.
  const std::string merged = message + W().Message(2, W().String(1, "second")).Done();
  EXPECT_EQ(*Extract(merged, inner, FieldType::kString), FieldValue(std::string_view("second")));
  EXPECT_EQ(*Extract(merged, deep, FieldType::kInt64), FieldValue(std::int64_t{42}));
}

TEST(FieldReader, WrongWireTypeIsInvalidArgument) {
  struct Case {
    const char* name;
    std::string message;
    std::vector<std::uint32_t> path;
    FieldType type;
  };
  const std::vector<Case> cases = {
      {"varint read as string", W().Varint(1, 1).Done(), {1}, FieldType::kString},
      {"string read as int64", W().String(1, "x").Done(), {1}, FieldType::kInt64},
      {"fixed32 read as double", W().Fixed32(1, 1).Done(), {1}, FieldType::kDouble},
      {"fixed64 read as float", W().Fixed64(1, 1).Done(), {1}, FieldType::kFloat},
      {"varint read as fixed64", W().Varint(1, 1).Done(), {1}, FieldType::kFixed64},
      {"packed repeated",
       W().Bytes(1, W().RawVarint(1).RawVarint(2).Done()).Done(),
       {1},
       FieldType::kInt32},
      {"path through a scalar", W().Varint(2, 1).Done(), {2, 1}, FieldType::kInt64},
      {"nested wrong type", W().Message(2, W().Fixed32(1, 3)).Done(), {2, 1}, FieldType::kInt64},
  };
  for (const Case& c : cases) {
    Result<FieldValue> value = Extract(c.message, c.path, c.type);
    ASSERT_FALSE(value.ok()) << c.name;
    EXPECT_EQ(value.status().code(), StatusCode::kInvalidArgument) << c.name;
  }
}

TEST(FieldReader, RejectsMalformedInput) {
  const std::string good = W().Varint(1, 300).String(2, "hello").Fixed64(3, 1).Fixed32(4, 2).Done();
  ASSERT_TRUE(ValidateMessage(good).ok());
  // Every strict prefix that cuts a field is malformed; cuts between fields
  // are well-formed messages.
  const std::vector<std::size_t> boundaries = {0, 3, 10, 19, good.size()};
  for (std::size_t cut = 0; cut <= good.size(); ++cut) {
    const bool at_boundary =
        std::find(boundaries.begin(), boundaries.end(), cut) != boundaries.end();
    EXPECT_EQ(ValidateMessage(good.substr(0, cut)).ok(), at_boundary) << "cut at " << cut;
  }
  const std::vector<std::string> bad = {
      std::string("\x00\x01", 2),                                     // field number 0
      std::string("\x0e\x01", 2),                                     // wire type 6
      std::string("\x0f", 1),                                         // wire type 7
      W().Tag(1, 0).Raw(std::string(10, '\xff')).Raw("\x01").Done(),  // varint too long
      W().Tag(1, 0).Raw(std::string(9, '\xff')).Raw("\x02").Done(),   // varint overflows 64 bits
      W().Tag(1, 2).RawVarint(5).Raw("abc").Done(),                   // length past the end
      W().Tag(1, 2).RawVarint(UINT64_MAX).Done(),                     // huge length
      W().Tag(1, 4).Done(),                                           // end group without start
      W().Tag(1, 3).Varint(2, 1).Done(),                              // unterminated group
      W().Tag(1, 3).Tag(2, 4).Done(),                                 // mismatched group end
      W().RawVarint((std::uint64_t{1} << 32) | 0).Done(),             // field number >= 2^29
  };
  for (std::size_t i = 0; i < bad.size(); ++i) {
    EXPECT_EQ(ValidateMessage(bad[i]).code(), StatusCode::kInvalidArgument) << "case " << i;
    const std::vector<std::uint32_t> path = {1};
    EXPECT_FALSE(Extract(bad[i], path, FieldType::kInt64).ok()) << "case " << i;
  }
}

TEST(FieldReader, SkipsGroupsAndUnknownFields) {
  const std::string message =
      W().Tag(5, 3).Varint(1, 1).Tag(6, 3).Tag(6, 4).Tag(5, 4).Varint(1, 8).Done();
  EXPECT_TRUE(ValidateMessage(message).ok());
  const std::vector<std::uint32_t> path = {1};
  EXPECT_EQ(*Extract(message, path, FieldType::kInt64), FieldValue(std::int64_t{8}));
  std::string deep;
  for (int i = 0; i < kMaxGroupDepth + 2; ++i) deep += W().Tag(1, 3).Done();
  EXPECT_FALSE(ValidateMessage(deep).ok());
}

TEST(FieldReader, ValidatesFieldPaths) {
  EXPECT_FALSE(ValidateFieldPath(std::vector<std::uint32_t>{}).ok());
  EXPECT_FALSE(ValidateFieldPath(std::vector<std::uint32_t>{0}).ok());
  EXPECT_FALSE(ValidateFieldPath(std::vector<std::uint32_t>{kMaxFieldNumber + 1}).ok());
  EXPECT_FALSE(ValidateFieldPath(std::vector<std::uint32_t>(kMaxFieldPathLength + 1, 1)).ok());
  EXPECT_TRUE(ValidateFieldPath(std::vector<std::uint32_t>{1, kMaxFieldNumber}).ok());
}

}  // namespace
}  // namespace embed::store::internal
