#include "embed/store/database.h"

#include <gtest/gtest.h>
#include <sqlite3.h>
#include <unistd.h>

#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <limits>

#include "embed/store/internal/wire_builder.h"

namespace embed::store {
namespace {

using internal::WireBuilder;

// A user message: 1 name (string), 2 age (int32), 3 score (double),
// 4 id (uint64), 5 address { 1 city (string) }, 6 delta (sint64).
std::string User(std::string_view name, std::int64_t age = 0, double score = 0,
                 std::uint64_t id = 0, std::string_view city = "", std::int64_t delta = 0) {
  WireBuilder b;
  b.String(1, name).Int(2, age).Double(3, score).Varint(4, id);
  if (!city.empty()) b.Message(5, WireBuilder().String(1, city));
  b.Sint(6, delta);
  return b.Done();
}

std::vector<std::string> Keys(const Result<std::vector<Row>>& rows) {
  std::vector<std::string> keys;
  if (!rows.ok()) {
    keys.push_back("error: " + rows.status().ToString());
    return keys;
  }
  for (const Row& row : *rows) keys.push_back(row.key);
  return keys;
}

class StoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    path_ = ::testing::TempDir() + "store_test_" + std::to_string(::getpid()) + "_" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name() + ".db";
    Remove();
    Reopen();
  }
  void TearDown() override {
    db_.reset();
    Remove();
  }
  void Remove() {
    for (const char* suffix : {"", "-wal", "-shm"}) std::filesystem::remove(path_ + suffix);
  }
  void Reopen(DatabaseOptions options = {}) {
    db_.reset();
    auto opened = Database::Open(path_, options);
    ASSERT_TRUE(opened.ok()) << opened.status().ToString();
    db_ = std::move(opened).value();
  }
  void CreateUsers() {
    ASSERT_TRUE(db_->Apply(TableSpec{"users",
                                     {{"by_name", {1}, FieldType::kString},
                                      {"by_age", {2}, FieldType::kInt32},
                                      {"by_score", {3}, FieldType::kDouble},
                                      {"by_id", {4}, FieldType::kUint64},
                                      {"by_city", {5, 1}, FieldType::kString},
                                      {"by_delta", {6}, FieldType::kSint64}}})
                    .ok());
  }

  std::string path_;
  std::unique_ptr<Database> db_;
};

TEST_F(StoreTest, PutGetDelete) {
  ASSERT_TRUE(db_->Apply(TableSpec{"kv", {}}).ok());
  const std::string value = User("ada");
  ASSERT_TRUE(db_->Put("kv", "a", value).ok());
  EXPECT_EQ(db_->Get("kv", "a")->value_or("missing"), value);
  EXPECT_FALSE(db_->Get("kv", "b")->has_value());
  ASSERT_TRUE(db_->Put("kv", "a", User("bob")).ok());
  EXPECT_EQ(db_->Get("kv", "a")->value_or(""), User("bob"));
  EXPECT_TRUE(*db_->Delete("kv", "a"));
  EXPECT_FALSE(*db_->Delete("kv", "a"));
  EXPECT_FALSE(db_->Get("kv", "a")->has_value());
  // Empty keys and values (the empty message) are valid; keys are bytes.
  ASSERT_TRUE(db_->Put("kv", "", "").ok());
  ASSERT_TRUE(db_->Put("kv", std::string("\0\xff", 2), value).ok());
  EXPECT_EQ(db_->Get("kv", "")->value_or("missing"), "");
  EXPECT_EQ(db_->Get("kv", std::string("\0\xff", 2))->value_or(""), value);
}

