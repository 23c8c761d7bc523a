// The store over one SQLite connection. See database.h for the contract and
// docs/store.md for the schema model; the pieces:
//   internal/field_reader  protobuf wire format (validation, index values)
//   internal/sqlite_util   statements, error mapping, names and encodings
//   internal/change_feed   watchers and ordered delivery after commit
//   internal/table_state   a declared table's SQL statements
#include "embed/store/database.h"

#include <sqlite3.h>

#include <algorithm>
#include <atomic>
#include <cctype>
#include <limits>
#include <map>
#include <mutex>
#include <thread>
#include <utility>

#include "embed/store/internal/change_feed.h"
#include "embed/store/internal/field_reader.h"
#include "embed/store/internal/sqlite_util.h"
#include "embed/store/internal/table_state.h"

namespace embed::store {
namespace {

using internal::BindBytes;
using internal::BindFieldValue;
using internal::ColumnBytes;
using internal::FieldValue;
using internal::ResetOnExit;
using internal::Statement;
using internal::BuildTable;
using internal::TableState;

constexpr std::string_view kHeldHere =
    "a Transaction is open on this thread: use it, or finish it first";

bool EqualsIgnoreCase(std::string_view a, std::string_view b) {
  return std::equal(a.begin(), a.end(), b.begin(), b.end(), [](char x, char y) {
    return std::tolower(static_cast<unsigned char>(x)) ==
           std::tolower(static_cast<unsigned char>(y));
  });
}

// The variant alternative an IndexValue must hold for an index of `type`.
std::size_t ExpectedAlternative(FieldType type) {
  switch (internal::KindOf(type)) {
    case internal::ValueKind::kSigned:
      return 0;
    case internal::ValueKind::kUnsigned:
      return 1;
    case internal::ValueKind::kReal:
      return 2;
    case internal::ValueKind::kBytes:
      return 3;
  }
  return 0;
}

Result<FieldValue> ToFieldValue(const IndexValue& value, FieldType type) {
  if (value.index() != ExpectedAlternative(type)) {
    return InvalidArgumentError(std::string("query value has the wrong kind for a ") +
                                std::string(internal::FieldTypeName(type)) + " index");
  }
  if (const auto* i = std::get_if<std::int64_t>(&value)) return FieldValue(*i);
  if (const auto* u = std::get_if<std::uint64_t>(&value)) return FieldValue(*u);
  if (const auto* d = std::get_if<double>(&value)) return FieldValue(*d);
  return FieldValue(std::string_view(std::get<std::string>(value)));
}

}  // namespace

struct Database::State {
  sqlite3* db = nullptr;
  // Serializes the connection; a Transaction holds it from Begin to its end,
  // and `owner` names that thread so that a nested call fails instead of
  // deadlocking.
  std::mutex mu;
  std::atomic<std::thread::id> owner{};

  // Guarded by mu.
  std::map<std::string, std::unique_ptr<TableState>, std::less<>> tables;
  std::map<std::string, Statement, std::less<>> sql_cache;  // scans and queries
  Statement begin, commit, rollback;
  bool in_transaction = false;
  bool broken = false;          // SQLite rolled the transaction back after an error
  bool schema_changed = false;  // the catalog must be reloaded if this transaction rolls back
  std::vector<Change> pending;  // .sequence holds the ordinal within the transaction
  std::uint64_t transaction_changes = 0;
  // Not persisted: sequences restart at 1 when the database is opened.
  std::uint64_t next_sequence = 1;
  std::vector<FieldValue> index_values;  // scratch for Put

  internal::ChangeFeed feed;

  ~State() {
    tables.clear();
    sql_cache.clear();
    begin = {};
    commit = {};
    rollback = {};
    sqlite3_close_v2(db);
  }

  // ---- helpers (mu held) ----

  Status Check(int rc, std::string_view what) {
    if (rc == SQLITE_OK || rc == SQLITE_DONE || rc == SQLITE_ROW) return Status::Ok();
    Status status = internal::SqliteStatus(db, rc, what);
    if (in_transaction && sqlite3_get_autocommit(db) != 0) broken = true;
    return status;
  }
  Status Step(sqlite3_stmt* stmt, std::string_view what) { return Check(sqlite3_step(stmt), what); }
  Status Exec(const std::string& sql) {
    Status status = internal::Exec(db, sql);
    if (!status.ok() && in_transaction && sqlite3_get_autocommit(db) != 0) broken = true;
    return status;
  }
  Status Usable() const {
    if (broken)
      return FailedPreconditionError("SQLite rolled this transaction back after an error");
    return Status::Ok();
  }

