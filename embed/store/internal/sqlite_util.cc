#include "embed/store/internal/sqlite_util.h"

#include <array>
#include <charconv>
#include <cmath>
#include <string>

namespace embed::store::internal {
namespace {

constexpr std::array<std::string_view, 16> kFieldTypeNames = {
    "int64",    "uint64",   "int32", "uint32", "sint64", "sint32", "fixed64", "fixed32",
    "sfixed64", "sfixed32", "bool",  "enum",   "double", "float",  "string",  "bytes"};

bool IsNameStart(char c) { return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || c == '_'; }
bool IsNameChar(char c) { return IsNameStart(c) || (c >= '0' && c <= '9'); }

void IndexValueFunction(sqlite3_context* context, int argc, sqlite3_value** argv) {
  if (argc != 3) {
    sqlite3_result_error(context, "embed_index_value takes 3 arguments", -1);
    return;
  }
  const auto* data = static_cast<const char*>(sqlite3_value_blob(argv[0]));
  const std::string_view value(data ? data : "",
                               static_cast<std::size_t>(sqlite3_value_bytes(argv[0])));
  const auto* path_text = reinterpret_cast<const char*>(sqlite3_value_text(argv[1]));
  const auto* type_text = reinterpret_cast<const char*>(sqlite3_value_text(argv[2]));
  std::vector<std::uint32_t> path;
  FieldType type{};
  if (path_text == nullptr || type_text == nullptr || !DecodeFieldPath(path_text, &path) ||
      !ParseFieldType(type_text, &type)) {
    sqlite3_result_error(context, "embed_index_value: bad path or type", -1);
    return;
  }
  Result<FieldValue> extracted = Extract(value, path, type);
  if (!extracted.ok()) {
    const std::string message(extracted.status().message());
    sqlite3_result_error(context, message.c_str(), -1);
    return;
  }
  const FieldValue& field = *extracted;
  if (const auto* i = std::get_if<std::int64_t>(&field)) {
    sqlite3_result_int64(context, *i);
  } else if (const auto* u = std::get_if<std::uint64_t>(&field)) {
    std::array<char, 8> bytes{};
    for (int b = 0; b < 8; ++b)
      bytes[static_cast<std::size_t>(b)] = static_cast<char>(*u >> (56 - 8 * b));
    sqlite3_result_blob(context, bytes.data(), 8, SQLITE_TRANSIENT);
  } else if (const auto* d = std::get_if<double>(&field)) {
    if (std::isnan(*d)) {
      sqlite3_result_null(context);
    } else {
      sqlite3_result_double(context, *d);
    }
  } else {
    const auto bytes = std::get<std::string_view>(field);
    sqlite3_result_blob(context, bytes.empty() ? "" : bytes.data(), static_cast<int>(bytes.size()),
                        SQLITE_TRANSIENT);
  }
}

}  // namespace

Status SqliteStatus(sqlite3* db, int rc, std::string_view what) {
  std::string message(what);
  message += ": ";
  message += db != nullptr ? sqlite3_errmsg(db) : sqlite3_errstr(rc);
  switch (rc & 0xff) {
    case SQLITE_NOTADB:
    case SQLITE_CORRUPT:
      return DataLossError(message);
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
      return TimeoutError(message);
    case SQLITE_IOERR:
    case SQLITE_FULL:
    case SQLITE_CANTOPEN:
    case SQLITE_READONLY:
    case SQLITE_PERM:
    case SQLITE_NOLFS:
      return IoError(message);
    case SQLITE_CONSTRAINT:
    case SQLITE_MISMATCH:
    case SQLITE_TOOBIG:
    case SQLITE_RANGE:
      return InvalidArgumentError(message);
    default:
      return InternalError(message);
  }
}

Result<Statement> Prepare(sqlite3* db, std::string_view sql) {
  sqlite3_stmt* stmt = nullptr;
  const int rc = sqlite3_prepare_v3(db, sql.data(), static_cast<int>(sql.size()),
                                    SQLITE_PREPARE_PERSISTENT, &stmt, nullptr);
  if (rc != SQLITE_OK) {
    sqlite3_finalize(stmt);
    return SqliteStatus(db, rc, "prepare");
  }
  return Statement(stmt);
}

Status Exec(sqlite3* db, const std::string& sql) {
  const int rc = sqlite3_exec(db, sql.c_str(), nullptr, nullptr, nullptr);
  if (rc != SQLITE_OK) return SqliteStatus(db, rc, "exec");
  return Status::Ok();
}

int BindBytes(sqlite3_stmt* stmt, int index, std::string_view bytes) {
  // A null pointer would bind SQL NULL; an empty key is a valid key.
  return sqlite3_bind_blob64(stmt, index, bytes.empty() ? "" : bytes.data(), bytes.size(),
                             SQLITE_STATIC);
}

std::string_view ColumnBytes(sqlite3_stmt* stmt, int column) {
  const auto* data = static_cast<const char*>(sqlite3_column_blob(stmt, column));
  const int size = sqlite3_column_bytes(stmt, column);
  if (data == nullptr || size <= 0) return {};
  return {data, static_cast<std::size_t>(size)};
}

int BindFieldValue(sqlite3_stmt* stmt, int index, const FieldValue& value) {
  if (const auto* i = std::get_if<std::int64_t>(&value)) return sqlite3_bind_int64(stmt, index, *i);
  if (const auto* u = std::get_if<std::uint64_t>(&value)) {
    std::array<char, 8> bytes{};
    for (int b = 0; b < 8; ++b)
      bytes[static_cast<std::size_t>(b)] = static_cast<char>(*u >> (56 - 8 * b));
    return sqlite3_bind_blob(stmt, index, bytes.data(), 8, SQLITE_TRANSIENT);
  }
  if (const auto* d = std::get_if<double>(&value)) {
    if (std::isnan(*d)) return sqlite3_bind_null(stmt, index);
    return sqlite3_bind_double(stmt, index, *d);
  }
  return BindBytes(stmt, index, std::get<std::string_view>(value));
}

Status ValidateName(std::string_view name, std::string_view what) {
  bool ok = !name.empty() && name.size() <= 64 && IsNameStart(name[0]);
  for (char c : name) ok = ok && IsNameChar(c);
  if (!ok) {
    return InvalidArgumentError(std::string(what) +
                                " names match [A-Za-z_][A-Za-z0-9_]* (at most 64 characters)");
  }
  return Status::Ok();
}

Status ValidateIndex(const IndexSpec& index) {
  EMBED_RETURN_IF_ERROR(ValidateName(index.name, "index"));
  if (FieldTypeName(index.type).empty()) return InvalidArgumentError("unknown index field type");
  return ValidateFieldPath(index.field_path);
}

std::string_view FieldTypeName(FieldType type) {
  const auto i = static_cast<std::size_t>(type);
  return i < kFieldTypeNames.size() ? kFieldTypeNames[i] : std::string_view();
}

bool ParseFieldType(std::string_view name, FieldType* type) {
  for (std::size_t i = 0; i < kFieldTypeNames.size(); ++i) {
    if (kFieldTypeNames[i] == name) {
      *type = static_cast<FieldType>(i);
      return true;
    }
  }
  return false;
}

std::string EncodeFieldPath(const std::vector<std::uint32_t>& path) {
  std::string text;
  for (std::uint32_t number : path) {
    if (!text.empty()) text += '.';
    text += std::to_string(number);
  }
  return text;
}

bool DecodeFieldPath(std::string_view text, std::vector<std::uint32_t>* path) {
  path->clear();
  while (!text.empty()) {
    const std::size_t dot = text.find('.');
    const std::string_view part = text.substr(0, dot);
    std::uint32_t number = 0;
    const auto [end, error] = std::from_chars(part.data(), part.data() + part.size(), number);
    if (error != std::errc() || end != part.data() + part.size() || part.empty()) return false;
    path->push_back(number);
    if (dot == std::string_view::npos) break;
    text.remove_prefix(dot + 1);
    if (text.empty()) return false;
  }
  return ValidateFieldPath(*path).ok();
}

std::string TableSqlName(std::string_view table) { return "\"t_" + std::string(table) + "\""; }
std::string IndexColumn(std::string_view index) { return "\"i_" + std::string(index) + "\""; }
std::string IndexSqlName(std::string_view table, std::string_view index) {
  // The table name's length keeps (a_, b) and (a, _b) apart.
  return "\"x_" + std::to_string(table.size()) + "_" + std::string(table) + "_" +
         std::string(index) + "\"";
}

std::string PrefixEnd(std::string_view prefix) {
  std::string end(prefix);
  while (!end.empty()) {
    auto& last = reinterpret_cast<unsigned char&>(end.back());
    if (last != 0xff) {
      ++last;
      return end;
    }
    end.pop_back();
  }
  return end;
}

Status RegisterIndexFunction(sqlite3* db) {
  const int rc = sqlite3_create_function_v2(db, "embed_index_value", 3,
                                            SQLITE_UTF8 | SQLITE_DETERMINISTIC | SQLITE_DIRECTONLY,
                                            nullptr, IndexValueFunction, nullptr, nullptr, nullptr);
  if (rc != SQLITE_OK) return SqliteStatus(db, rc, "register embed_index_value");
  return Status::Ok();
}

}  // namespace embed::store::internal
