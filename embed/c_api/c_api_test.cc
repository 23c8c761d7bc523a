// The C ABI from C++: envelopes built with the C++ protobuf classes of
// bridge.proto, handles with their own in-process hub, a C++ RPC service as
// the peer. The C test (c_api_c_test.c) and the Python binding's tests cover
// the same ABI from those languages.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "embed/c_api/embed.h"
#include "embed/client/connection.h"
#include "embed/rpc/service.h"
#include "embed/rpc/service_host.h"
#include "embed/v1/bridge.pb.h"

namespace {

using namespace std::chrono_literals;
using embed::v1::Event;
using embed::v1::Request;
using embed::v1::Response;

// Owns one handle; helpers for the sync call and event polling.
class Handle {
 public:
  explicit Handle(const embed::v1::Config& config = {}) {
    std::string bytes = config.SerializeAsString();
    embed_error_t* error = nullptr;
    EXPECT_EQ(
        embed_open(reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size(), &handle_, &error),
        EMBED_OK);
    EXPECT_EQ(error, nullptr);
  }
  ~Handle() { embed_free(handle_); }
  embed_t* get() const { return handle_; }

  Response Call(const Request& request) {
    std::string bytes = request.SerializeAsString();
    uint8_t* out = nullptr;
    size_t out_len = 0;
    embed_error_t* error = nullptr;
    embed_status status = embed_call_sync(handle_, reinterpret_cast<const uint8_t*>(bytes.data()),
                                          bytes.size(), &out, &out_len, &error);
    Response response;
    if (status != EMBED_OK) {
      ADD_FAILURE() << "embed_call_sync: " << embed_error_message(error);
      embed_error_free(error);
      response.mutable_status()->set_code(static_cast<embed::v1::StatusCode>(status));
      return response;
    }
    EXPECT_TRUE(response.ParseFromArray(out, static_cast<int>(out_len)));
    embed_bytes_free(out);
    return response;
  }

  void CallAsync(const Request& request) {
    std::string bytes = request.SerializeAsString();
    embed_error_t* error = nullptr;
    ASSERT_EQ(
        embed_call(handle_, reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size(), &error),
        EMBED_OK)
        << embed_error_message(error);
  }

  std::optional<Event> Poll(std::chrono::milliseconds timeout = 5s) {
    uint8_t* out = nullptr;
    size_t out_len = 0;
    embed_status status =
        embed_poll(handle_, static_cast<int32_t>(timeout.count()), &out, &out_len, nullptr);
    if (status != EMBED_OK) return std::nullopt;
    Event event;
    EXPECT_TRUE(event.ParseFromArray(out, static_cast<int>(out_len)));
    embed_bytes_free(out);
    return event;
  }

  // Polls until `wanted` accepts an event (others are skipped).
  std::optional<Event> PollUntil(const std::function<bool(const Event&)>& wanted,
                                 std::chrono::milliseconds timeout = 5s) {
    auto deadline = std::chrono::steady_clock::now() + timeout;
    while (std::chrono::steady_clock::now() < deadline) {
      auto event = Poll(std::chrono::duration_cast<std::chrono::milliseconds>(
          deadline - std::chrono::steady_clock::now()));
      if (!event.has_value()) return std::nullopt;
      if (wanted(*event)) return event;
    }
    return std::nullopt;
  }

  // Starts a hub in this handle and connects to it; returns its TCP URL.
  std::string StartHubAndConnect() {
    Request start;
    start.set_id(1001);
    start.mutable_hub_start();
    Response started = Call(start);
    EXPECT_EQ(started.status().code(), embed::v1::OK) << started.status().message();
    in_process_url_ = started.hub_start().in_process_url();
    Request connect;
    connect.set_id(1002);
    connect.mutable_connect()->set_use_hub(true);
    Response connected = Call(connect);
    EXPECT_EQ(connected.status().code(), embed::v1::OK) << connected.status().message();
    return started.hub_start().url();
  }
  const std::string& in_process_url() const { return in_process_url_; }

