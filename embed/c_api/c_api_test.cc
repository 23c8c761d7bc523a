// The C ABI from C++ (lifecycle, messaging, event delivery, closing):
// envelopes built with the C++ protobuf classes of bridge.proto, handles with
// their own in-process hub. c_api_rpc_store_test.cc covers RPC and the store;
// the C test (c_api_c_test.c) and the Python binding's tests cover the same
// ABI from those languages.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "embed/c_api/c_api_test_util.h"
#include "embed/c_api/embed.h"
#include "embed/v1/bridge.pb.h"

namespace embed::c_api_test {
namespace {

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
}  // namespace embed::c_api_test