  Result<TableState*> FindTable(std::string_view name) {
    auto it = tables.find(name);
    if (it == tables.end()) return NotFoundError("no table \"" + std::string(name) + "\"");
    return it->second.get();
  }

  Result<sqlite3_stmt*> Cached(const std::string& sql) {
    auto it = sql_cache.find(sql);
    if (it == sql_cache.end()) {
      EMBED_ASSIGN_OR_RETURN(Statement stmt, internal::Prepare(db, sql));
      it = sql_cache.emplace(sql, std::move(stmt)).first;
    }
    return it->second.get();
  }

  // ---- transactions (mu held) ----

  Status BeginLocked() {
    ResetOnExit reset(begin.get());
    EMBED_RETURN_IF_ERROR(Step(begin.get(), "begin"));
    in_transaction = true;
    broken = false;
    schema_changed = false;
    pending.clear();
    transaction_changes = 0;
    return Status::Ok();
  }

  Status CommitLocked() {
    Status status = Usable();
    if (status.ok()) {
      ResetOnExit reset(commit.get());
      status = Step(commit.get(), "commit");
    }
    if (!status.ok()) {
      RollbackLocked().IgnoreError();
      return status;
    }
    in_transaction = false;
    const std::uint64_t base = next_sequence;
    next_sequence += transaction_changes;
    const std::int64_t now = std::chrono::duration_cast<std::chrono::nanoseconds>(
                                 std::chrono::system_clock::now().time_since_epoch())
                                 .count();
    for (Change& change : pending) {
      change.sequence += base;
      change.commit_unix_nanos = now;
    }
    // Under mu, so the feed's queue is in commit order.
    feed.Enqueue(std::move(pending));
    pending.clear();
    return Status::Ok();
  }

  Status RollbackLocked() {
    Status status;
    if (sqlite3_get_autocommit(db) == 0) {
      ResetOnExit reset(rollback.get());
      status = Step(rollback.get(), "rollback");
    }
    in_transaction = false;
    broken = false;
    pending.clear();
    if (schema_changed) {
      schema_changed = false;
      Status reloaded = ReloadCatalog();
      if (status.ok()) status = reloaded;
    }
    return status;
  }

  // ---- catalog (mu held) ----

  Status ReloadCatalog() {
    tables.clear();
    sql_cache.clear();
    std::map<std::string, TableSpec, std::less<>> specs;
    {
      EMBED_ASSIGN_OR_RETURN(Statement stmt,
                             internal::Prepare(db, "SELECT name FROM _embed_tables"));
      int rc;
      while ((rc = sqlite3_step(stmt.get())) == SQLITE_ROW) {
        std::string name(ColumnBytes(stmt.get(), 0));
        // Names from the file go into SQL text: a damaged or crafted file
        // must not smuggle SQL in through them.
        if (!internal::ValidateName(name, "table").ok()) {
          return DataLossError("the store's catalog (_embed_tables) is damaged");
        }
        specs[name].name = name;
      }
      EMBED_RETURN_IF_ERROR(Check(rc, "read _embed_tables"));
    }
    {
      EMBED_ASSIGN_OR_RETURN(
          Statement stmt,
          internal::Prepare(db,
                            "SELECT table_name, name, field_path, type FROM _embed_indexes "
                            "ORDER BY rowid"));
      int rc;
      while ((rc = sqlite3_step(stmt.get())) == SQLITE_ROW) {
        IndexSpec index;
        const std::string table(ColumnBytes(stmt.get(), 0));
        index.name = std::string(ColumnBytes(stmt.get(), 1));
        auto it = specs.find(table);
        if (it == specs.end() || !internal::ValidateName(index.name, "index").ok() ||
            !internal::DecodeFieldPath(ColumnBytes(stmt.get(), 2), &index.field_path) ||
            !internal::ParseFieldType(ColumnBytes(stmt.get(), 3), &index.type)) {
          return DataLossError("the store's catalog (_embed_indexes) is damaged");
        }
        it->second.indexes.push_back(std::move(index));
      }
      EMBED_RETURN_IF_ERROR(Check(rc, "read _embed_indexes"));
    }
    for (auto& [name, spec] : specs) {
      EMBED_ASSIGN_OR_RETURN(auto table, BuildTable(db, std::move(spec)));
      tables.emplace(name, std::move(table));
    }
    return Status::Ok();
  }