TEST_F(StoreTest, RejectsBadNamesUndeclaredTablesAndMalformedValues) {
  ASSERT_TRUE(db_->Apply(TableSpec{"kv", {}}).ok());
  EXPECT_EQ(db_->Put("nope", "a", "").code(), StatusCode::kNotFound);
  EXPECT_EQ(db_->Get("nope", "a").status().code(), StatusCode::kNotFound);
  EXPECT_EQ(db_->Delete("nope", "a").status().code(), StatusCode::kNotFound);
  EXPECT_EQ(db_->Scan("nope", {}).status().code(), StatusCode::kNotFound);
  EXPECT_EQ(db_->Put("kv", "a", "\xff").code(), StatusCode::kInvalidArgument);
  EXPECT_FALSE(db_->Get("kv", "a")->has_value());
  for (const char* bad : {"", "1abc", "a-b", "a b", "t\"x", "\xc3\xa9"}) {
    EXPECT_EQ(db_->Apply(TableSpec{bad, {}}).code(), StatusCode::kInvalidArgument) << bad;
  }
  EXPECT_EQ(db_->Apply(TableSpec{std::string(65, 'a'), {}}).code(), StatusCode::kInvalidArgument);
  EXPECT_TRUE(db_->Apply(TableSpec{std::string(64, 'a'), {}}).ok());
  EXPECT_EQ(db_->Apply(TableSpec{"kv", {}}).code(), StatusCode::kAlreadyExists);
  // SQLite names ignore case, so a table differing only in case collides.
  EXPECT_EQ(db_->Apply(TableSpec{"KV", {}}).code(), StatusCode::kAlreadyExists);
  EXPECT_EQ(
      db_->Apply(TableSpec{"t", {{"a", {1}, FieldType::kInt64}, {"A", {2}, FieldType::kInt64}}})
          .code(),
      StatusCode::kInvalidArgument);
  EXPECT_EQ(db_->Apply(TableSpec{"t", {{"bad-name", {1}, FieldType::kInt64}}}).code(),
            StatusCode::kInvalidArgument);
  EXPECT_EQ(db_->Apply(TableSpec{"t", {{"a", {0}, FieldType::kInt64}}}).code(),
            StatusCode::kInvalidArgument);
  EXPECT_EQ(db_->Apply(DropTable{"nope"}).code(), StatusCode::kNotFound);
  EXPECT_EQ(db_->Apply(DropIndex{"kv", "nope"}).code(), StatusCode::kNotFound);
  EXPECT_EQ(db_->Watch({.table = "nope"}, [](const Change&) {}).status().code(),
            StatusCode::kNotFound);
}

TEST_F(StoreTest, IndexedFieldWithWrongWireTypeIsRejected) {
  CreateUsers();
  const std::string bad = WireBuilder().Varint(1, 5).Done();  // name as a varint
  EXPECT_EQ(db_->Put("users", "u", bad).code(), StatusCode::kInvalidArgument);
  EXPECT_FALSE(db_->Get("users", "u")->has_value());
}

TEST_F(StoreTest, TransactionIsAtomic) {
  ASSERT_TRUE(db_->Apply(TableSpec{"kv", {}}).ok());
  ASSERT_TRUE(db_->Put("kv", "keep", User("k")).ok());
  {
    auto tx = db_->Begin();
    ASSERT_TRUE(tx.ok());
    ASSERT_TRUE(tx->Put("kv", "a", User("a")).ok());
    ASSERT_TRUE(*tx->Delete("kv", "keep"));
    EXPECT_EQ(tx->Get("kv", "a")->value_or(""), User("a"));  // sees its own writes
    EXPECT_EQ(tx->Put("kv", "b", "\x08").code(), StatusCode::kInvalidArgument);
    // A write failed: the caller gives up, and nothing of the batch remains.
    ASSERT_TRUE(tx->Rollback().ok());
    EXPECT_EQ(tx->Put("kv", "c", "").code(), StatusCode::kFailedPrecondition);
  }
  EXPECT_FALSE(db_->Get("kv", "a")->has_value());
  EXPECT_TRUE(db_->Get("kv", "keep")->has_value());
  {
    auto tx = db_->Begin();
    ASSERT_TRUE(tx->Put("kv", "x", User("x")).ok());
    // Destroyed without Commit: rolled back.
  }
  EXPECT_FALSE(db_->Get("kv", "x")->has_value());
  {
    auto tx = db_->Begin();
    ASSERT_TRUE(tx->Put("kv", "x", User("x")).ok());
    ASSERT_TRUE(tx->Put("kv", "y", User("y")).ok());
    // The database's own calls on this thread would deadlock: refused.
    EXPECT_EQ(db_->Get("kv", "x").status().code(), StatusCode::kFailedPrecondition);
    EXPECT_EQ(db_->Begin().status().code(), StatusCode::kFailedPrecondition);
    ASSERT_TRUE(tx->Commit().ok());
    EXPECT_EQ(tx->Commit().code(), StatusCode::kFailedPrecondition);
  }
  EXPECT_TRUE(db_->Get("kv", "x")->has_value());
  EXPECT_TRUE(db_->Get("kv", "y")->has_value());
}

