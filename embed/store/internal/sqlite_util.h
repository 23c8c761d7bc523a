#pragma once
// Thin RAII and error helpers over the SQLite C API, and the naming and value
// encoding rules of the store's schema (see docs/store.md):
//   table "users"            -> SQLite table "t_users"(k, v, "i_<index>"...)
//   index "by_email"         -> column "i_by_email", SQLite index "x_5_users_by_email"
//   uint64-kind index values -> 8-byte big-endian blobs (sort unsigned)
// Not thread-safe: the Database serializes its connection.

#include <sqlite3.h>

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "embed/base/result.h"
#include "embed/base/status.h"
#include "embed/store/database.h"
#include "embed/store/internal/field_reader.h"

namespace embed::store::internal {

// Owns a prepared statement.
class Statement {
 public:
  Statement() = default;
  explicit Statement(sqlite3_stmt* stmt) : stmt_(stmt) {}
  ~Statement() { sqlite3_finalize(stmt_); }
  Statement(Statement&& other) noexcept : stmt_(std::exchange(other.stmt_, nullptr)) {}
  Statement& operator=(Statement&& other) noexcept {
    if (this != &other) {
      sqlite3_finalize(stmt_);
      stmt_ = std::exchange(other.stmt_, nullptr);
    }
    return *this;
  }
  sqlite3_stmt* get() const { return stmt_; }

 private:
  sqlite3_stmt* stmt_ = nullptr;
};

// Resets a statement when the scope ends, so that no statement keeps a read
// transaction open or points at bound memory that is gone.
class ResetOnExit {
 public:
  explicit ResetOnExit(sqlite3_stmt* stmt) : stmt_(stmt) {}
  ~ResetOnExit() { sqlite3_reset(stmt_); }
  ResetOnExit(const ResetOnExit&) = delete;
  ResetOnExit& operator=(const ResetOnExit&) = delete;

 private:
  sqlite3_stmt* stmt_;
};

// Maps an SQLite result code to a Status: NOTADB/CORRUPT -> kDataLoss,
// BUSY/LOCKED -> kTimeout (busy_timeout passed), I/O, FULL, CANTOPEN,
// READONLY, PERM -> kIoError, CONSTRAINT/MISMATCH/TOOBIG/RANGE ->
// kInvalidArgument, the rest kInternal. `what` says what we were doing.
Status SqliteStatus(sqlite3* db, int rc, std::string_view what);

Result<Statement> Prepare(sqlite3* db, std::string_view sql);
// Runs one or more statements that return no rows we need.
Status Exec(sqlite3* db, const std::string& sql);

// Binds bytes as a BLOB (never NULL, even when empty). The bytes must stay
// valid until the statement is reset.
int BindBytes(sqlite3_stmt* stmt, int index, std::string_view bytes);
std::string_view ColumnBytes(sqlite3_stmt* stmt, int column);

// Binds an index value as it is stored: integers, reals (NaN as NULL, which
// no query matches), unsigned as 8-byte big-endian blobs (copied), bytes as
// blobs (borrowed).
int BindFieldValue(sqlite3_stmt* stmt, int index, const FieldValue& value);

// Checks a table or index name: [A-Za-z_][A-Za-z0-9_]*, at most 64 characters.
Status ValidateName(std::string_view name, std::string_view what);
// Checks an index declaration (name, path).
Status ValidateIndex(const IndexSpec& index);

std::string_view FieldTypeName(FieldType type);
bool ParseFieldType(std::string_view name, FieldType* type);
// {2, 1} <-> "2.1"
std::string EncodeFieldPath(const std::vector<std::uint32_t>& path);
bool DecodeFieldPath(std::string_view text, std::vector<std::uint32_t>* path);

// Quoted SQLite identifiers (names are validated, so quoting is plain).
std::string TableSqlName(std::string_view table);
std::string IndexColumn(std::string_view index);
std::string IndexSqlName(std::string_view table, std::string_view index);

// The smallest key greater than every key starting with `prefix`; empty when
// there is none (the prefix is all 0xff).
std::string PrefixEnd(std::string_view prefix);

// Registers embed_index_value(value, path_text, type_name) on `db`, used to
// backfill an index created over existing rows. It fails the statement when
// a row cannot be indexed.
Status RegisterIndexFunction(sqlite3* db);

}  // namespace embed::store::internal