  Status RebuildTable(TableSpec spec) {
    const std::string name = spec.name;
    tables.erase(name);
    EMBED_ASSIGN_OR_RETURN(auto table, BuildTable(db, std::move(spec)));
    tables.emplace(name, std::move(table));
    return Status::Ok();
  }

  Result<std::uint32_t> UserVersionLocked() {
    EMBED_ASSIGN_OR_RETURN(sqlite3_stmt * stmt, Cached("PRAGMA user_version"));
    ResetOnExit reset(stmt);
    const int rc = sqlite3_step(stmt);
    if (rc != SQLITE_ROW) return Check(rc == SQLITE_DONE ? SQLITE_INTERNAL : rc, "user_version");
    return static_cast<std::uint32_t>(sqlite3_column_int64(stmt, 0));
  }

  Status ApplyLocked(const SchemaChange& change) {
    schema_changed = true;
    sql_cache.clear();
    if (const auto* spec = std::get_if<TableSpec>(&change)) return CreateTableLocked(*spec);
    if (const auto* drop = std::get_if<DropTable>(&change)) return DropTableLocked(drop->table);
    if (const auto* create = std::get_if<CreateIndex>(&change)) {
      return CreateIndexLocked(create->table, create->index);
    }
    const auto& drop_index = std::get<DropIndex>(change);
    return DropIndexLocked(drop_index.table, drop_index.index);
  }

  Status CreateTableLocked(const TableSpec& spec) {
    EMBED_RETURN_IF_ERROR(internal::ValidateName(spec.name, "table"));
    for (std::size_t i = 0; i < spec.indexes.size(); ++i) {
      EMBED_RETURN_IF_ERROR(internal::ValidateIndex(spec.indexes[i]));
      for (std::size_t j = 0; j < i; ++j) {
        if (EqualsIgnoreCase(spec.indexes[i].name, spec.indexes[j].name)) {
          return InvalidArgumentError("index \"" + spec.indexes[i].name + "\" is declared twice");
        }
      }
    }
    // SQLite names are case-insensitive, so "Users" and "users" would collide.
    for (const auto& [name, table] : tables) {
      if (EqualsIgnoreCase(name, spec.name)) {
        return AlreadyExistsError("table \"" + name + "\" exists");
      }
    }
    const std::string t = internal::TableSqlName(spec.name);
    std::string sql = "CREATE TABLE " + t + "(k BLOB NOT NULL PRIMARY KEY, v BLOB NOT NULL";
    for (const IndexSpec& index : spec.indexes) sql += ", " + internal::IndexColumn(index.name);
    sql += ") WITHOUT ROWID;";
    sql += "INSERT INTO _embed_tables(name) VALUES('" + spec.name + "');";
    for (const IndexSpec& index : spec.indexes) sql += IndexSql(spec.name, index);
    EMBED_RETURN_IF_ERROR(Exec(sql));
    return RebuildTable(spec);
  }

  // Creates the SQLite index on (column, key) and records the declaration.
  static std::string IndexSql(const std::string& table, const IndexSpec& index) {
    return "CREATE INDEX " + internal::IndexSqlName(table, index.name) + " ON " +
           internal::TableSqlName(table) + "(" + internal::IndexColumn(index.name) + ", k);" +
           "INSERT INTO _embed_indexes(table_name, name, field_path, type) VALUES('" + table +
           "', '" + index.name + "', '" + internal::EncodeFieldPath(index.field_path) + "', '" +
           std::string(internal::FieldTypeName(index.type)) + "');";
  }

  Status DropTableLocked(const std::string& name) {
    EMBED_ASSIGN_OR_RETURN(TableState * table, FindTable(name));
    const std::string t = table->sql_name;
    tables.erase(tables.find(name));
    return Exec("DROP TABLE " + t + "; DELETE FROM _embed_tables WHERE name = '" + name +
                "'; DELETE FROM _embed_indexes WHERE table_name = '" + name + "';");
  }