TEST_F(StoreTest, ScanRangesPrefixesLimitsAndOrder) {
  ASSERT_TRUE(db_->Apply(TableSpec{"kv", {}}).ok());
  for (const char* key : {"a", "a/1", "a/2", "a/3", "b", "b/1", "c"}) {
    ASSERT_TRUE(db_->Put("kv", key, "").ok());
  }
  ASSERT_TRUE(db_->Put("kv", std::string("\xff\xff", 2), "").ok());
  ASSERT_TRUE(db_->Put("kv", std::string("\xff\xff\x01", 3), "").ok());
  using V = std::vector<std::string>;
  struct Case {
    const char* name;
    ScanOptions options;
    V expected;
  };
  const std::vector<Case> cases = {
      {"all", {}, V{"a", "a/1", "a/2", "a/3", "b", "b/1", "c", "\xff\xff", "\xff\xff\x01"}},
      {"start", {.start = "b"}, V{"b", "b/1", "c", "\xff\xff", "\xff\xff\x01"}},
      {"end exclusive", {.end = "b"}, V{"a", "a/1", "a/2", "a/3"}},
      {"range", {.start = "a/2", .end = "b/1"}, V{"a/2", "a/3", "b"}},
      {"prefix", {.prefix = "a/"}, V{"a/1", "a/2", "a/3"}},
      {"prefix and start", {.start = "a/2", .prefix = "a/"}, V{"a/2", "a/3"}},
      {"prefix and end", {.end = "a/3", .prefix = "a/"}, V{"a/1", "a/2"}},
      {"prefix limit", {.prefix = "a", .limit = 2}, V{"a", "a/1"}},
      {"descending limit", {.prefix = "a/", .limit = 2, .descending = true}, V{"a/3", "a/2"}},
      {"descending", {.start = "b", .end = "c", .descending = true}, V{"b/1", "b"}},
      {"all-0xff prefix", {.prefix = "\xff\xff"}, V{"\xff\xff", "\xff\xff\x01"}},
      {"empty range", {.start = "c", .end = "b"}, V{}},
      {"no match", {.prefix = "zz"}, V{}},
  };
  for (const Case& c : cases) {
    EXPECT_EQ(Keys(db_->Scan("kv", c.options)), c.expected) << c.name;
  }
}