 private:
  embed_t* handle_ = nullptr;
  std::string in_process_url_;
};

Request Publish(std::string subject, std::string payload) {
  Request request;
  request.mutable_publish()->set_subject(std::move(subject));
  request.mutable_publish()->set_payload(std::move(payload));
  return request;
}

Request Subscribe(std::uint64_t id, std::string subject) {
  Request request;
  request.set_id(id);
  request.mutable_subscribe()->set_subject(std::move(subject));
  return request;
}

bool IsMessage(const Event& event) { return event.has_message(); }

TEST(CApi, VersionIsTheProjectVersion) { EXPECT_STREQ(embed_version(), "0.1.0"); }

TEST(CApi, BadInputIsInvalidArgumentWithAMessage) {
  Handle handle;
  const uint8_t garbage[] = {0xff, 0xff, 0xff, 0xff, 0x0f};
  embed_error_t* error = nullptr;
  EXPECT_EQ(embed_call(handle.get(), garbage, sizeof garbage, &error), EMBED_INVALID_ARGUMENT);
  ASSERT_NE(error, nullptr);
  EXPECT_EQ(embed_error_code(error), EMBED_INVALID_ARGUMENT);
  EXPECT_NE(std::string(embed_error_message(error)), "");
  embed_error_free(error);

  // No operation; id 0 for embed_call; NULL pointers.
  Request empty;
  empty.set_id(5);
  std::string bytes = empty.SerializeAsString();
  EXPECT_EQ(embed_call(handle.get(), reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size(),
                       nullptr),
            EMBED_INVALID_ARGUMENT);
  Request no_id = Publish("a", "b");
  bytes = no_id.SerializeAsString();
  EXPECT_EQ(embed_call(handle.get(), reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size(),
                       nullptr),
            EMBED_INVALID_ARGUMENT);
  EXPECT_EQ(embed_call(nullptr, nullptr, 0, nullptr), EMBED_INVALID_ARGUMENT);
  EXPECT_EQ(embed_call(handle.get(), nullptr, 3, nullptr), EMBED_INVALID_ARGUMENT);
  embed_t* out = nullptr;
  EXPECT_EQ(embed_open(garbage, sizeof garbage, &out, nullptr), EMBED_INVALID_ARGUMENT);
  EXPECT_EQ(out, nullptr);
  // Nothing was queued by the refused calls.
  EXPECT_FALSE(handle.Poll(0ms).has_value());
}

TEST(CApi, AnOperationOfANewerProtoIsUnimplementedNotGarbage) {
  Handle handle;
  // Request{id: 12, <field 99>: Request{}} as a newer app would send it.
  Request request;
  request.set_id(12);
  std::string bytes = request.SerializeAsString();
  bytes += std::string("\x9a\x06\x00", 3);  // field 99, length-delimited, empty
  ASSERT_EQ(embed_call(handle.get(), reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size(),
                       nullptr),
            EMBED_OK);
  auto answer = handle.Poll();
  ASSERT_TRUE(answer.has_value() && answer->has_response());
  EXPECT_EQ(answer->response().id(), 12u);
  EXPECT_EQ(answer->response().status().code(), embed::v1::UNIMPLEMENTED);
}

TEST(CApi, OperationsNeedingAConnectionSayFailedPrecondition) {
  Handle handle;
  Request publish = Publish("a", "b");
  EXPECT_EQ(handle.Call(publish).status().code(), embed::v1::FAILED_PRECONDITION);
  Request connect;
  connect.mutable_connect()->set_use_hub(true);
  EXPECT_EQ(handle.Call(connect).status().code(), embed::v1::FAILED_PRECONDITION);
}

TEST(CApi, PublishAndSubscribeThroughTheInProcessHub) {
  Handle handle;
  handle.StartHubAndConnect();
  // Async calls start in order: the subscription exists before the publish.
  handle.CallAsync(Subscribe(7, "greet.>"));
  Request publish = Publish("greet.world", "hello");
  publish.set_id(8);
  publish.mutable_publish()->add_headers()->set_name("X-Trace");
  publish.mutable_publish()->mutable_headers(0)->set_value("abc");
  handle.CallAsync(publish);
  auto message = handle.PollUntil(IsMessage);
  ASSERT_TRUE(message.has_value());
  EXPECT_EQ(message->message().subscription_id(), 7u);
  EXPECT_EQ(message->message().message().subject(), "greet.world");
  EXPECT_EQ(message->message().message().payload(), "hello");
  ASSERT_EQ(message->message().message().headers_size(), 1);
  EXPECT_EQ(message->message().message().headers(0).value(), "abc");

  // The id names the subscription: reusing it is refused; unsubscribing frees it.
  EXPECT_EQ(handle.Call(Subscribe(7, "x")).status().code(), embed::v1::ALREADY_EXISTS);
  Request unsubscribe;
  unsubscribe.mutable_unsubscribe()->set_subscription_id(7);
  EXPECT_EQ(handle.Call(unsubscribe).status().code(), embed::v1::OK);
  EXPECT_EQ(handle.Call(unsubscribe).status().code(), embed::v1::NOT_FOUND);
  Response subscribed = handle.Call(Subscribe(7, "x"));
  EXPECT_EQ(subscribed.status().code(), embed::v1::OK);
  // An empty result still names its operation; a failure names none.
  EXPECT_EQ(subscribed.result_case(), Response::kSubscribe);
  EXPECT_EQ(handle.Call(Publish("a", "b")).result_case(), Response::kPublish);
  EXPECT_EQ(handle.Call(Publish("bad subject", "b")).result_case(), Response::RESULT_NOT_SET);
}

TEST(CApi, RequestReplyBetweenTwoHandlesOverTcp) {
  Handle server;
  std::string url = server.StartHubAndConnect();
  Handle client;
  Request connect;
  connect.mutable_connect()->add_urls(url);
  ASSERT_EQ(client.Call(connect).status().code(), embed::v1::OK);

  ASSERT_EQ(server.Call(Subscribe(1, "echo")).status().code(), embed::v1::OK);
  Request flush;  // the hub has the subscription before the other connection asks
  flush.mutable_flush();
  ASSERT_EQ(server.Call(flush).status().code(), embed::v1::OK);
  std::atomic<bool> stop{false};
  std::thread responder([&] {
    while (!stop) {
      auto event = server.Poll(50ms);
      if (!event.has_value() || !event->has_message()) continue;
      Request reply = Publish(event->message().message().reply_to(),
                              "re: " + event->message().message().payload());
      server.Call(reply);
    }
  });
  Request request;
  request.mutable_request()->set_subject("echo");
  request.mutable_request()->set_payload("ping");
  request.mutable_request()->set_timeout_ms(2000);
  Response response = client.Call(request);
  EXPECT_EQ(response.status().code(), embed::v1::OK) << response.status().message();
  EXPECT_EQ(response.request().reply().payload(), "re: ping");

  Request nobody;
  nobody.mutable_request()->set_subject("nobody.home");
  EXPECT_EQ(client.Call(nobody).status().code(), embed::v1::UNAVAILABLE);
  stop = true;
  responder.join();
}

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

// Events reach the callback on the library's own thread, in order.
struct Collected {
  std::mutex mutex;
  std::vector<Event> events;
  std::vector<std::thread::id> threads;
};

void Collect(void* user_data, const uint8_t* bytes, size_t len) {
  auto* collected = static_cast<Collected*>(user_data);
  Event event;
  event.ParseFromArray(bytes, static_cast<int>(len));
  std::lock_guard lock(collected->mutex);
  collected->events.push_back(std::move(event));
  collected->threads.push_back(std::this_thread::get_id());
}

TEST(CApi, EventsReachTheCallbackOnTheLibrarysThreadInOrder) {
  Handle handle;
  handle.StartHubAndConnect();
  Collected collected;
  ASSERT_EQ(embed_set_event_callback(handle.get(), &Collect, &collected, nullptr), EMBED_OK);
  // Poll is refused while a callback is set.
  uint8_t* out = nullptr;
  size_t out_len = 0;
  EXPECT_EQ(embed_poll(handle.get(), 0, &out, &out_len, nullptr), EMBED_FAILED_PRECONDITION);

  handle.CallAsync(Subscribe(3, "n"));
  for (int i = 0; i < 200; ++i) {
    Request publish = Publish("n", std::to_string(i));
    publish.set_id(static_cast<std::uint64_t>(10 + i));
    handle.CallAsync(publish);
  }
  auto deadline = std::chrono::steady_clock::now() + 5s;
  for (;;) {
    {
      std::lock_guard lock(collected.mutex);
      int messages = 0;
      for (const auto& event : collected.events) messages += event.has_message() ? 1 : 0;
      if (messages == 200) break;
    }
    ASSERT_LT(std::chrono::steady_clock::now(), deadline) << "messages missing";
    std::this_thread::sleep_for(5ms);
  }
  ASSERT_EQ(embed_set_event_callback(handle.get(), nullptr, nullptr, nullptr), EMBED_OK);
  std::lock_guard lock(collected.mutex);
  int next = 0;
  for (std::size_t i = 0; i < collected.events.size(); ++i) {
    EXPECT_NE(collected.threads[i], std::this_thread::get_id());
    EXPECT_EQ(collected.threads[i], collected.threads[0]);
    if (collected.events[i].has_message()) {
      EXPECT_EQ(collected.events[i].message().message().payload(), std::to_string(next++));
    }
  }
}

// Dart's NativeCallable.listener reads events after the callback returned:
// the owned variant hands the bytes over.
struct Owned {
  std::mutex mutex;
  std::vector<std::pair<uint8_t*, size_t>> events;
};

void TakeOwned(void* user_data, uint8_t* bytes, size_t len) {
  auto* owned = static_cast<Owned*>(user_data);
  std::lock_guard lock(owned->mutex);
  owned->events.emplace_back(bytes, len);
}

TEST(CApi, AnOwnedCallbackKeepsTheBytesUntilItFreesThem) {
  Handle handle;
  handle.StartHubAndConnect();
  Owned owned;
  ASSERT_EQ(embed_set_owned_event_callback(handle.get(), &TakeOwned, &owned, nullptr), EMBED_OK);
  handle.CallAsync(Subscribe(3, "n"));
  for (int i = 0; i < 50; ++i) {
    Request publish = Publish("n", std::to_string(i));
    publish.set_id(static_cast<std::uint64_t>(10 + i));
    handle.CallAsync(publish);
  }
  auto deadline = std::chrono::steady_clock::now() + 5s;
  std::vector<std::string> payloads;
  while (payloads.size() < 50 && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(5ms);
    std::lock_guard lock(owned.mutex);
    payloads.clear();
    for (const auto& [bytes, len] : owned.events) {
      Event event;  // read long after the callback returned
      ASSERT_TRUE(event.ParseFromArray(bytes, static_cast<int>(len)));
      if (event.has_message()) payloads.push_back(event.message().message().payload());
    }
  }
  ASSERT_EQ(embed_set_owned_event_callback(handle.get(), nullptr, nullptr, nullptr), EMBED_OK);
  ASSERT_EQ(payloads.size(), 50u);
  for (int i = 0; i < 50; ++i) EXPECT_EQ(payloads[static_cast<std::size_t>(i)], std::to_string(i));
  for (const auto& [bytes, len] : owned.events) embed_bytes_free(bytes);
}

TEST(CApi, ABoundedQueueDropsMessagesAndSaysHowMany) {
  embed::v1::Config config;
  config.set_event_queue_max_bytes(4096);
  Handle handle(config);
  handle.StartHubAndConnect();
  while (handle.Poll(0ms)) {
  }
  ASSERT_EQ(handle.Call(Subscribe(1, "flood")).status().code(), embed::v1::OK);
  for (int i = 0; i < 100; ++i) {
    ASSERT_EQ(handle.Call(Publish("flood", std::string(100, 'x'))).status().code(), embed::v1::OK);
  }
  Request flush;
  flush.mutable_flush();
  ASSERT_EQ(handle.Call(flush).status().code(), embed::v1::OK);
  // Let the dispatcher hand every message over.
  std::this_thread::sleep_for(200ms);
  Request marker = Publish("flood", "last");
  ASSERT_EQ(handle.Call(marker).status().code(), embed::v1::OK);
  int messages = 0;
  std::uint64_t dropped = 0;
  while (auto event = handle.Poll(500ms)) {
    if (event->has_message()) ++messages;
    if (event->has_dropped()) dropped += event->dropped().events();
  }
  EXPECT_GT(messages, 0);
  EXPECT_GT(dropped, 0u);
  EXPECT_EQ(static_cast<std::uint64_t>(messages) + dropped, 101u);
}

TEST(CApi, CloseAnswersOpenCallsAndLaterCallsFail) {
  Handle handle;
  handle.StartHubAndConnect();
  handle.CallAsync(Subscribe(4, "x"));
  embed_close(handle.get());
  embed_close(handle.get());  // idempotent
  Request publish = Publish("x", "y");
  std::string bytes = publish.SerializeAsString();
  uint8_t* out = nullptr;
  size_t out_len = 0;
  embed_error_t* error = nullptr;
  EXPECT_EQ(embed_call_sync(handle.get(), reinterpret_cast<const uint8_t*>(bytes.data()),
                            bytes.size(), &out, &out_len, &error),
            EMBED_FAILED_PRECONDITION);
  embed_error_free(error);
  // Queued events are still handed out, then CANCELLED says the end.
  bool saw_subscribe_response = false;
  embed_status status;
  while ((status = embed_poll(handle.get(), 100, &out, &out_len, nullptr)) == EMBED_OK) {
    Event event;
    event.ParseFromArray(out, static_cast<int>(out_len));
    embed_bytes_free(out);
    if (event.has_response() && event.response().id() == 4) saw_subscribe_response = true;
  }
  EXPECT_TRUE(saw_subscribe_response);
  EXPECT_EQ(status, EMBED_CANCELLED);
}

TEST(CApi, ConnectionStateChangesAreEvents) {
  Handle hub;
  std::string url = hub.StartHubAndConnect();
  Handle client;
  Request connect;
  connect.mutable_connect()->add_urls(url);
  connect.mutable_connect()->set_reconnect_wait_ms(50);
  ASSERT_EQ(client.Call(connect).status().code(), embed::v1::OK);
  auto state = [](embed::v1::ConnectionState wanted) {
    return [wanted](const Event& event) {
      return event.has_connection_state() && event.connection_state().state() == wanted;
    };
  };
  auto connected = client.PollUntil(state(embed::v1::CONNECTION_STATE_CONNECTED));
  ASSERT_TRUE(connected.has_value());
  EXPECT_EQ(connected->connection_state().url(), url);
  // Reported once, whichever of the connect call and the state callback is first.
  EXPECT_FALSE(client.PollUntil(state(embed::v1::CONNECTION_STATE_CONNECTED), 100ms));

  Request stop;
  stop.mutable_hub_stop();
  ASSERT_EQ(hub.Call(stop).status().code(), embed::v1::OK);
  EXPECT_TRUE(client.PollUntil(state(embed::v1::CONNECTION_STATE_DISCONNECTED)).has_value());
  Request disconnect;
  disconnect.mutable_disconnect();
  ASSERT_EQ(client.Call(disconnect).status().code(), embed::v1::OK);
  EXPECT_TRUE(client.PollUntil(state(embed::v1::CONNECTION_STATE_CLOSED)).has_value());
}

// Calls from several threads (publish, subscribe, unary and streaming RPCs)
// while the handle closes: each gets an answer (OK, or FAILED_PRECONDITION
// once closed) and nothing leaks or races (this test runs under ASan and TSan
// too).
TEST(CApi, CloseWhileOtherThreadsCall) {
  for (int round = 0; round < 5; ++round) {
    Handle handle;
    handle.StartHubAndConnect();
    std::atomic<int> answered{0};
    std::vector<std::thread> callers;
    for (int t = 0; t < 4; ++t) {
      callers.emplace_back([&, t] {
        for (int i = 0; i < 200; ++i) {
          Request request;
          switch (i % 4) {
            case 0:
              request = Publish("x", "y");
              break;
            case 1:
              request = Subscribe(0, "x");
              break;
            default:  // RPCs (nobody serves them): unary, and a stream that must start
              request.mutable_rpc()->set_method("test.v1.Nobody.Call");
              request.mutable_rpc()->set_kind(i % 4 == 2 ? embed::v1::RPC_KIND_UNARY
                                                         : embed::v1::RPC_KIND_SERVER_STREAMING);
              break;
          }
          request.set_id(static_cast<std::uint64_t>(100000 * (t + 1) + i));
          std::string bytes = request.SerializeAsString();
          uint8_t* out = nullptr;
          size_t out_len = 0;
          embed_status status =
              embed_call_sync(handle.get(), reinterpret_cast<const uint8_t*>(bytes.data()),
                              bytes.size(), &out, &out_len, nullptr);
          if (status == EMBED_OK) embed_bytes_free(out);
          EXPECT_TRUE(status == EMBED_OK || status == EMBED_FAILED_PRECONDITION) << status;
          answered.fetch_add(1);
        }
      });
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(2 * round));
    embed_close(handle.get());
    for (auto& caller : callers) caller.join();
    EXPECT_EQ(answered.load(), 800);
  }
}

// A NATS server that completes the handshake and then never answers again,
// so a flush waits for its whole timeout. One connection; POSIX sockets.
class SilentServer {
 public:
  SilentServer() {
    listener_ = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    EXPECT_EQ(::bind(listener_, reinterpret_cast<sockaddr*>(&address), sizeof address), 0);
    EXPECT_EQ(::listen(listener_, 1), 0);
    socklen_t length = sizeof address;
    ::getsockname(listener_, reinterpret_cast<sockaddr*>(&address), &length);
    port_ = ntohs(address.sin_port);
    thread_ = std::thread([this] {
      connection_ = ::accept(listener_, nullptr, nullptr);
      const std::string info = "INFO {\"server_id\":\"silent\",\"max_payload\":1048576}\r\n";
      (void)::write(connection_, info.data(), info.size());
      std::string received;
      char buffer[4096];
      while (received.find("PING\r\n") == std::string::npos) {
        ssize_t n = ::read(connection_, buffer, sizeof buffer);
        if (n <= 0) return;
        received.append(buffer, static_cast<std::size_t>(n));
      }
      (void)::write(connection_, "PONG\r\n", 6);
    });
  }
  ~SilentServer() {
    thread_.join();
    ::close(connection_);
    ::close(listener_);
  }
  std::string url() const { return "nats://127.0.0.1:" + std::to_string(port_); }