  Status CreateIndexLocked(const std::string& table_name, const IndexSpec& index) {
    EMBED_ASSIGN_OR_RETURN(TableState * table, FindTable(table_name));
    EMBED_RETURN_IF_ERROR(internal::ValidateIndex(index));
    for (const IndexSpec& existing : table->spec.indexes) {
      if (EqualsIgnoreCase(existing.name, index.name)) {
        return AlreadyExistsError("index \"" + existing.name + "\" exists");
      }
    }
    const std::string column = internal::IndexColumn(index.name);
    EMBED_RETURN_IF_ERROR(Exec("ALTER TABLE " + table->sql_name + " ADD COLUMN " + column));
    // Backfill: our wire reader runs inside SQLite as a function; a row it
    // cannot index fails the statement (and so the whole change).
    const std::string backfill = "UPDATE " + table->sql_name + " SET " + column +
                                 " = embed_index_value(v, '" +
                                 internal::EncodeFieldPath(index.field_path) + "', '" +
                                 std::string(internal::FieldTypeName(index.type)) + "')";
    const int rc = sqlite3_exec(db, backfill.c_str(), nullptr, nullptr, nullptr);
    if (rc == SQLITE_ERROR) {
      return InvalidArgumentError(std::string("an existing row cannot be indexed: ") +
                                  sqlite3_errmsg(db));
    }
    EMBED_RETURN_IF_ERROR(Check(rc, "backfill index"));
    EMBED_RETURN_IF_ERROR(Exec(IndexSql(table_name, index)));
    TableSpec spec = table->spec;
    spec.indexes.push_back(index);
    return RebuildTable(std::move(spec));
  }

  Status DropIndexLocked(const std::string& table_name, const std::string& index_name) {
    EMBED_ASSIGN_OR_RETURN(TableState * table, FindTable(table_name));
    TableSpec spec = table->spec;
    auto it = std::find_if(spec.indexes.begin(), spec.indexes.end(),
                           [&](const IndexSpec& index) { return index.name == index_name; });
    if (it == spec.indexes.end()) {
      return NotFoundError("no index \"" + index_name + "\" on table \"" + table_name + "\"");
    }
    spec.indexes.erase(it);
    // Cached statements name the column; finalize them before it goes.
    tables.erase(tables.find(table_name));
    EMBED_RETURN_IF_ERROR(Exec("DROP INDEX " + internal::IndexSqlName(table_name, index_name) +
                               "; ALTER TABLE " + internal::TableSqlName(table_name) +
                               " DROP COLUMN " + internal::IndexColumn(index_name) +
                               "; DELETE FROM _embed_indexes WHERE table_name = '" + table_name +
                               "' AND name = '" + index_name + "';"));
    return RebuildTable(std::move(spec));
  }

  // ---- rows (mu held) ----

  Result<std::optional<std::string>> GetLocked(TableState& table, std::string_view key) {
    EMBED_RETURN_IF_ERROR(Usable());
    sqlite3_stmt* stmt = table.select.get();
    ResetOnExit reset(stmt);
    BindBytes(stmt, 1, key);
    const int rc = sqlite3_step(stmt);
    if (rc == SQLITE_ROW) return std::optional<std::string>(std::string(ColumnBytes(stmt, 0)));
    EMBED_RETURN_IF_ERROR(Check(rc, "get"));
    return std::optional<std::string>();
  }

  Status PutLocked(TableState& table, std::string_view key, std::string_view value) {
    EMBED_RETURN_IF_ERROR(Usable());
    index_values.clear();
    if (table.spec.indexes.empty()) {
      EMBED_RETURN_IF_ERROR(internal::ValidateMessage(value));
    }
    // Extract validates the top level on the way (and the nested messages
    // along its path).
    for (const IndexSpec& index : table.spec.indexes) {
      EMBED_ASSIGN_OR_RETURN(FieldValue field,
                             internal::Extract(value, index.field_path, index.type));
      index_values.push_back(field);
    }
    const internal::ChangeFeed::Need need = feed.NeedFor(table.spec.name, key);
    std::optional<std::string> old_value;
    bool existed = false;
    if (need.old_value) {
      EMBED_ASSIGN_OR_RETURN(old_value, GetLocked(table, key));
      existed = old_value.has_value();
    }
    // The common case (a new key) costs one statement; an existing key is
    // found by the insert doing nothing.
    auto bind = [&](sqlite3_stmt* stmt) {
      BindBytes(stmt, 1, key);
      BindBytes(stmt, 2, value);
      for (std::size_t i = 0; i < index_values.size(); ++i) {
        BindFieldValue(stmt, static_cast<int>(i) + 3, index_values[i]);
      }
    };
    if (!existed) {
      sqlite3_stmt* stmt = table.insert.get();
      ResetOnExit reset(stmt);
      bind(stmt);
      EMBED_RETURN_IF_ERROR(Step(stmt, "insert"));
      existed = sqlite3_changes(db) == 0;
    }
    if (existed) {
      sqlite3_stmt* stmt = table.update.get();
      ResetOnExit reset(stmt);
      bind(stmt);
      EMBED_RETURN_IF_ERROR(Step(stmt, "update"));
    }
    const std::uint64_t ordinal = transaction_changes++;
    if (need.record) {
      Change change;
      change.table = table.spec.name;
      change.key = std::string(key);
      change.op = existed ? ChangeOp::kUpdate : ChangeOp::kInsert;
      change.new_value = std::string(value);
      change.old_value = std::move(old_value);
      change.sequence = ordinal;
      pending.push_back(std::move(change));
    }
    return Status::Ok();
  }