TEST_F(StoreTest, IndexQueriesPerType) {
  CreateUsers();
  const std::uint64_t big = std::numeric_limits<std::uint64_t>::max() - 1;
  ASSERT_TRUE(db_->Put("users", "u1", User("carol", 30, 1.5, big, "paris", -5)).ok());
  ASSERT_TRUE(db_->Put("users", "u2", User("alice", -4, -2.25, 7, "oslo", 3)).ok());
  ASSERT_TRUE(db_->Put("users", "u3", User("bob", 30, 1e300, 1ull << 63, "paris", 0)).ok());
  ASSERT_TRUE(db_->Put("users", "u4", User("", 0, 0, 0, "", -1)).ok());  // defaults
  using V = std::vector<std::string>;
  struct Case {
    const char* name;
    IndexQuery query;
    V expected;
  };
  const std::vector<Case> cases = {
      {"string eq", {.index = "by_name", .equals = std::string("bob")}, V{"u3"}},
      {"string order", {.index = "by_name"}, V{"u4", "u2", "u3", "u1"}},
      {"string range",
       {.index = "by_name", .lower = std::string("b"), .upper = std::string("c")},
       V{"u3"}},
      {"int eq, then key order", {.index = "by_age", .equals = std::int64_t{30}}, V{"u1", "u3"}},
      {"negative ints sort first", {.index = "by_age"}, V{"u2", "u4", "u1", "u3"}},
      {"int range exclusive",
       {.index = "by_age",
        .lower = std::int64_t{-4},
        .lower_exclusive = true,
        .upper = std::int64_t{30},
        .upper_exclusive = true},
       V{"u4"}},
      {"double order", {.index = "by_score"}, V{"u2", "u4", "u1", "u3"}},
      {"double range", {.index = "by_score", .lower = -3.0, .upper = 2.0}, V{"u2", "u4", "u1"}},
      {"uint64 sorts unsigned", {.index = "by_id"}, V{"u4", "u2", "u3", "u1"}},
      {"uint64 above INT64_MAX",
       {.index = "by_id", .lower = std::uint64_t{1} << 63},
       V{"u3", "u1"}},
      {"uint64 eq", {.index = "by_id", .equals = big}, V{"u1"}},
      {"nested path", {.index = "by_city", .equals = std::string("paris")}, V{"u1", "u3"}},
      {"absent nested is empty", {.index = "by_city", .equals = std::string()}, V{"u4"}},
      {"sint64", {.index = "by_delta", .upper = std::int64_t{-1}}, V{"u1", "u4"}},
      {"descending limit",
       {.index = "by_age", .limit = 3, .descending = true},
       V{"u3", "u1", "u4"}},
  };
  for (const Case& c : cases) {
    EXPECT_EQ(Keys(db_->Query("users", c.query)), c.expected) << c.name;
  }
  // Updating a row moves it in the index.
  ASSERT_TRUE(db_->Put("users", "u3", User("zed", 1)).ok());
  EXPECT_EQ(Keys(db_->Query("users", {.index = "by_age", .equals = std::int64_t{30}})), V{"u1"});
  ASSERT_TRUE(*db_->Delete("users", "u1"));
  EXPECT_EQ(Keys(db_->Query("users", {.index = "by_age", .equals = std::int64_t{30}})), V{});
  // A value of the wrong kind, or an unknown index.
  EXPECT_EQ(db_->Query("users", {.index = "by_id", .equals = std::int64_t{1}}).status().code(),
            StatusCode::kInvalidArgument);
  EXPECT_EQ(db_->Query("users", {.index = "by_name", .lower = 1.0}).status().code(),
            StatusCode::kInvalidArgument);
  EXPECT_EQ(db_->Query("users", {.index = "nope"}).status().code(), StatusCode::kNotFound);
}

