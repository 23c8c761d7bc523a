// Fuzz target: arbitrary bytes as an embed.v1.Request through embed_call_sync
// on a handle with an in-memory database (table "t", indexes on an int64 and
// a string field) and no connection. Requests that would reach outside the
// process (connect, hub_start) or the file system (store_open) are skipped.
#include <cstddef>
#include <cstdint>
#include <string>

#include "embed/c_api/embed.h"
#include "embed/v1/bridge.pb.h"

namespace {

constexpr std::uint64_t kStore = 1;

embed_t* MakeHandle() {
  embed_t* handle = nullptr;
  if (embed_open(nullptr, 0, &handle, nullptr) != EMBED_OK) return nullptr;
  auto run = [&](const embed::v1::Request& request) {
    std::string bytes = request.SerializeAsString();
    uint8_t* out = nullptr;
    size_t out_len = 0;
    if (embed_call_sync(handle, reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size(), &out,
                        &out_len, nullptr) == EMBED_OK) {
      embed_bytes_free(out);
    }
  };
  embed::v1::Request open;
  open.set_id(kStore);
  open.mutable_store_open()->set_path(":memory:");
  run(open);
  embed::v1::Request migrate;
  migrate.mutable_store_migrate()->set_store(kStore);
  auto* migration = migrate.mutable_store_migrate()->add_migrations();
  migration->set_version(1);
  auto* table = migration->add_changes()->mutable_create_table();
  table->set_name("t");
  auto* by_number = table->add_indexes();
  by_number->set_name("by_number");
  by_number->add_field_path(1);
  by_number->set_type(embed::v1::FIELD_TYPE_INT64);
  auto* by_name = table->add_indexes();
  by_name->set_name("by_name");
  by_name->add_field_path(2);
  by_name->set_type(embed::v1::FIELD_TYPE_STRING);
  run(migrate);
  embed::v1::Request watch;
  watch.set_id(2);
  watch.mutable_store_watch()->set_store(kStore);
  watch.mutable_store_watch()->set_table("t");
  watch.mutable_store_watch()->set_include_old_value(true);
  run(watch);
  return handle;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static embed_t* handle = MakeHandle();
  if (handle == nullptr) return 0;
  embed::v1::Request request;
  if (request.ParseFromArray(data, static_cast<int>(size))) {
    switch (request.op_case()) {
      case embed::v1::Request::kConnect:
      case embed::v1::Request::kHubStart:
      case embed::v1::Request::kStoreOpen:
        return 0;
      default:
        break;
    }
  }
  uint8_t* out = nullptr;
  size_t out_len = 0;
  embed_error_t* error = nullptr;
  if (embed_call_sync(handle, data, size, &out, &out_len, &error) == EMBED_OK) {
    embed::v1::Response response;
    if (!response.ParseFromArray(out, static_cast<int>(out_len))) __builtin_trap();
    embed_bytes_free(out);
  }
  embed_error_free(error);
  // Events (changes) are taken so the queue does not fill.
  while (embed_poll(handle, 0, &out, &out_len, nullptr) == EMBED_OK) embed_bytes_free(out);
  return 0;
}
