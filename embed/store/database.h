#pragma once
// The local database: tables of protobuf messages keyed by bytes, over SQLite
// in WAL mode, with secondary indexes on message fields, schema migrations
// and a change feed. Thread-safe: one SQLite connection serialized by a
// mutex; a Transaction holds it until Commit() or Rollback().
//
//   auto db = embed::store::Database::Open("app.db", {}).value();
//   db->Migrate({{1, {TableSpec{"users", {{"by_email", {2}, FieldType::kString}}}}}});
//   db->Put("users", "u1", user.SerializeAsString());
//   embed::store::WatchOptions watch;
//   watch.table = "users";
//   db->Watch(watch, [](const Change& change) { ... });
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "embed/base/result.h"
#include "embed/base/status.h"

namespace embed::store {

// How hard a commit waits for the disk (PRAGMA synchronous, in WAL mode).
enum class Synchronous {
  // A process crash never loses or corrupts a commit; a power loss or OS
  // crash may lose the last commits (not corrupt). SQLite's WAL default.
  kNormal,
  // Every acknowledged commit survives a power loss too (an fsync per commit).
  kFull,
};

struct DatabaseOptions {
  Synchronous synchronous = Synchronous::kNormal;
  // How long a write waits for another process holding the database.
  std::chrono::milliseconds busy_timeout{5'000};
};

// Protobuf scalar types an index can hold. The signed kinds, bool and enum
// are stored as SQLite integers; uint32/uint64/fixed32/fixed64 as unsigned
// (uint64 above INT64_MAX still sorts correctly); double/float as reals;
// string and bytes as blobs compared bytewise.
enum class FieldType {
  kInt64,
  kUint64,
  kInt32,
  kUint32,
  kSint64,
  kSint32,
  kFixed64,
  kFixed32,
  kSfixed64,
  kSfixed32,
  kBool,
  kEnum,
  kDouble,
  kFloat,
  kString,
  kBytes,
};

// An index on one singular field, found by field numbers: {3} is field 3,
// {2, 1} is field 1 of the message in field 2. An absent field is indexed
// as its proto3 default (0, 0.0, false, empty). Names: [A-Za-z_][A-Za-z0-9_]*,
// at most 64 characters (also for tables).
struct IndexSpec {
  std::string name;
  std::vector<std::uint32_t> field_path;
  FieldType type = FieldType::kInt64;
};

struct TableSpec {
  std::string name;
  std::vector<IndexSpec> indexes;
};

struct DropTable {
  std::string table;
};
struct CreateIndex {
  std::string table;
  IndexSpec index;  // existing rows are indexed
};
struct DropIndex {
  std::string table;
  std::string index;
};
using SchemaChange = std::variant<TableSpec, DropTable, CreateIndex, DropIndex>;

// A schema version and the changes that reach it from the one before.
struct Migration {
  std::uint32_t version = 0;
  std::vector<SchemaChange> changes;
};

struct Row {
  std::string key;
  std::string value;
};

// Rows of one table in bytewise key order within [start, end) and with
// `prefix` (each optional, empty = unbounded), up to `limit` (0 = all),
// descending when `descending`.
struct ScanOptions {
  std::string start;
  std::string end;
  std::string prefix;
  std::size_t limit = 0;
  bool descending = false;
};

// A value to compare an index with: int64 for signed kinds, bool and enum;
// uint64 for the unsigned kinds; double for double/float; string for string
// and bytes. A value of the wrong kind for the index is kInvalidArgument.
using IndexValue = std::variant<std::int64_t, std::uint64_t, double, std::string>;

// Rows whose indexed field equals `equals`, or lies within the bounds (each
// optional), ordered by the field then by key, up to `limit` (0 = all).
struct IndexQuery {
  std::string index;
  std::optional<IndexValue> equals;
  std::optional<IndexValue> lower;
  bool lower_exclusive = false;
  std::optional<IndexValue> upper;
  bool upper_exclusive = false;
  std::size_t limit = 0;
  bool descending = false;
};

enum class ChangeOp { kInsert, kUpdate, kDelete };

// One committed change.
struct Change {
  std::string table;
  std::string key;
  ChangeOp op = ChangeOp::kInsert;
  std::string new_value;                 // insert and update
  std::optional<std::string> old_value;  // update and delete, when the watch asked for it
  // Counts the database's committed changes since it was opened, in commit
  // order (one watcher sees gaps: changes of other tables and keys).
  std::uint64_t sequence = 0;
  std::int64_t commit_unix_nanos = 0;  // wall clock at the commit
};

struct WatchOptions {
  std::string table;       // required
  std::string key_prefix;  // empty = every key
  bool include_old_value = false;
};

// Called once per matching committed change, in commit order, after the
// commit and with no lock of the database held: on the thread that
// committed, or, when another thread is delivering changes at that moment,
// on that thread (Commit() then returns before its changes are delivered).
// It may read and write the database (its own writes are delivered after it
// returns). It must not throw.
using ChangeCallback = std::function<void(const Change& change)>;
using WatchId = std::uint64_t;

class Database;

// A write transaction (BEGIN IMMEDIATE). Holds the database until Commit()
// or Rollback(); destroying it uncommitted rolls back. Watchers see its
// changes only after Commit() succeeds, never after a rollback. Use it from
// the thread that began it.
class Transaction {
 public:
  ~Transaction();
  Transaction(Transaction&&) noexcept;
  Transaction& operator=(Transaction&&) = delete;

