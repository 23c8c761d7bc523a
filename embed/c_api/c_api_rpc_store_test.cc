// The C ABI from C++: RPC by method name (against a C++ service on the
// handle's hub) and the local database with its watches.
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "embed/c_api/c_api_test_util.h"
#include "embed/client/connection.h"
#include "embed/rpc/service.h"
#include "embed/rpc/service_host.h"
#include "embed/v1/bridge.pb.h"

namespace embed::c_api_test {
namespace {

// A C++ service on the hub that the handle calls by method name.
class EchoService : public embed::rpc::DynamicService {
 public:
  EchoService() : DynamicService("test.v1.Echo") {
    AddUnary({"Say", embed::rpc::MethodKind::kUnary, "", ""},
             [](embed::rpc::ServerContext&, std::string_view request, std::string* response) {
               if (request == "fail") {
                 return embed::rpc::RpcStatus(embed::rpc::RpcCode::kNotFound, "no such thing");
               }
               *response = "said " + std::string(request);
               return embed::rpc::RpcStatus::Ok();
             });
    AddServerStreaming(
        {"Count", embed::rpc::MethodKind::kServerStreaming, "", ""},
        [](embed::rpc::ServerContext&, std::string_view request, embed::rpc::ServerStream& stream) {
          int count = std::stoi(std::string(request));
          for (int i = 0; i < count; ++i) {
            embed::rpc::RpcStatus status = stream.Write(std::to_string(i));
            if (!status.ok()) return status;
          }
          return embed::rpc::RpcStatus::Ok();
        });
  }
};

class CApiRpc : public ::testing::Test {
 protected:
  void SetUp() override {
    handle_.StartHubAndConnect();
    embed::client::ConnectionOptions options;
    options.urls = {handle_.in_process_url()};
    connection_ = embed::client::Connection::Connect(options).value();
    host_ = std::make_unique<embed::rpc::ServiceHost>(*connection_);
    ASSERT_TRUE(host_->AddService(service_).ok());
  }
  void TearDown() override {
    host_.reset();
    connection_.reset();
  }
  Request Rpc(std::uint64_t id, std::string method, std::string payload,
              embed::v1::RpcKind kind = embed::v1::RPC_KIND_UNARY) {
    Request request;
    request.set_id(id);
    request.mutable_rpc()->set_method(std::move(method));
    request.mutable_rpc()->set_payload(std::move(payload));
    request.mutable_rpc()->set_kind(kind);
    return request;
  }