 private:
  int listener_ = -1;
  int connection_ = -1;
  std::uint16_t port_ = 0;
  std::thread thread_;
};

// A flush the call thread waits on (the server stopped answering) does not
// hold embed_close() for its whole timeout.
TEST(CApi, CloseDoesNotWaitForAQueuedFlushToTimeOut) {
  SilentServer server;
  Handle client;
  Request connect;
  connect.mutable_connect()->add_urls(server.url());
  ASSERT_EQ(client.Call(connect).status().code(), embed::v1::OK);
  Request flush;
  flush.set_id(3);
  flush.mutable_flush()->set_timeout_ms(60'000);
  client.CallAsync(flush);
  std::this_thread::sleep_for(100ms);  // the call thread is inside the flush
  auto started = std::chrono::steady_clock::now();
  embed_close(client.get());
  EXPECT_LT(std::chrono::steady_clock::now() - started, 5s);
  // The flush was answered (not OK: the connection closed under it).
  auto answer = client.PollUntil([](const Event& event) { return event.has_response(); });
  ASSERT_TRUE(answer.has_value());
  EXPECT_EQ(answer->response().id(), 3u);
  EXPECT_NE(answer->response().status().code(), embed::v1::OK);
}

TEST(CApi, ConcurrentClosesAllReturnOnceClosed) {
  for (int round = 0; round < 10; ++round) {
    Handle handle;
    handle.StartHubAndConnect();
    std::vector<std::thread> closers;
    std::atomic<int> returned{0};
    for (int i = 0; i < 3; ++i) {
      closers.emplace_back([&] {
        embed_close(handle.get());
        // Closed by now, whoever did it: calls fail.
        Request publish = Publish("x", "y");
        std::string bytes = publish.SerializeAsString();
        uint8_t* out = nullptr;
        size_t out_len = 0;
        EXPECT_EQ(embed_call_sync(handle.get(), reinterpret_cast<const uint8_t*>(bytes.data()),
                                  bytes.size(), &out, &out_len, nullptr),
                  EMBED_FAILED_PRECONDITION);
        returned.fetch_add(1);
      });
    }
    for (auto& closer : closers) closer.join();
    EXPECT_EQ(returned.load(), 3);
  }
}

// Switching callbacks under a steady stream of events returns promptly, and
// after it returns the old callback is not called again.
TEST(CApi, SwitchingCallbacksUnderLoadReturnsAndStopsTheOldOne) {
  Handle handle;
  handle.StartHubAndConnect();
  ASSERT_EQ(handle.Call(Subscribe(1, "load")).status().code(), embed::v1::OK);
  std::atomic<bool> stop{false};
  std::thread publisher([&] {
    while (!stop) handle.Call(Publish("load", "x"));
  });
  Collected first;
  Collected second;
  ASSERT_EQ(embed_set_event_callback(handle.get(), &Collect, &first, nullptr), EMBED_OK);
  std::this_thread::sleep_for(50ms);
  auto started = std::chrono::steady_clock::now();
  ASSERT_EQ(embed_set_event_callback(handle.get(), &Collect, &second, nullptr), EMBED_OK);
  EXPECT_LT(std::chrono::steady_clock::now() - started, 2s);
  std::size_t first_count;
  {
    std::lock_guard lock(first.mutex);
    first_count = first.events.size();
  }
  std::this_thread::sleep_for(50ms);
  stop = true;
  publisher.join();
  ASSERT_EQ(embed_set_event_callback(handle.get(), nullptr, nullptr, nullptr), EMBED_OK);
  std::lock_guard lock(first.mutex);
  EXPECT_EQ(first.events.size(), first_count);
  EXPECT_GT(first_count, 0u);
}

}  // namespace