  // Inserts or replaces. kNotFound: no such table; kInvalidArgument: the
  // value is not protobuf wire format, or an indexed field has the wrong
  // wire type.
  Status Put(std::string_view table, std::string_view key, std::string_view value);
  // Removes; false when there was no such key.
  Result<bool> Delete(std::string_view table, std::string_view key);
  // Reads inside the transaction (sees its own writes).
  Result<std::optional<std::string>> Get(std::string_view table, std::string_view key);
  Result<std::vector<Row>> Scan(std::string_view table, const ScanOptions& options);
  Result<std::vector<Row>> Query(std::string_view table, const IndexQuery& query);

  // Makes the writes durable (per Synchronous) and delivers their changes.
  Status Commit();
  Status Rollback();

 private:
  friend class Database;
  explicit Transaction(Database* database);
  Database* database_;  // null once committed, rolled back or moved from
};

class Database {
 public:
  // Opens or creates the file (":memory:" for a private in-memory database),
  // in WAL mode with `options`. kIoError when SQLite cannot open it;
  // kDataLoss when it is not a database or fails its header check.
  static Result<std::unique_ptr<Database>> Open(const std::string& path,
                                                const DatabaseOptions& options = {});
  // Closes; watchers are dropped. No Transaction may be open.
  ~Database();
  Database(const Database&) = delete;
  Database& operator=(const Database&) = delete;

  // PRAGMA user_version.
  Result<std::uint32_t> schema_version();
  // Applies, each in one transaction, the migrations above the current
  // version, in order; versions must strictly increase (kInvalidArgument).
  // A failing migration is rolled back and its error returned; the ones
  // before it stay applied. Returns the version reached.
  Result<std::uint32_t> Migrate(const std::vector<Migration>& migrations);
  // One schema change in its own transaction (outside versioned migrations).
  // kAlreadyExists / kNotFound for tables and indexes.
  Status Apply(const SchemaChange& change);
  // The declared tables.
  Result<std::vector<TableSpec>> Tables();

  // Each of these is its own transaction.
  Status Put(std::string_view table, std::string_view key, std::string_view value);
  Result<std::optional<std::string>> Get(std::string_view table, std::string_view key);
  Result<bool> Delete(std::string_view table, std::string_view key);
  Result<std::vector<Row>> Scan(std::string_view table, const ScanOptions& options);
  Result<std::vector<Row>> Query(std::string_view table, const IndexQuery& query);

  // Begins a write transaction; blocks while another Transaction is open.
  Result<Transaction> Begin();

  // Registers `callback` for committed changes of options.table (which must
  // exist: kNotFound) whose key starts with options.key_prefix.
  Result<WatchId> Watch(const WatchOptions& options, ChangeCallback callback);
  // After it returns the callback is not called again, unless called from
  // that callback itself (then after the current call returns). Not while
  // this thread holds a Transaction: it may wait for a callback that waits
  // for the database.
  void Unwatch(WatchId id);

  struct State;  // internal

 private:
  friend class Transaction;
  explicit Database(std::unique_ptr<State> state);
  std::unique_ptr<State> state_;
};

}  // namespace embed::store