  EchoService service_;  // outlives the host
  Handle handle_;
  std::unique_ptr<embed::client::Connection> connection_;
  std::unique_ptr<embed::rpc::ServiceHost> host_;
};

TEST_F(CApiRpc, UnaryCallsReturnTheReplyOrTheHandlersStatus) {
  Response said = handle_.Call(Rpc(1, "test.v1.Echo.Say", "hi"));
  EXPECT_EQ(said.status().code(), embed::v1::OK) << said.status().message();
  EXPECT_EQ(said.rpc().payload(), "said hi");
  Response failed = handle_.Call(Rpc(2, "test.v1.Echo.Say", "fail"));
  EXPECT_EQ(failed.status().code(), embed::v1::NOT_FOUND);
  EXPECT_EQ(failed.status().message(), "no such thing");
  EXPECT_EQ(handle_.Call(Rpc(3, "test.v1.Echo.Nope", "")).status().code(),
            embed::v1::UNIMPLEMENTED);
  EXPECT_EQ(handle_.Call(Rpc(4, "test.v1.Nobody.Say", "")).status().code(), embed::v1::UNAVAILABLE);
}

TEST_F(CApiRpc, ServerStreamingDeliversMessagesInOrderThenTheResponse) {
  handle_.CallAsync(Rpc(9, "test.v1.Echo.Count", "100", embed::v1::RPC_KIND_SERVER_STREAMING));
  int next = 0;
  for (;;) {
    auto event = handle_.Poll();
    ASSERT_TRUE(event.has_value()) << "after " << next << " messages";
    if (event->has_rpc_message()) {
      EXPECT_EQ(event->rpc_message().call_id(), 9u);
      EXPECT_EQ(event->rpc_message().payload(), std::to_string(next));
      ++next;
      continue;
    }
    if (!event->has_response()) continue;
    EXPECT_EQ(event->response().id(), 9u);
    EXPECT_EQ(event->response().status().code(), embed::v1::OK);
    EXPECT_EQ(event->response().rpc().messages(), 100u);
    break;
  }
  EXPECT_EQ(next, 100);
}

TEST_F(CApiRpc, AStreamWhoseMessagesTheQueueDroppedEndsResourceExhausted) {
  embed::v1::Config config;
  config.set_event_queue_max_bytes(2048);
  Handle small(config);
  Request connect;
  connect.mutable_connect()->add_urls(handle_.in_process_url());
  ASSERT_EQ(small.Call(connect).status().code(), embed::v1::OK);
  while (small.Poll(0ms)) {
  }
  // Nobody polls while 1000 messages arrive: most cannot be queued.
  small.CallAsync(Rpc(5, "test.v1.Echo.Count", "1000", embed::v1::RPC_KIND_SERVER_STREAMING));
  auto deadline = std::chrono::steady_clock::now() + 5s;
  std::optional<Event> response;
  int next = 0;
  while (!response.has_value() && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(100ms);  // let the queue fill
    while (auto event = small.Poll(0ms)) {
      if (event->has_rpc_message()) {
        // What was queued is a gap-free prefix.
        EXPECT_EQ(event->rpc_message().payload(), std::to_string(next++));
      }
      if (event->has_response() && event->response().id() == 5) response = event;
    }
  }
  ASSERT_TRUE(response.has_value());
  EXPECT_EQ(response->response().status().code(), embed::v1::RESOURCE_EXHAUSTED);
  EXPECT_EQ(response->response().rpc().messages(), static_cast<std::uint64_t>(next));
  EXPECT_LT(next, 1000);
}

class CApiStore : public ::testing::Test {
 protected:
  void SetUp() override {
    path_ = std::filesystem::temp_directory_path() /
            ("embed_c_api_test_" + std::to_string(::getpid()) + "_" +
             ::testing::UnitTest::GetInstance()->current_test_info()->name() + ".db");
    Remove();
    Request open;
    open.set_id(kStore);
    open.mutable_store_open()->set_path(path_.string());
    ASSERT_EQ(handle_.Call(open).status().code(), embed::v1::OK);
    Request migrate;
    migrate.mutable_store_migrate()->set_store(kStore);
    auto* migration = migrate.mutable_store_migrate()->add_migrations();
    migration->set_version(1);
    auto* table = migration->add_changes()->mutable_create_table();
    table->set_name("users");
    auto* index = table->add_indexes();
    index->set_name("by_age");
    index->add_field_path(2);
    index->set_type(embed::v1::FIELD_TYPE_INT64);
    Response migrated = handle_.Call(migrate);
    ASSERT_EQ(migrated.status().code(), embed::v1::OK) << migrated.status().message();
    EXPECT_EQ(migrated.store_migrate().schema_version(), 1u);
  }
  void TearDown() override { Remove(); }
  void Remove() {
    for (const char* suffix : {"", "-wal", "-shm"}) {
      std::filesystem::remove(path_.string() + suffix);
    }
  }
  // A message with field 1 (string name) and field 2 (int64 age).
  static std::string User(const std::string& name, std::uint8_t age) {
    std::string bytes;
    bytes += '\x0a';
    bytes += static_cast<char>(name.size());
    bytes += name;
    bytes += '\x10';
    bytes += static_cast<char>(age);
    return bytes;
  }
  Request Put(std::string key, std::string value) {
    Request request;
    request.mutable_store_put()->set_store(kStore);
    request.mutable_store_put()->set_table("users");
    request.mutable_store_put()->set_key(std::move(key));
    request.mutable_store_put()->set_value(std::move(value));
    return request;
  }

