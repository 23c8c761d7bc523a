// 100,000 calls through embed.h without memory growth.
//
// One handle runs an in-process hub and connects to it; a second handle (the
// responder) connects to the same hub and answers requests from its event
// callback. The first handle makes a mix of calls: publish and poll its own
// subscription's message, store put (and poll the watch's ChangeEvent) and
// get, an RPC to a method nobody serves, a request the responder answers, a
// request that times out, async calls whose Response is polled, subscribe /
// unsubscribe, and bad requests (unreadable bytes, no operation, an undeclared
// table, a value that is not protobuf). The resident set size after the last
// 50,000 calls may exceed the one after the first 50,000 (the warm-up) by less
// than kMaxGrowthBytes. Under ASan the calls still run (LSan then checks for
// leaks at exit) but RSS says nothing and is not checked.
#include <gtest/gtest.h>
#include <unistd.h>

#include <atomic>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <string>

#include "embed/c_api/c_api_test_util.h"
#include "embed/c_api/embed.h"
#include "embed/v1/bridge.pb.h"

namespace embed::c_api_test {
namespace {

constexpr std::int64_t kCalls = 100'000;
constexpr std::int64_t kMaxGrowthBytes = 8 << 20;

constexpr std::uint64_t kEventsSubscription = 10;
constexpr std::uint64_t kEchoSubscription = 11;
constexpr std::uint64_t kSilentSubscription = 12;
constexpr std::uint64_t kStore = 20;
constexpr std::uint64_t kWatch = 21;
constexpr int kKeys = 128;  // keys cycle, so the database stops growing

#if defined(__SANITIZE_ADDRESS__)
constexpr bool kUnderAsan = true;
#else
constexpr bool kUnderAsan = false;
#endif

std::int64_t ResidentBytes() {
  long pages = 0;
  long resident = 0;
  FILE* statm = std::fopen("/proc/self/statm", "r");
  if (statm == nullptr) return -1;
  int read = std::fscanf(statm, "%ld %ld", &pages, &resident);
  std::fclose(statm);
  return read == 2 ? static_cast<std::int64_t>(resident) * sysconf(_SC_PAGESIZE) : -1;
}

// The next event other than a connection-state one; fails the test when
// none comes within 10 s.
embed::v1::Event NextEvent(Handle& handle) {
  auto event =
      handle.PollUntil([](const Event& next) { return !next.has_connection_state(); }, 10s);
  if (!event.has_value()) {
    ADD_FAILURE() << "no event within 10 s";
    return {};
  }
  return *event;
}

// The responder's event callback: echoes requests on kEchoSubscription to
// their reply subject; ignores everything else (kSilentSubscription's requests
// time out).
struct Responder {
  embed_t* handle = nullptr;
  std::atomic<std::uint64_t> next_id{1'000'000'000};
  std::atomic<std::uint64_t> failures{0};
};

void OnResponderEvent(void* user_data, const std::uint8_t* bytes, std::size_t length) {
  auto* responder = static_cast<Responder*>(user_data);
  embed::v1::Event event;
  if (!event.ParseFromArray(bytes, static_cast<int>(length))) {
    ++responder->failures;
    return;
  }
  if (event.has_response() && event.response().status().code() != embed::v1::OK) {
    ++responder->failures;
  }
  if (!event.has_message() || event.message().subscription_id() != kEchoSubscription) return;
  embed::v1::Request reply;
  reply.set_id(responder->next_id++);
  reply.mutable_publish()->set_subject(event.message().message().reply_to());
  reply.mutable_publish()->set_payload(event.message().message().payload());
  std::string reply_bytes = reply.SerializeAsString();
  embed_error_t* error = nullptr;
  if (embed_call(responder->handle, reinterpret_cast<const std::uint8_t*>(reply_bytes.data()),
                 reply_bytes.size(), &error) != EMBED_OK) {
    ++responder->failures;
  }
  embed_error_free(error);
}

// A well-formed protobuf message: field 1 (varint) = number, field 2 (bytes).
std::string ItemValue(std::int64_t number) {
  std::string value;
  value.push_back(0x08);
  auto bits = static_cast<std::uint64_t>(number);
  while (bits >= 0x80) {
    value.push_back(static_cast<char>((bits & 0x7f) | 0x80));
    bits >>= 7;
  }
  value.push_back(static_cast<char>(bits));
  value +=
      "\x12\x10"
      "0123456789abcdef";
  return value;
}

TEST(CApiMemory, HundredThousandCallsDoNotGrowMemory) {
  const std::string path = (std::filesystem::temp_directory_path() /
                            ("embed_c_api_memory_test." + std::to_string(getpid()) + ".db"))
                               .string();
  Handle main_handle;
  ASSERT_NE(main_handle.get(), nullptr);

  // The hub and the main handle's connection to it.
  embed::v1::Request request;
  request.mutable_hub_start()->set_port(0);  // an ephemeral TCP port besides in-process
  embed::v1::Response response = main_handle.Call(request);
  ASSERT_EQ(response.status().code(), embed::v1::OK) << response.status().message();
  const std::string hub_url = response.hub_start().in_process_url();
  ASSERT_FALSE(hub_url.empty());
  request.Clear();
  request.mutable_connect()->set_use_hub(true);
  response = main_handle.Call(request);
  ASSERT_EQ(response.status().code(), embed::v1::OK) << response.status().message();

  // The responder handle, answering from its callback.
  Responder responder;
  {
    Handle responder_handle;
    responder.handle = responder_handle.get();
    embed_error_t* error = nullptr;
    ASSERT_EQ(embed_set_event_callback(responder.handle, OnResponderEvent, &responder, &error),
              EMBED_OK)
        << embed_error_message(error);
    request.Clear();
    request.mutable_connect()->add_urls(hub_url);
    response = responder_handle.Call(request);
    ASSERT_EQ(response.status().code(), embed::v1::OK) << response.status().message();
    ASSERT_EQ(responder_handle.Call(Subscribe(kEchoSubscription, "mem.echo")).status().code(),
              embed::v1::OK);
    ASSERT_EQ(responder_handle.Call(Subscribe(kSilentSubscription, "mem.silent")).status().code(),
              embed::v1::OK);
    request.Clear();
    request.mutable_flush();
    ASSERT_EQ(responder_handle.Call(request).status().code(), embed::v1::OK);

    // The main handle's subscription, database and watch.
    ASSERT_EQ(main_handle.Call(Subscribe(kEventsSubscription, "mem.events")).status().code(),
              embed::v1::OK);
    request.Clear();
    request.set_id(kStore);
    request.mutable_store_open()->set_path(path);
    ASSERT_EQ(main_handle.Call(request).status().code(), embed::v1::OK);
    request.Clear();
    auto* migration = request.mutable_store_migrate()->add_migrations();
    request.mutable_store_migrate()->set_store(kStore);
    migration->set_version(1);
    migration->add_changes()->mutable_create_table()->set_name("items");
    ASSERT_EQ(main_handle.Call(request).status().code(), embed::v1::OK);
    request.Clear();
    request.set_id(kWatch);
    request.mutable_store_watch()->set_store(kStore);
    request.mutable_store_watch()->set_table("items");
    ASSERT_EQ(main_handle.Call(request).status().code(), embed::v1::OK);

    // Requests reused every round (their fields are overwritten).
    embed::v1::Request publish;
    publish.mutable_publish()->set_subject("mem.events");
    publish.mutable_publish()->set_payload(std::string(32, 'p'));
    embed::v1::Request put;
    put.mutable_store_put()->set_store(kStore);
    put.mutable_store_put()->set_table("items");
    embed::v1::Request get;
    get.mutable_store_get()->set_store(kStore);
    get.mutable_store_get()->set_table("items");
    embed::v1::Request rpc;
    rpc.mutable_rpc()->set_method("mem.Nobody.Call");
    rpc.mutable_rpc()->set_payload("\x08\x01");
    rpc.mutable_rpc()->set_timeout_ms(5'000);
    embed::v1::Request echo;
    echo.mutable_request()->set_subject("mem.echo");
    echo.mutable_request()->set_timeout_ms(5'000);
    embed::v1::Request silent;
    silent.mutable_request()->set_subject("mem.silent");
    silent.mutable_request()->set_timeout_ms(5);
    embed::v1::Request undeclared;
    undeclared.mutable_store_put()->set_store(kStore);
    undeclared.mutable_store_put()->set_table("nope");
    undeclared.mutable_store_put()->set_key("k");
    undeclared.mutable_store_put()->set_value(ItemValue(1));
    embed::v1::Request not_protobuf = put;
    not_protobuf.mutable_store_put()->set_key("k");
    not_protobuf.mutable_store_put()->set_value("\xff\xff\xff");
    embed::v1::Request no_operation;
    no_operation.set_id(7);
    const std::string unreadable = "\xff\x01garbage, not a Request";

    std::uint64_t next_id = 1'000;
    std::int64_t warm_rss = -1;
    for (std::int64_t round = 0; main_handle.calls() < kCalls; ++round) {
      if (warm_rss < 0 && main_handle.calls() >= kCalls / 2) warm_rss = ResidentBytes();
      const std::string key = "item-" + std::to_string(round % kKeys);

      // Publish, and the subscription's message.
      ASSERT_EQ(main_handle.Call(publish).status().code(), embed::v1::OK);
      embed::v1::Event event = NextEvent(main_handle);
      ASSERT_TRUE(event.has_message()) << event.DebugString();
      ASSERT_EQ(event.message().subscription_id(), kEventsSubscription);

      // Store put, its ChangeEvent, and get.
      put.mutable_store_put()->set_key(key);
      put.mutable_store_put()->set_value(ItemValue(round));
      ASSERT_EQ(main_handle.Call(put).status().code(), embed::v1::OK);
      event = NextEvent(main_handle);
      ASSERT_TRUE(event.has_change()) << event.DebugString();
      ASSERT_EQ(event.change().watch_id(), kWatch);
      get.mutable_store_get()->set_key(key);
      response = main_handle.Call(get);
      ASSERT_EQ(response.status().code(), embed::v1::OK);
      ASSERT_TRUE(response.store_get().found());

      // An RPC nobody serves fails (no responders), without waiting for its timeout.
      response = main_handle.Call(rpc);
      ASSERT_NE(response.status().code(), embed::v1::OK);

      // A request the responder answers.
      echo.mutable_request()->set_payload(key);
      response = main_handle.Call(echo);
      ASSERT_EQ(response.status().code(), embed::v1::OK) << response.status().message();
      ASSERT_EQ(response.request().reply().payload(), key);

      // Bad requests.
      ASSERT_EQ(main_handle.CallRaw(unreadable), EMBED_INVALID_ARGUMENT);
      ASSERT_EQ(main_handle.CallRaw(no_operation.SerializeAsString()), EMBED_INVALID_ARGUMENT);
      ASSERT_EQ(main_handle.Call(undeclared).status().code(), embed::v1::NOT_FOUND);
      ASSERT_EQ(main_handle.Call(not_protobuf).status().code(), embed::v1::INVALID_ARGUMENT);

      // An async call and its Response event.
      get.set_id(next_id++);
      ASSERT_EQ(main_handle.CallRaw(get.SerializeAsString()), EMBED_OK);
      get.set_id(0);
      event = NextEvent(main_handle);
      ASSERT_TRUE(event.has_response()) << event.DebugString();
      ASSERT_EQ(event.response().id(), next_id - 1);
      ASSERT_TRUE(event.response().store_get().found());

      if (round % 100 == 0) {  // a subscription that comes and goes
        std::uint64_t id = next_id++;
        ASSERT_EQ(
            main_handle.Call(Subscribe(id, "mem.temporary." + std::to_string(id))).status().code(),
            embed::v1::OK);
        request.Clear();
        request.mutable_unsubscribe()->set_subscription_id(id);
        ASSERT_EQ(main_handle.Call(request).status().code(), embed::v1::OK);
      }
      if (round % 500 == 0) {  // a request nobody answers times out
        ASSERT_EQ(main_handle.Call(silent).status().code(), embed::v1::DEADLINE_EXCEEDED);
      }
    }
    std::int64_t final_rss = ResidentBytes();
    EXPECT_EQ(responder.failures.load(), 0u);
    std::printf("%lld calls; RSS after %lld: %lld KiB, after %lld: %lld KiB\n",
                static_cast<long long>(main_handle.calls()), static_cast<long long>(kCalls / 2),
                static_cast<long long>(warm_rss / 1024),
                static_cast<long long>(main_handle.calls()),
                static_cast<long long>(final_rss / 1024));
    if (!kUnderAsan) {
      ASSERT_GT(warm_rss, 0);
      EXPECT_LT(final_rss - warm_rss, kMaxGrowthBytes)
          << "RSS grew from " << warm_rss << " to " << final_rss << " bytes";
    }
  }  // the responder closes first: the hub is the main handle's
  std::filesystem::remove(path);
  std::filesystem::remove(path + "-wal");
  std::filesystem::remove(path + "-shm");
}

}  // namespace
}  // namespace embed::c_api_test
