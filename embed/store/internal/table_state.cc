#include "embed/store/internal/table_state.h"

#include <utility>

namespace embed::store::internal {

Result<std::unique_ptr<TableState>> BuildTable(sqlite3* db, TableSpec spec) {
  auto table = std::make_unique<TableState>();
  table->sql_name = TableSqlName(spec.name);
  const std::string& t = table->sql_name;
  std::string columns;
  std::string params;
  std::string sets;
  int param = 3;
  for (const IndexSpec& index : spec.indexes) {
    const std::string column = IndexColumn(index.name);
    const std::string p = "?" + std::to_string(param++);
    columns += ", " + column;
    params += ", " + p;
    sets += ", " + column + " = " + p;
  }
  EMBED_ASSIGN_OR_RETURN(table->insert,
                         Prepare(db, "INSERT INTO " + t + "(k, v" + columns + ") VALUES(?1, ?2" +
                                         params + ") ON CONFLICT(k) DO NOTHING"));
  EMBED_ASSIGN_OR_RETURN(table->update,
                         Prepare(db, "UPDATE " + t + " SET v = ?2" + sets + " WHERE k = ?1"));
  EMBED_ASSIGN_OR_RETURN(table->select, Prepare(db, "SELECT v FROM " + t + " WHERE k = ?1"));
  EMBED_ASSIGN_OR_RETURN(table->remove, Prepare(db, "DELETE FROM " + t + " WHERE k = ?1"));
  EMBED_ASSIGN_OR_RETURN(table->remove_returning,
                         Prepare(db, "DELETE FROM " + t + " WHERE k = ?1 RETURNING v"));
  table->spec = std::move(spec);
  return table;
}

}  // namespace embed::store::internal