  Result<bool> DeleteLocked(TableState& table, std::string_view key) {
    EMBED_RETURN_IF_ERROR(Usable());
    const internal::ChangeFeed::Need need = feed.NeedFor(table.spec.name, key);
    std::optional<std::string> old_value;
    bool existed = false;
    if (need.old_value) {
      sqlite3_stmt* stmt = table.remove_returning.get();
      ResetOnExit reset(stmt);
      BindBytes(stmt, 1, key);
      int rc = sqlite3_step(stmt);
      if (rc == SQLITE_ROW) {
        existed = true;
        old_value = std::string(ColumnBytes(stmt, 0));
        rc = sqlite3_step(stmt);
      }
      EMBED_RETURN_IF_ERROR(Check(rc, "delete"));
    } else {
      sqlite3_stmt* stmt = table.remove.get();
      ResetOnExit reset(stmt);
      BindBytes(stmt, 1, key);
      EMBED_RETURN_IF_ERROR(Step(stmt, "delete"));
      existed = sqlite3_changes(db) > 0;
    }
    if (!existed) return false;
    const std::uint64_t ordinal = transaction_changes++;
    if (need.record) {
      Change change;
      change.table = table.spec.name;
      change.key = std::string(key);
      change.op = ChangeOp::kDelete;
      change.old_value = std::move(old_value);
      change.sequence = ordinal;
      pending.push_back(std::move(change));
    }
    return true;
  }

  Result<std::vector<Row>> Collect(sqlite3_stmt* stmt) {
    std::vector<Row> rows;
    int rc;
    while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
      rows.push_back(Row{std::string(ColumnBytes(stmt, 0)), std::string(ColumnBytes(stmt, 1))});
    }
    EMBED_RETURN_IF_ERROR(Check(rc, "read rows"));
    return rows;
  }

  static std::int64_t SqlLimit(std::size_t limit) {
    if (limit == 0 || limit > static_cast<std::size_t>(std::numeric_limits<std::int64_t>::max())) {
      return -1;
    }
    return static_cast<std::int64_t>(limit);
  }

  Result<std::vector<Row>> ScanLocked(TableState& table, const ScanOptions& options) {
    EMBED_RETURN_IF_ERROR(Usable());
    // The prefix becomes a key range, so SQLite walks the primary key.
    std::string lower = std::max(options.start, options.prefix);
    std::optional<std::string> upper;
    if (!options.end.empty()) upper = options.end;
    if (!options.prefix.empty()) {
      std::string prefix_end = internal::PrefixEnd(options.prefix);
      if (!prefix_end.empty() && (!upper || prefix_end < *upper)) upper = std::move(prefix_end);
    }
    if (upper && lower >= *upper) return std::vector<Row>();
    const std::string sql = "SELECT k, v FROM " + table.sql_name + " WHERE k >= ?1" +
                            (upper ? " AND k < ?2" : "") + " ORDER BY k" +
                            (options.descending ? " DESC" : "") + " LIMIT ?3";
    EMBED_ASSIGN_OR_RETURN(sqlite3_stmt * stmt, Cached(sql));
    ResetOnExit reset(stmt);
    BindBytes(stmt, 1, lower);
    if (upper) BindBytes(stmt, 2, *upper);
    sqlite3_bind_int64(stmt, 3, SqlLimit(options.limit));
    return Collect(stmt);
  }