TEST_F(StoreTest, EveryFieldTypeIndexesAndSortsByValue) {
  // Per type: three encoded values in ascending order with the query value
  // of each. Keys run against value order ("c" holds the lowest), so the
  // result order shows that the field sorts, not the key.
  using W = WireBuilder;
  struct Case {
    FieldType type;
    std::vector<std::pair<std::string, IndexValue>> ascending;
  };
  const auto i64 = [](std::int64_t v) { return IndexValue(v); };
  const auto u64 = [](std::uint64_t v) { return IndexValue(v); };
  const std::vector<Case> cases = {
      {FieldType::kInt64,
       {{W().Int(1, -5).Done(), i64(-5)},
        {W().Int(1, 3).Done(), i64(3)},
        {W().Int(1, INT64_MAX).Done(), i64(INT64_MAX)}}},
      {FieldType::kUint64,
       {{W().Varint(1, 1).Done(), u64(1)},
        {W().Varint(1, 1ull << 63).Done(), u64(1ull << 63)},
        {W().Varint(1, UINT64_MAX).Done(), u64(UINT64_MAX)}}},
      {FieldType::kInt32,
       {{W().Int(1, -7).Done(), i64(-7)},
        {W().Int(1, 1).Done(), i64(1)},
        {W().Int(1, INT32_MAX).Done(), i64(INT32_MAX)}}},
      {FieldType::kUint32,
       {{W().Varint(1, 1).Done(), u64(1)},
        {W().Varint(1, 1u << 31).Done(), u64(1u << 31)},
        {W().Varint(1, UINT32_MAX).Done(), u64(UINT32_MAX)}}},
      {FieldType::kSint64,
       {{W().Sint(1, INT64_MIN).Done(), i64(INT64_MIN)},
        {W().Sint(1, -1).Done(), i64(-1)},
        {W().Sint(1, 5).Done(), i64(5)}}},
      {FieldType::kSint32,
       {{W().Sint(1, -100).Done(), i64(-100)},
        {W().Sint(1, 2).Done(), i64(2)},
        {W().Sint(1, 100).Done(), i64(100)}}},
      {FieldType::kFixed64,
       {{W().Fixed64(1, 1).Done(), u64(1)},
        {W().Fixed64(1, 1ull << 63).Done(), u64(1ull << 63)},
        {W().Fixed64(1, UINT64_MAX).Done(), u64(UINT64_MAX)}}},
      {FieldType::kFixed32,
       {{W().Fixed32(1, 1).Done(), u64(1)},
        {W().Fixed32(1, 1u << 31).Done(), u64(1u << 31)},
        {W().Fixed32(1, UINT32_MAX).Done(), u64(UINT32_MAX)}}},
      {FieldType::kSfixed64,
       {{W().Fixed64(1, static_cast<std::uint64_t>(-3)).Done(), i64(-3)},
        {W().Fixed64(1, 4).Done(), i64(4)},
        {W().Fixed64(1, 9).Done(), i64(9)}}},
      {FieldType::kSfixed32,
       {{W().Fixed32(1, static_cast<std::uint32_t>(-3)).Done(), i64(-3)},
        {W().Fixed32(1, 4).Done(), i64(4)},
        {W().Fixed32(1, 9).Done(), i64(9)}}},
      {FieldType::kBool, {{W().Done(), i64(0)}, {W().Varint(1, 1).Done(), i64(1)}}},
      {FieldType::kEnum,
       {{W().Done(), i64(0)},
        {W().Varint(1, 2).Done(), i64(2)},
        {W().Varint(1, 5).Done(), i64(5)}}},
      {FieldType::kDouble,
       {{W().Double(1, -1e10).Done(), IndexValue(-1e10)},
        {W().Double(1, 0.5).Done(), IndexValue(0.5)},
        {W().Double(1, 1e300).Done(), IndexValue(1e300)}}},
      {FieldType::kFloat,
       {{W().Float(1, -2.5f).Done(), IndexValue(-2.5)},
        {W().Float(1, 0.25f).Done(), IndexValue(0.25)},
        {W().Float(1, 3e38f).Done(), IndexValue(static_cast<double>(3e38f))}}},
      {FieldType::kString,
       {{W().Done(), IndexValue(std::string())},
        {W().String(1, "a").Done(), IndexValue(std::string("a"))},
        {W().String(1, "b\xff").Done(), IndexValue(std::string("b\xff"))}}},
      {FieldType::kBytes,
       {{W().Bytes(1, std::string(1, '\0')).Done(), IndexValue(std::string(1, '\0'))},
        {W().Bytes(1, "\x01").Done(), IndexValue(std::string("\x01"))},
        {W().Bytes(1, "\xff").Done(), IndexValue(std::string("\xff"))}}},
  };
  for (std::size_t i = 0; i < cases.size(); ++i) {
    const Case& c = cases[i];
    const std::string table = "t" + std::to_string(i);
    SCOPED_TRACE(table);
    ASSERT_TRUE(db_->Apply(TableSpec{table, {{"f", {1}, c.type}}}).ok());
    std::vector<std::string> expected;
    for (std::size_t row = 0; row < c.ascending.size(); ++row) {
      const std::string key(1, static_cast<char>('c' - row));
      ASSERT_TRUE(db_->Put(table, key, c.ascending[row].first).ok());
      expected.push_back(key);
    }
    EXPECT_EQ(Keys(db_->Query(table, {.index = "f"})), expected);
    for (std::size_t row = 0; row < c.ascending.size(); ++row) {
      EXPECT_EQ(Keys(db_->Query(table, {.index = "f", .equals = c.ascending[row].second})),
                std::vector<std::string>{expected[row]});
    }
    EXPECT_EQ(Keys(db_->Query(
                  table, {.index = "f", .lower = c.ascending[1].second, .lower_exclusive = true})),
              std::vector<std::string>(expected.begin() + 2, expected.end()));
  }
}