  static constexpr std::uint64_t kStore = 500;
  std::filesystem::path path_;
  Handle handle_;
};

TEST_F(CApiStore, PutGetScanQueryAndDelete) {
  ASSERT_EQ(handle_.Call(Put("u1", User("ann", 30))).status().code(), embed::v1::OK);
  ASSERT_EQ(handle_.Call(Put("u2", User("bob", 20))).status().code(), embed::v1::OK);
  ASSERT_EQ(handle_.Call(Put("u3", User("cy", 40))).status().code(), embed::v1::OK);

  Request get;
  get.mutable_store_get()->set_store(kStore);
  get.mutable_store_get()->set_table("users");
  get.mutable_store_get()->set_key("u2");
  Response got = handle_.Call(get);
  EXPECT_TRUE(got.store_get().found());
  EXPECT_EQ(got.store_get().value(), User("bob", 20));

  Request scan;
  scan.mutable_store_scan()->set_store(kStore);
  scan.mutable_store_scan()->set_table("users");
  scan.mutable_store_scan()->set_reverse(true);
  scan.mutable_store_scan()->set_limit(2);
  Response scanned = handle_.Call(scan);
  ASSERT_EQ(scanned.store_scan().rows_size(), 2);
  EXPECT_EQ(scanned.store_scan().rows(0).key(), "u3");
  EXPECT_EQ(scanned.store_scan().rows(1).key(), "u2");

  Request query;
  query.mutable_store_query()->set_store(kStore);
  query.mutable_store_query()->set_table("users");
  query.mutable_store_query()->set_index("by_age");
  query.mutable_store_query()->mutable_lower()->set_int_value(25);
  Response queried = handle_.Call(query);
  ASSERT_EQ(queried.status().code(), embed::v1::OK) << queried.status().message();
  ASSERT_EQ(queried.store_query().rows_size(), 2);
  EXPECT_EQ(queried.store_query().rows(0).key(), "u1");  // age 30, then 40
  EXPECT_EQ(queried.store_query().rows(1).key(), "u3");

  Request remove;
  remove.mutable_store_delete()->set_store(kStore);
  remove.mutable_store_delete()->set_table("users");
  remove.mutable_store_delete()->set_key("u2");
  EXPECT_TRUE(handle_.Call(remove).store_delete().found());
  EXPECT_FALSE(handle_.Call(remove).store_delete().found());
  EXPECT_FALSE(handle_.Call(get).store_get().found());

  // Undeclared table, not protobuf, unknown store.
  Request undeclared = Put("k", User("x", 1));
  undeclared.mutable_store_put()->set_table("nope");
  EXPECT_EQ(handle_.Call(undeclared).status().code(), embed::v1::NOT_FOUND);
  EXPECT_EQ(handle_.Call(Put("k", "\xff\xff")).status().code(), embed::v1::INVALID_ARGUMENT);
  Request other_store = Put("k", User("x", 1));
  other_store.mutable_store_put()->set_store(9999);
  EXPECT_EQ(handle_.Call(other_store).status().code(), embed::v1::NOT_FOUND);
}

TEST_F(CApiStore, WatchersGetCommittedChangesInOrderAndNothingFromAFailedBatch) {
  Request watch;
  watch.set_id(77);
  watch.mutable_store_watch()->set_store(kStore);
  watch.mutable_store_watch()->set_table("users");
  watch.mutable_store_watch()->set_include_old_value(true);
  ASSERT_EQ(handle_.Call(watch).status().code(), embed::v1::OK);

  ASSERT_EQ(handle_.Call(Put("u1", User("ann", 30))).status().code(), embed::v1::OK);
  ASSERT_EQ(handle_.Call(Put("u1", User("ann", 31))).status().code(), embed::v1::OK);
  // A batch whose second write fails: nothing of it is committed or seen.
  Request batch;
  batch.mutable_store_write()->set_store(kStore);
  auto* first = batch.mutable_store_write()->add_writes();
  first->set_table("users");
  first->set_key("u2");
  first->set_put(User("bob", 20));
  auto* second = batch.mutable_store_write()->add_writes();
  second->set_table("users");
  second->set_key("u3");
  second->set_put("\xff");
  EXPECT_EQ(handle_.Call(batch).status().code(), embed::v1::INVALID_ARGUMENT);
  Request remove;
  remove.mutable_store_delete()->set_store(kStore);
  remove.mutable_store_delete()->set_table("users");
  remove.mutable_store_delete()->set_key("u1");
  ASSERT_EQ(handle_.Call(remove).status().code(), embed::v1::OK);

  std::vector<embed::v1::ChangeEvent> changes;
  while (auto event = handle_.Poll(changes.size() < 3 ? 5s : 200ms)) {
    if (event->has_change()) changes.push_back(event->change());
  }
  ASSERT_EQ(changes.size(), 3u);
  EXPECT_EQ(changes[0].op(), embed::v1::CHANGE_OP_INSERT);
  EXPECT_EQ(changes[0].new_value(), User("ann", 30));
  EXPECT_FALSE(changes[0].has_old_value());
  EXPECT_EQ(changes[1].op(), embed::v1::CHANGE_OP_UPDATE);
  EXPECT_EQ(changes[1].old_value(), User("ann", 30));
  EXPECT_EQ(changes[2].op(), embed::v1::CHANGE_OP_DELETE);
  EXPECT_EQ(changes[2].old_value(), User("ann", 31));
  for (const auto& change : changes) {
    EXPECT_EQ(change.watch_id(), 77u);
    EXPECT_EQ(change.key(), "u1");
    EXPECT_GT(change.commit_unix_nanos(), 0);
  }
  EXPECT_LT(changes[0].sequence(), changes[1].sequence());
  EXPECT_LT(changes[1].sequence(), changes[2].sequence());

  Request unwatch;
  unwatch.mutable_store_unwatch()->set_watch_id(77);
  EXPECT_EQ(handle_.Call(unwatch).status().code(), embed::v1::OK);
  ASSERT_EQ(handle_.Call(Put("u9", User("zed", 9))).status().code(), embed::v1::OK);
  EXPECT_FALSE(handle_.PollUntil([](const Event& e) { return e.has_change(); }, 200ms));
}

}  // namespace
}  // namespace embed::c_api_test