  Result<std::vector<Row>> QueryLocked(TableState& table, const IndexQuery& query) {
    EMBED_RETURN_IF_ERROR(Usable());
    auto it = std::find_if(table.spec.indexes.begin(), table.spec.indexes.end(),
                           [&](const IndexSpec& index) { return index.name == query.index; });
    if (it == table.spec.indexes.end()) {
      return NotFoundError("no index \"" + query.index + "\" on table \"" + table.spec.name + "\"");
    }
    const FieldType type = it->type;
    const std::string column = internal::IndexColumn(it->name);
    std::vector<FieldValue> values;
    std::string sql = "SELECT k, v FROM " + table.sql_name + " WHERE 1";
    auto add = [&](const std::optional<IndexValue>& value, const char* op) -> Status {
      if (!value) return Status::Ok();
      EMBED_ASSIGN_OR_RETURN(FieldValue field, ToFieldValue(*value, type));
      values.push_back(field);
      sql += " AND " + column + " " + op + " ?" + std::to_string(values.size());
      return Status::Ok();
    };
    EMBED_RETURN_IF_ERROR(add(query.equals, "="));
    EMBED_RETURN_IF_ERROR(add(query.lower, query.lower_exclusive ? ">" : ">="));
    EMBED_RETURN_IF_ERROR(add(query.upper, query.upper_exclusive ? "<" : "<="));
    const char* order = query.descending ? " DESC" : "";
    sql += std::string(" ORDER BY ") + column + order + ", k" + order + " LIMIT ?" +
           std::to_string(values.size() + 1);
    EMBED_ASSIGN_OR_RETURN(sqlite3_stmt * stmt, Cached(sql));
    ResetOnExit reset(stmt);
    for (std::size_t i = 0; i < values.size(); ++i) {
      BindFieldValue(stmt, static_cast<int>(i) + 1, values[i]);
    }
    sqlite3_bind_int64(stmt, static_cast<int>(values.size()) + 1, SqlLimit(query.limit));
    return Collect(stmt);
  }

  // ---- entry points for Database's own calls (mu not held) ----

  bool HeldHere() const { return owner.load() == std::this_thread::get_id(); }

  // Runs `body` with the lock held in a transaction of its own, then
  // delivers its changes without the lock.
  template <typename F>
  auto Write(F&& body) -> decltype(body()) {
    using R = decltype(body());
    if (HeldHere()) return R(FailedPreconditionError(kHeldHere));
    std::optional<R> result;
    {
      std::lock_guard lock(mu);
      Status begun = BeginLocked();
      if (!begun.ok()) return R(begun);
      result.emplace(body());
      if (result->ok()) {
        Status committed = CommitLocked();
        if (!committed.ok()) result.emplace(R(committed));
      } else {
        RollbackLocked().IgnoreError();
      }
    }
    feed.Drain();
    return std::move(*result);
  }

  template <typename F>
  auto Read(F&& body) -> decltype(body()) {
    using R = decltype(body());
    if (HeldHere()) return R(FailedPreconditionError(kHeldHere));
    std::lock_guard lock(mu);
    return body();
  }
};

// ---------------------------------------------------------------- Database

Database::Database(std::unique_ptr<State> state) : state_(std::move(state)) {}
Database::~Database() = default;