TEST_F(StoreTest, CreateIndexBackfillsAndDropIndexForgets) {
  ASSERT_TRUE(db_->Apply(TableSpec{"users", {}}).ok());
  ASSERT_TRUE(db_->Put("users", "u1", User("a", 5)).ok());
  ASSERT_TRUE(db_->Put("users", "u2", User("b", 7)).ok());
  ASSERT_TRUE(db_->Apply(CreateIndex{"users", {"by_age", {2}, FieldType::kInt64}}).ok());
  EXPECT_EQ(Keys(db_->Query("users", {.index = "by_age", .equals = std::int64_t{7}})),
            std::vector<std::string>{"u2"});
  EXPECT_EQ(db_->Apply(CreateIndex{"users", {"by_age", {2}, FieldType::kInt64}}).code(),
            StatusCode::kAlreadyExists);
  // A row that cannot be indexed (name is a string, not an int) fails the
  // whole change, which leaves nothing behind.
  EXPECT_EQ(db_->Apply(CreateIndex{"users", {"bad", {1}, FieldType::kInt64}}).code(),
            StatusCode::kInvalidArgument);
  ASSERT_EQ(db_->Tables()->size(), 1u);
  EXPECT_EQ(db_->Tables()->front().indexes.size(), 1u);
  ASSERT_TRUE(db_->Put("users", "u3", User("c", 7)).ok());
  ASSERT_TRUE(db_->Apply(DropIndex{"users", "by_age"}).ok());
  EXPECT_EQ(db_->Query("users", {.index = "by_age"}).status().code(), StatusCode::kNotFound);
  EXPECT_TRUE(db_->Tables()->front().indexes.empty());
  // Without the index, field 1 may hold anything again... as long as it is wire format.
  ASSERT_TRUE(db_->Put("users", "u4", WireBuilder().Varint(2, 1).Done()).ok());
  ASSERT_TRUE(db_->Apply(DropTable{"users"}).ok());
  EXPECT_EQ(db_->Get("users", "u1").status().code(), StatusCode::kNotFound);
  EXPECT_TRUE(db_->Tables()->empty());
  // The name is free again, with nothing in it.
  ASSERT_TRUE(db_->Apply(TableSpec{"users", {}}).ok());
  EXPECT_TRUE(db_->Scan("users", {})->empty());
}

TEST_F(StoreTest, MigrationsApplyInOrderAndSkipApplied) {
  EXPECT_EQ(*db_->schema_version(), 0u);
  std::vector<Migration> migrations = {
      {1, {TableSpec{"users", {{"by_name", {1}, FieldType::kString}}}}},
      {2, {CreateIndex{"users", {"by_age", {2}, FieldType::kInt32}}, TableSpec{"posts", {}}}},
  };
  EXPECT_EQ(*db_->Migrate(migrations), 2u);
  // Again: nothing to do (applying twice would fail with kAlreadyExists).
  EXPECT_EQ(*db_->Migrate(migrations), 2u);
  migrations.push_back({5, {DropTable{"posts"}}});
  EXPECT_EQ(*db_->Migrate(migrations), 5u);
  ASSERT_EQ(db_->Tables()->size(), 1u);
  EXPECT_EQ(db_->Tables()->front().indexes.size(), 2u);
}

