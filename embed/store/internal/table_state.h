#pragma once
// One declared table of the store as SQL: its spec and its prepared
// statements. Used under the database's lock.
#include <sqlite3.h>

#include <memory>
#include <string>

#include "embed/base/result.h"
#include "embed/store/database.h"
#include "embed/store/internal/sqlite_util.h"

namespace embed::store::internal {

// One declared table and its cached statements (rebuilt on schema changes,
// which change the column list).
struct TableState {
  TableSpec spec;
  std::string sql_name;
  Statement insert;            // INSERT ... ON CONFLICT(k) DO NOTHING
  Statement update;            // UPDATE ... WHERE k = ?1
  Statement select;            // SELECT v ... WHERE k = ?1
  Statement remove;            // DELETE ... WHERE k = ?1
  Statement remove_returning;  // DELETE ... RETURNING v (when a watcher wants the old value)
};

// Prepares the statements of `spec`'s table (its columns: k, v and one per
// index), which must exist in `db`.
Result<std::unique_ptr<TableState>> BuildTable(sqlite3* db, TableSpec spec);

}  // namespace embed::store::internal