Result<std::unique_ptr<Database>> Database::Open(const std::string& path,
                                                 const DatabaseOptions& options) {
  auto state = std::make_unique<State>();
  // NOMUTEX: the State's mutex already serializes every use of the connection.
  const int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX;
  int rc = sqlite3_open_v2(path.c_str(), &state->db, flags, nullptr);
  if (rc != SQLITE_OK) {
    return IoError("cannot open \"" + path +
                   "\": " + (state->db ? sqlite3_errmsg(state->db) : sqlite3_errstr(rc)));
  }
  sqlite3_extended_result_codes(state->db, 1);
  const auto ms = options.busy_timeout.count();
  sqlite3_busy_timeout(state->db, static_cast<int>(std::clamp<decltype(ms)>(ms, 0, 1 << 30)));
  auto setup = [&]() -> Status {
    // Reading the header happens here: a file that is not a database fails
    // with NOTADB (kDataLoss).
    EMBED_RETURN_IF_ERROR(internal::Exec(state->db, "PRAGMA journal_mode=WAL"));
    EMBED_RETURN_IF_ERROR(internal::Exec(state->db, options.synchronous == Synchronous::kFull
                                                        ? "PRAGMA synchronous=FULL"
                                                        : "PRAGMA synchronous=NORMAL"));
    EMBED_RETURN_IF_ERROR(internal::RegisterIndexFunction(state->db));
    EMBED_RETURN_IF_ERROR(internal::Exec(
        state->db,
        "BEGIN IMMEDIATE;"
        "CREATE TABLE IF NOT EXISTS _embed_tables(name TEXT NOT NULL PRIMARY KEY COLLATE NOCASE)"
        " WITHOUT ROWID;"
        "CREATE TABLE IF NOT EXISTS _embed_indexes(table_name TEXT NOT NULL, name TEXT NOT NULL,"
        " field_path TEXT NOT NULL, type TEXT NOT NULL,"
        " UNIQUE(table_name COLLATE NOCASE, name COLLATE NOCASE));"
        "COMMIT;"));
    EMBED_ASSIGN_OR_RETURN(state->begin, internal::Prepare(state->db, "BEGIN IMMEDIATE"));
    EMBED_ASSIGN_OR_RETURN(state->commit, internal::Prepare(state->db, "COMMIT"));
    EMBED_ASSIGN_OR_RETURN(state->rollback, internal::Prepare(state->db, "ROLLBACK"));
    return state->ReloadCatalog();
  };
  Status status = setup();
  if (!status.ok()) {
    if (status.code() == StatusCode::kDataLoss) return status;
    return IoError("cannot open \"" + path + "\": " + std::string(status.message()));
  }
  return std::unique_ptr<Database>(new Database(std::move(state)));
}

Result<std::uint32_t> Database::schema_version() {
  return state_->Read([&] { return state_->UserVersionLocked(); });
}

Result<std::uint32_t> Database::Migrate(const std::vector<Migration>& migrations) {
  std::uint32_t previous = 0;
  for (const Migration& migration : migrations) {
    if (migration.version <= previous ||
        migration.version > static_cast<std::uint32_t>(std::numeric_limits<std::int32_t>::max())) {
      return InvalidArgumentError(
          "migration versions must strictly increase within [1, 2^31) (user_version is 32-bit)");
    }
    previous = migration.version;
  }
  for (const Migration& migration : migrations) {
    Result<bool> applied = state_->Write([&]() -> Result<bool> {
      // Read inside the write lock: another process may have migrated.
      EMBED_ASSIGN_OR_RETURN(std::uint32_t current, state_->UserVersionLocked());
      if (migration.version <= current) return false;
      for (const SchemaChange& change : migration.changes) {
        EMBED_RETURN_IF_ERROR(state_->ApplyLocked(change));
      }
      EMBED_RETURN_IF_ERROR(
          state_->Exec("PRAGMA user_version = " + std::to_string(migration.version)));
      return true;
    });
    if (!applied.ok()) return applied.status();
  }
  return schema_version();
}

Status Database::Apply(const SchemaChange& change) {
  return state_->Write([&] { return state_->ApplyLocked(change); });
}

Result<std::vector<TableSpec>> Database::Tables() {
  return state_->Read([&]() -> Result<std::vector<TableSpec>> {
    std::vector<TableSpec> specs;
    for (const auto& [name, table] : state_->tables) specs.push_back(table->spec);
    return specs;
  });
}

Status Database::Put(std::string_view table, std::string_view key, std::string_view value) {
  return state_->Write([&]() -> Status {
    EMBED_ASSIGN_OR_RETURN(TableState * t, state_->FindTable(table));
    return state_->PutLocked(*t, key, value);
  });
}

Result<std::optional<std::string>> Database::Get(std::string_view table, std::string_view key) {
  return state_->Read([&]() -> Result<std::optional<std::string>> {
    EMBED_ASSIGN_OR_RETURN(TableState * t, state_->FindTable(table));
    return state_->GetLocked(*t, key);
  });
}

Result<bool> Database::Delete(std::string_view table, std::string_view key) {
  return state_->Write([&]() -> Result<bool> {
    EMBED_ASSIGN_OR_RETURN(TableState * t, state_->FindTable(table));
    return state_->DeleteLocked(*t, key);
  });
}

