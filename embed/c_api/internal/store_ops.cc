// The bridge's local-database operations: embed.v1 store requests carried
// out on store::Database, and its changes turned into ChangeEvents.
#include <utility>
#include <variant>
#include <vector>

#include "embed/c_api/internal/bridge.h"
#include "embed/c_api/internal/convert.h"
#include "embed/store/database.h"

namespace embed::c_api::internal {

struct Bridge::StoreEntry {
  std::unique_ptr<store::Database> database;
};

namespace {

constexpr std::size_t kMaxFieldType = static_cast<std::size_t>(v1::FIELD_TYPE_BYTES);

Result<store::FieldType> ToFieldType(v1::FieldType type) {
  // The proto's order is the store's, one past FIELD_TYPE_UNSPECIFIED.
  static_assert(static_cast<int>(store::FieldType::kBytes) == v1::FIELD_TYPE_BYTES - 1);
  if (type == v1::FIELD_TYPE_UNSPECIFIED || static_cast<std::size_t>(type) > kMaxFieldType) {
    return Status(StatusCode::kInvalidArgument, "index: field type not set or unknown");
  }
  return static_cast<store::FieldType>(static_cast<int>(type) - 1);
}

Result<store::IndexSpec> ToIndexSpec(const v1::IndexSpec& spec) {
  EMBED_ASSIGN_OR_RETURN(store::FieldType type, ToFieldType(spec.type()));
  return store::IndexSpec{spec.name(), {spec.field_path().begin(), spec.field_path().end()}, type};
}

Result<store::SchemaChange> ToSchemaChange(const v1::SchemaChange& change) {
  switch (change.change_case()) {
    case v1::SchemaChange::kCreateTable: {
      store::TableSpec table{change.create_table().name(), {}};
      for (const auto& index : change.create_table().indexes()) {
        EMBED_ASSIGN_OR_RETURN(store::IndexSpec spec, ToIndexSpec(index));
        table.indexes.push_back(std::move(spec));
      }
      return store::SchemaChange(std::move(table));
    }
    case v1::SchemaChange::kDropTable:
      return store::SchemaChange(store::DropTable{change.drop_table().table()});
    case v1::SchemaChange::kCreateIndex: {
      EMBED_ASSIGN_OR_RETURN(store::IndexSpec spec, ToIndexSpec(change.create_index().index()));
      return store::SchemaChange(
          store::CreateIndex{change.create_index().table(), std::move(spec)});
    }
    case v1::SchemaChange::kDropIndex:
      return store::SchemaChange(
          store::DropIndex{change.drop_index().table(), change.drop_index().index()});
    case v1::SchemaChange::CHANGE_NOT_SET:
      break;
  }
  return Status(StatusCode::kInvalidArgument, "schema change: none set");
}

std::optional<store::IndexValue> ToIndexValue(const v1::IndexValue& value) {
  switch (value.value_case()) {
    case v1::IndexValue::kIntValue:
      return store::IndexValue(value.int_value());
    case v1::IndexValue::kUintValue:
      return store::IndexValue(value.uint_value());
    case v1::IndexValue::kDoubleValue:
      return store::IndexValue(value.double_value());
    case v1::IndexValue::kStringValue:
      return store::IndexValue(value.string_value());
    case v1::IndexValue::kBytesValue:
      return store::IndexValue(value.bytes_value());
    case v1::IndexValue::VALUE_NOT_SET:
      break;
  }
  return std::nullopt;
}

void AddRows(std::vector<store::Row>&& rows, google::protobuf::RepeatedPtrField<v1::Row>* out) {
  out->Reserve(static_cast<int>(rows.size()));
  for (auto& row : rows) {
    auto* added = out->Add();
    added->set_key(std::move(row.key));
    added->set_value(std::move(row.value));
  }
}

v1::ChangeOp ToProto(store::ChangeOp op) {
  switch (op) {
    case store::ChangeOp::kInsert:
      return v1::CHANGE_OP_INSERT;
    case store::ChangeOp::kUpdate:
      return v1::CHANGE_OP_UPDATE;
    case store::ChangeOp::kDelete:
      return v1::CHANGE_OP_DELETE;
  }
  return v1::CHANGE_OP_UNSPECIFIED;
}

}  // namespace

std::shared_ptr<Bridge::StoreEntry> Bridge::RequireStore(std::uint64_t id, std::uint64_t store,
                                                         ResponseCallback& done) {
  std::shared_ptr<StoreEntry> entry;
  {
    std::lock_guard lock(mutex_);
    auto it = stores_.find(store);
    if (it != stores_.end()) entry = it->second;
  }
  if (entry == nullptr) {
    done(ErrorResponse(id, v1::NOT_FOUND,
                       "no open store " + std::to_string(store) + " (the id of its store_open)"));
  }
  return entry;
}

void Bridge::StoreOp(const v1::Request& request, ResponseCallback& done) {
  const std::uint64_t id = request.id();
  std::shared_ptr<StoreEntry> entry;
  auto answer = [&](const Status& status) {
    done(status.ok() ? OkResponse(id) : StatusResponse(id, status));
  };
  switch (request.op_case()) {
    case v1::Request::kStoreOpen:
      return StoreOpen(id, request.store_open(), done);
    case v1::Request::kStoreClose:
      return StoreClose(id, request.store_close().store(), done);
    case v1::Request::kStoreWatch:
      return StoreWatch(id, request.store_watch(), done);
    case v1::Request::kStoreUnwatch:
      return StoreUnwatch(id, request.store_unwatch().watch_id(), done);

    case v1::Request::kStoreMigrate: {
      const auto& op = request.store_migrate();
      if (entry = RequireStore(id, op.store(), done); entry == nullptr) return;
      std::vector<store::Migration> migrations;
      for (const auto& migration : op.migrations()) {
        store::Migration converted{migration.version(), {}};
        for (const auto& change : migration.changes()) {
          auto schema_change = ToSchemaChange(change);
          if (!schema_change.ok()) return answer(schema_change.status());
          converted.changes.push_back(std::move(schema_change).value());
        }
        migrations.push_back(std::move(converted));
      }
      auto version = entry->database->Migrate(migrations);
      if (!version.ok()) return answer(version.status());
      v1::Response response = OkResponse(id);
      response.mutable_store_migrate()->set_schema_version(version.value());
      return done(std::move(response));
    }
    case v1::Request::kStorePut: {
      const auto& op = request.store_put();
      if (entry = RequireStore(id, op.store(), done); entry == nullptr) return;
      return answer(entry->database->Put(op.table(), op.key(), op.value()));
    }
    case v1::Request::kStoreGet: {
      const auto& op = request.store_get();
      if (entry = RequireStore(id, op.store(), done); entry == nullptr) return;
      auto value = entry->database->Get(op.table(), op.key());
      if (!value.ok()) return answer(value.status());
      v1::Response response = OkResponse(id);
      auto* out = response.mutable_store_get();
      out->set_found(value.value().has_value());
      if (value.value().has_value()) out->set_value(std::move(*value.value()));
      return done(std::move(response));
    }
    case v1::Request::kStoreDelete: {
      const auto& op = request.store_delete();
      if (entry = RequireStore(id, op.store(), done); entry == nullptr) return;
      auto found = entry->database->Delete(op.table(), op.key());
      if (!found.ok()) return answer(found.status());
      v1::Response response = OkResponse(id);
      response.mutable_store_delete()->set_found(found.value());
      return done(std::move(response));
    }
    case v1::Request::kStoreWrite: {
      const auto& op = request.store_write();
      if (entry = RequireStore(id, op.store(), done); entry == nullptr) return;
      auto transaction = entry->database->Begin();
      if (!transaction.ok()) return answer(transaction.status());
      for (const auto& write : op.writes()) {
        Status status;
        if (write.op_case() == v1::StoreWrite::kPut) {
          status = transaction.value().Put(write.table(), write.key(), write.put());
        } else if (write.op_case() == v1::StoreWrite::kDelete && write.delete_()) {
          status = transaction.value().Delete(write.table(), write.key()).status();
        } else {
          status =
              Status(StatusCode::kInvalidArgument, "store_write: a write without put or delete");
        }
        // The transaction rolls back as it goes out of scope.
        if (!status.ok()) return answer(status);
      }
      return answer(transaction.value().Commit());
    }
    case v1::Request::kStoreScan: {
      const auto& op = request.store_scan();
      if (entry = RequireStore(id, op.store(), done); entry == nullptr) return;
      store::ScanOptions options{op.start(), op.end(), op.prefix(), op.limit(), op.reverse()};
      auto rows = entry->database->Scan(op.table(), options);
      if (!rows.ok()) return answer(rows.status());
      v1::Response response = OkResponse(id);
      AddRows(std::move(rows).value(), response.mutable_store_scan()->mutable_rows());
      return done(std::move(response));
    }
    case v1::Request::kStoreQuery: {
      const auto& op = request.store_query();
      if (entry = RequireStore(id, op.store(), done); entry == nullptr) return;
      store::IndexQuery query;
      query.index = op.index();
      if (op.has_equals()) query.equals = ToIndexValue(op.equals());
      if (op.has_lower()) query.lower = ToIndexValue(op.lower());
      if (op.has_upper()) query.upper = ToIndexValue(op.upper());
      query.lower_exclusive = op.lower_exclusive();
      query.upper_exclusive = op.upper_exclusive();
      query.limit = op.limit();
      query.descending = op.reverse();
      auto rows = entry->database->Query(op.table(), query);
      if (!rows.ok()) return answer(rows.status());
      v1::Response response = OkResponse(id);
      AddRows(std::move(rows).value(), response.mutable_store_query()->mutable_rows());
      return done(std::move(response));
    }
    default:
      // Execute() sends only store operations here (unknown ones parse as
      // no operation and are answered there).
      return done(ErrorResponse(id, v1::INTERNAL,
                                "operation " + std::to_string(request.op_case()) +
                                    " is not a store operation"));
  }
}

void Bridge::StoreOpen(std::uint64_t id, const v1::StoreOpenRequest& op, ResponseCallback& done) {
  if (op.path().empty()) {
    return done(ErrorResponse(id, v1::INVALID_ARGUMENT, "store_open: no path"));
  }
  if (!ReserveId(id, done)) return;
  store::DatabaseOptions options;
  options.synchronous = op.synchronous() == v1::SYNCHRONOUS_FULL ? store::Synchronous::kFull
                                                                 : store::Synchronous::kNormal;
  auto database = store::Database::Open(op.path(), options);
  if (!database.ok()) {
    ReleaseId(id);
    return done(StatusResponse(id, database.status()));
  }
  auto version = database.value()->schema_version();
  auto entry = std::make_shared<StoreEntry>();
  entry->database = std::move(database).value();
  {
    std::lock_guard lock(mutex_);
    if (closed_) {
      ids_in_use_.erase(id);
      return done(ErrorResponse(id, v1::CANCELLED, "the handle closed while opening"));
    }
    stores_[id] = std::move(entry);
  }
  v1::Response response = OkResponse(id);
  response.mutable_store_open()->set_schema_version(version.ok() ? version.value() : 0);
  done(std::move(response));
}

void Bridge::StoreClose(std::uint64_t id, std::uint64_t store, ResponseCallback& done) {
  std::shared_ptr<StoreEntry> entry;
  {
    std::lock_guard lock(mutex_);
    auto it = stores_.find(store);
    if (it != stores_.end()) {
      entry = std::move(it->second);
      stores_.erase(it);
      ids_in_use_.erase(store);
      for (auto watch = watches_.begin(); watch != watches_.end();) {
        if (watch->second.first == store) {
          ids_in_use_.erase(watch->first);
          watch = watches_.erase(watch);
        } else {
          ++watch;
        }
      }
    }
  }
  if (entry == nullptr) {
    return done(ErrorResponse(id, v1::NOT_FOUND, "no open store " + std::to_string(store)));
  }
  // Calls of other threads may still hold the entry; the database closes
  // (and its watchers go) when the last one lets go.
  done(OkResponse(id));
}

void Bridge::CloseStores() {
  std::unordered_map<std::uint64_t, std::shared_ptr<StoreEntry>> stores;
  {
    std::lock_guard lock(mutex_);
    stores.swap(stores_);
    for (const auto& [store, entry] : stores) ids_in_use_.erase(store);
    for (const auto& [watch, target] : watches_) ids_in_use_.erase(watch);
    watches_.clear();
  }
}

void Bridge::StoreWatch(std::uint64_t id, const v1::StoreWatchRequest& op, ResponseCallback& done) {
  auto entry = RequireStore(id, op.store(), done);
  if (entry == nullptr || !ReserveId(id, done)) return;
  store::WatchOptions options{op.table(), op.key_prefix(), op.include_old_value()};
  auto watch = entry->database->Watch(options, [this, id](const store::Change& change) {
    v1::Event event;
    auto* out = event.mutable_change();
    out->set_watch_id(id);
    out->set_table(change.table);
    out->set_key(change.key);
    out->set_op(ToProto(change.op));
    out->set_new_value(change.new_value);
    if (change.old_value.has_value()) {
      out->set_old_value(*change.old_value);
      out->set_has_old_value(true);
    }
    out->set_sequence(change.sequence);
    out->set_commit_unix_nanos(change.commit_unix_nanos);
    PushEvent(event, EventClass::kDroppable);
  });
  if (!watch.ok()) {
    ReleaseId(id);
    return done(StatusResponse(id, watch.status()));
  }
  {
    std::lock_guard lock(mutex_);
    watches_[id] = {op.store(), watch.value()};
  }
  done(OkResponse(id));
}

void Bridge::StoreUnwatch(std::uint64_t id, std::uint64_t watch_id, ResponseCallback& done) {
  std::pair<std::uint64_t, std::uint64_t> target;
  std::shared_ptr<StoreEntry> entry;
  {
    std::lock_guard lock(mutex_);
    auto it = watches_.find(watch_id);
    if (it == watches_.end()) {
      return done(ErrorResponse(id, v1::NOT_FOUND, "no watch " + std::to_string(watch_id)));
    }
    target = it->second;
    watches_.erase(it);
    ids_in_use_.erase(watch_id);
    auto store = stores_.find(target.first);
    if (store != stores_.end()) entry = store->second;
  }
  if (entry != nullptr) entry->database->Unwatch(target.second);
  done(OkResponse(id));
}

}  // namespace embed::c_api::internal