TEST_F(StoreTest, FailingMigrationRollsBackOnlyThatStep) {
  ASSERT_TRUE(db_->Migrate({{1, {TableSpec{"a", {}}}}}).ok());
  const std::vector<Migration> migrations = {
      {1, {TableSpec{"a", {}}}},
      {2, {TableSpec{"b", {}}}},
      {3, {TableSpec{"c", {}}, DropTable{"missing"}}},
      {4, {TableSpec{"d", {}}}},
  };
  Result<std::uint32_t> reached = db_->Migrate(migrations);
  EXPECT_EQ(reached.status().code(), StatusCode::kNotFound);
  EXPECT_EQ(*db_->schema_version(), 2u);
  std::vector<std::string> names;
  const auto tables = db_->Tables();
  ASSERT_TRUE(tables.ok());
  for (const TableSpec& spec : *tables) names.push_back(spec.name);
  EXPECT_EQ(names, (std::vector<std::string>{"a", "b"}));
  EXPECT_EQ(db_->Put("c", "k", "").code(), StatusCode::kNotFound);
}

TEST_F(StoreTest, MigrationVersionsMustIncrease) {
  for (const std::vector<Migration>& bad :
       {std::vector<Migration>{{2, {}}, {2, {}}}, std::vector<Migration>{{3, {}}, {1, {}}},
        std::vector<Migration>{{0, {}}}, std::vector<Migration>{{0x80000000u, {}}}}) {
    EXPECT_EQ(db_->Migrate(bad).status().code(), StatusCode::kInvalidArgument);
  }
  EXPECT_EQ(*db_->schema_version(), 0u);
}

TEST_F(StoreTest, ReopenKeepsDataAndDeclarations) {
  CreateUsers();
  ASSERT_TRUE(db_->Migrate({{3, {TableSpec{"kv", {}}}}}).ok());
  ASSERT_TRUE(db_->Put("users", "u1", User("ada", 36, 0, 1ull << 63, "london")).ok());
  Reopen({.synchronous = Synchronous::kFull});
  EXPECT_EQ(*db_->schema_version(), 3u);
  auto tables = db_->Tables();
  ASSERT_EQ(tables->size(), 2u);
  EXPECT_EQ((*tables)[1].name, "users");
  ASSERT_EQ((*tables)[1].indexes.size(), 6u);
  EXPECT_EQ((*tables)[1].indexes[4].name, "by_city");
  EXPECT_EQ((*tables)[1].indexes[4].field_path, (std::vector<std::uint32_t>{5, 1}));
  EXPECT_EQ((*tables)[1].indexes[4].type, FieldType::kString);
  EXPECT_EQ(Keys(db_->Query("users", {.index = "by_id", .equals = std::uint64_t{1} << 63})),
            std::vector<std::string>{"u1"});
}

TEST_F(StoreTest, OpenFailures) {
  EXPECT_EQ(Database::Open("/nonexistent-dir/x/y.db").status().code(), StatusCode::kIoError);
  const std::string junk = path_ + ".junk";
  {
    std::ofstream out(junk, std::ios::binary);
    out << std::string(4096, 'x');
  }
  EXPECT_EQ(Database::Open(junk).status().code(), StatusCode::kDataLoss);
  std::filesystem::remove(junk);
  auto memory = Database::Open(":memory:");
  ASSERT_TRUE(memory.ok()) << memory.status().ToString();
  ASSERT_TRUE((*memory)->Apply(TableSpec{"kv", {}}).ok());
  EXPECT_TRUE((*memory)->Put("kv", "a", "").ok());
}

// Catalog names go into SQL text: a crafted file cannot inject through them.
TEST_F(StoreTest, ADamagedCatalogNameIsDataLossNotSql) {
  ASSERT_TRUE(db_->Apply(TableSpec{"kv", {}}).ok());
  db_.reset();
  {
    sqlite3* raw = nullptr;
    ASSERT_EQ(sqlite3_open(path_.c_str(), &raw), SQLITE_OK);
    ASSERT_EQ(sqlite3_exec(raw,
                           "INSERT INTO _embed_tables(name) VALUES "
                           "('x\"; DROP TABLE t_kv; --')",
                           nullptr, nullptr, nullptr),
              SQLITE_OK)
        << sqlite3_errmsg(raw);
    sqlite3_close(raw);
  }
  EXPECT_EQ(Database::Open(path_).status().code(), StatusCode::kDataLoss);
}

}  // namespace
}  // namespace embed::store