Result<std::vector<Row>> Database::Scan(std::string_view table, const ScanOptions& options) {
  return state_->Read([&]() -> Result<std::vector<Row>> {
    EMBED_ASSIGN_OR_RETURN(TableState * t, state_->FindTable(table));
    return state_->ScanLocked(*t, options);
  });
}

Result<std::vector<Row>> Database::Query(std::string_view table, const IndexQuery& query) {
  return state_->Read([&]() -> Result<std::vector<Row>> {
    EMBED_ASSIGN_OR_RETURN(TableState * t, state_->FindTable(table));
    return state_->QueryLocked(*t, query);
  });
}

Result<Transaction> Database::Begin() {
  if (state_->HeldHere()) return FailedPreconditionError(kHeldHere);
  state_->mu.lock();
  Status begun = state_->BeginLocked();
  if (!begun.ok()) {
    state_->mu.unlock();
    return begun;
  }
  state_->owner = std::this_thread::get_id();
  return Transaction(this);
}

Result<WatchId> Database::Watch(const WatchOptions& options, ChangeCallback callback) {
  if (!callback) return InvalidArgumentError("Watch needs a callback");
  return state_->Read([&]() -> Result<WatchId> {
    EMBED_RETURN_IF_ERROR(state_->FindTable(options.table).status());
    // Under the database lock: changes committed before this point (perhaps
    // not delivered yet) are not this watcher's; it sees from the next one.
    return state_->feed.Watch(options, std::move(callback), state_->next_sequence);
  });
}

void Database::Unwatch(WatchId id) { state_->feed.Unwatch(id); }

// ------------------------------------------------------------- Transaction

namespace {
constexpr std::string_view kFinished = "the transaction is committed or rolled back";
}  // namespace

Transaction::Transaction(Database* database) : database_(database) {}
Transaction::Transaction(Transaction&& other) noexcept
    : database_(std::exchange(other.database_, nullptr)) {}

Transaction::~Transaction() {
  if (database_ != nullptr) Rollback().IgnoreError();
}

Status Transaction::Put(std::string_view table, std::string_view key, std::string_view value) {
  if (database_ == nullptr) return FailedPreconditionError(kFinished);
  auto& state = *database_->state_;
  EMBED_ASSIGN_OR_RETURN(TableState * t, state.FindTable(table));
  return state.PutLocked(*t, key, value);
}

Result<bool> Transaction::Delete(std::string_view table, std::string_view key) {
  if (database_ == nullptr) return FailedPreconditionError(kFinished);
  auto& state = *database_->state_;
  EMBED_ASSIGN_OR_RETURN(TableState * t, state.FindTable(table));
  return state.DeleteLocked(*t, key);
}

Result<std::optional<std::string>> Transaction::Get(std::string_view table, std::string_view key) {
  if (database_ == nullptr) return FailedPreconditionError(kFinished);
  auto& state = *database_->state_;
  EMBED_ASSIGN_OR_RETURN(TableState * t, state.FindTable(table));
  return state.GetLocked(*t, key);
}

Result<std::vector<Row>> Transaction::Scan(std::string_view table, const ScanOptions& options) {
  if (database_ == nullptr) return FailedPreconditionError(kFinished);
  auto& state = *database_->state_;
  EMBED_ASSIGN_OR_RETURN(TableState * t, state.FindTable(table));
  return state.ScanLocked(*t, options);
}

Result<std::vector<Row>> Transaction::Query(std::string_view table, const IndexQuery& query) {
  if (database_ == nullptr) return FailedPreconditionError(kFinished);
  auto& state = *database_->state_;
  EMBED_ASSIGN_OR_RETURN(TableState * t, state.FindTable(table));
  return state.QueryLocked(*t, query);
}

Status Transaction::Commit() {
  if (database_ == nullptr) return FailedPreconditionError(kFinished);
  auto& state = *std::exchange(database_, nullptr)->state_;
  Status status = state.CommitLocked();
  state.owner = std::thread::id();
  state.mu.unlock();
  state.feed.Drain();
  return status;
}

Status Transaction::Rollback() {
  if (database_ == nullptr) return FailedPreconditionError(kFinished);
  auto& state = *std::exchange(database_, nullptr)->state_;
  Status status = state.RollbackLocked();
  state.owner = std::thread::id();
  state.mu.unlock();
  return status;
}

}  // namespace embed::store
