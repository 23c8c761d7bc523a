// Integration tests of the native driver against a real server started by
// each test on 127.0.0.1 and an ephemeral port. Parameterized over server
// kinds: embed_client_test runs them against nats-server, and
// tests/interop/client_vs_nats_server.cmake against the embed broker.

#include "embed/client/connection.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <cctype>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <future>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "embed/base/logger.h"

#include "embed/client/testing/nats_server_process.h"
#include "embed/client/testing/recorders.h"
#include "embed/client/testing/server_test.h"
#include "embed/client/testing/test_server.h"

namespace embed::client {
namespace {

using namespace std::chrono_literals;
using testing::Collector;
using testing::EventLog;
using testing::TestServerKind;

constexpr auto kWait = testing::kDefaultWait;

class ConnectionTest : public testing::ServerTest {
 protected:
  ConnectionTest() : ServerTest("embed-client-test") {}
};

TEST_P(ConnectionTest, ConnectsAndReportsTheServer) {
  EventLog log;
  ConnectionOptions options = Options();
  log.Attach(options);
  auto connection = ConnectOrFail(options);
  ASSERT_NE(connection, nullptr);
  EXPECT_EQ(connection->state(), ConnectionState::kConnected);
  EXPECT_EQ(connection->connected_url(), server_->url());
  EXPECT_EQ(connection->max_payload(), 1024 * 1024);
  EXPECT_TRUE(log.WaitForEvent(ConnectionEvent::kConnected));
}

TEST_P(ConnectionTest, FailsToConnectWhenNoServerListens) {
  auto port = testing::PickFreePort();
  ASSERT_TRUE(port.ok());
  ConnectionOptions options = Options();
  options.urls = {"127.0.0.1:" + std::to_string(*port)};
  auto connection = Connection::Connect(options);
  EXPECT_EQ(connection.status().code(), StatusCode::kUnavailable);
}

TEST_P(ConnectionTest, TriesTheNextServerOfTheList) {
  auto port = testing::PickFreePort();
  ASSERT_TRUE(port.ok());
  ConnectionOptions options = Options();
  options.urls = {"127.0.0.1:" + std::to_string(*port), server_->url()};
  auto connection = ConnectOrFail(options);
  ASSERT_NE(connection, nullptr);
  EXPECT_EQ(connection->connected_url(), server_->url());
}

TEST_P(ConnectionTest, TimesOutAServerThatNeverSendsInfo) {
  // A listener whose connections the kernel accepts but nobody serves.
  const int listener = ::socket(AF_INET, SOCK_STREAM, 0);
  ASSERT_GE(listener, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t length = sizeof(address);
  ASSERT_EQ(::bind(listener, reinterpret_cast<sockaddr*>(&address), sizeof(address)), 0);
  ASSERT_EQ(::listen(listener, 8), 0);
  ASSERT_EQ(::getsockname(listener, reinterpret_cast<sockaddr*>(&address), &length), 0);
  ConnectionOptions options = Options();
  options.urls = {"127.0.0.1:" + std::to_string(ntohs(address.sin_port))};
  options.connect_timeout = 200ms;
  const auto start = std::chrono::steady_clock::now();
  auto connection = Connection::Connect(options);
  const auto elapsed = std::chrono::steady_clock::now() - start;
  ::close(listener);
  EXPECT_EQ(connection.status().code(), StatusCode::kTimeout) << connection.status().ToString();
  EXPECT_GE(elapsed, 200ms);
  EXPECT_LT(elapsed, 3s);
}

TEST_P(ConnectionTest, RejectsABadUrl) {
  ConnectionOptions options = Options();
  options.urls = {"http://127.0.0.1:4222"};
  EXPECT_EQ(Connection::Connect(options).status().code(), StatusCode::kInvalidArgument);
}

TEST_P(ConnectionTest, DeliversPublishesToWildcardSubscriptions) {
  auto connection = ConnectOrFail();
  ASSERT_NE(connection, nullptr);
  Collector star;
  Collector full;
  auto star_sub = connection->Subscribe("greet.*", star.Handler());
  auto full_sub = connection->Subscribe("greet.>", full.Handler());
  ASSERT_TRUE(star_sub.ok());
  ASSERT_TRUE(full_sub.ok());
  ASSERT_TRUE(connection->Publish("greet.joe", "hello").ok());
  ASSERT_TRUE(connection->Publish("greet.ann.smith", "hi").ok());
  ASSERT_TRUE(connection->Publish("other", "x").ok());
  ASSERT_TRUE(full.WaitFor(2));
  ASSERT_TRUE(star.WaitFor(1));
  EXPECT_EQ(star.messages()[0].subject, "greet.joe");
  EXPECT_EQ(star.messages()[0].payload, "hello");
  EXPECT_EQ(full.messages()[1].subject, "greet.ann.smith");
  EXPECT_EQ((*star_sub)->subject(), "greet.*");
}

TEST_P(ConnectionTest, DeliversBetweenTwoConnections) {
  auto subscriber = ConnectOrFail();
  auto publisher = ConnectOrFail();
  ASSERT_NE(subscriber, nullptr);
  ASSERT_NE(publisher, nullptr);
  Collector collector;
  auto sub = subscriber->Subscribe("orders.new", collector.Handler());
  ASSERT_TRUE(sub.ok());
  ASSERT_TRUE(subscriber->Flush(kWait).ok());  // the SUB reached the server
  ASSERT_TRUE(publisher->Publish("orders.new", "order-1").ok());
  ASSERT_TRUE(collector.WaitFor(1));
  EXPECT_EQ(collector.messages()[0].payload, "order-1");
}

TEST_P(ConnectionTest, DoesNotReceiveItsOwnPublishesWithoutEcho) {
  ConnectionOptions options = Options();
  options.echo = false;
  auto quiet = ConnectOrFail(options);
  auto other = ConnectOrFail();
  ASSERT_NE(quiet, nullptr);
  ASSERT_NE(other, nullptr);
  Collector collector;
  auto sub = quiet->Subscribe("echo.test", collector.Handler());
  ASSERT_TRUE(sub.ok());
  ASSERT_TRUE(quiet->Publish("echo.test", "own").ok());
  ASSERT_TRUE(quiet->Flush(kWait).ok());
  ASSERT_TRUE(other->Publish("echo.test", "other").ok());
  ASSERT_TRUE(collector.WaitFor(1));
  ASSERT_TRUE(quiet->Flush(kWait).ok());
  ASSERT_EQ(collector.size(), 1u);
  EXPECT_EQ(collector.messages()[0].payload, "other");
}

TEST_P(ConnectionTest, DeliversEachMessageToOneQueueGroupMember) {
  auto connection = ConnectOrFail();
  ASSERT_NE(connection, nullptr);
  Collector first;
  Collector second;
  Collector group;
  Collector plain;
  const auto with_group = [&group](MessageHandler member) -> MessageHandler {
    return [member, group_handler = group.Handler()](Message& m) {
      member(m);
      group_handler(m);
    };
  };
  SubscribeOptions queue;
  queue.queue_group = "workers";
  auto a = connection->Subscribe("jobs", with_group(first.Handler()), queue);
  auto b = connection->Subscribe("jobs", with_group(second.Handler()), queue);
  auto c = connection->Subscribe("jobs", plain.Handler());
  ASSERT_TRUE(a.ok() && b.ok() && c.ok());
  constexpr int kJobs = 50;
  for (int i = 0; i < kJobs; ++i) ASSERT_TRUE(connection->Publish("jobs", std::to_string(i)).ok());
  ASSERT_TRUE(plain.WaitFor(kJobs));
  ASSERT_TRUE(group.WaitFor(kJobs));
  ASSERT_TRUE(connection->Flush(kWait).ok());
  // Every job is handled once by the group; the plain subscription sees all.
  std::set<std::string> handled;
  for (const Message& m : first.messages()) handled.insert(m.payload);
  for (const Message& m : second.messages()) handled.insert(m.payload);
  EXPECT_EQ(first.size() + second.size(), static_cast<std::size_t>(kJobs));
  EXPECT_EQ(handled.size(), static_cast<std::size_t>(kJobs));
}

TEST_P(ConnectionTest, CarriesHeaders) {
  auto connection = ConnectOrFail();
  ASSERT_NE(connection, nullptr);
  Collector collector;
  auto sub = connection->Subscribe("with.headers", collector.Handler());
  ASSERT_TRUE(sub.ok());
  Message message;
  message.subject = "with.headers";
  message.headers.Add("Trace-Id", "abc");
  message.headers.Add("Multi", "1");
  message.headers.Add("Multi", "2");
  message.payload = "body";
  ASSERT_TRUE(connection->Publish(message).ok());
  ASSERT_TRUE(collector.WaitFor(1));
  const Message received = collector.messages()[0];
  EXPECT_TRUE(received.has_headers);
  EXPECT_EQ(received.headers.Get("Trace-Id"), "abc");
  EXPECT_EQ(received.headers.Values("Multi").size(), 2u);
  EXPECT_EQ(received.payload, "body");
}

TEST_P(ConnectionTest, AnswersRequestsThroughTheSharedInbox) {
  auto connection = ConnectOrFail();
  ASSERT_NE(connection, nullptr);
  Connection* raw = connection.get();
  auto responder = connection->Subscribe("svc.echo", [raw](const Message& request) {
    raw->Publish(request.reply_to, "echo:" + request.payload).IgnoreError();
  });
  ASSERT_TRUE(responder.ok());
  for (int i = 0; i < 3; ++i) {
    auto reply = connection->Request("svc.echo", "hi" + std::to_string(i), 2s);
    ASSERT_TRUE(reply.ok()) << reply.status().ToString();
    EXPECT_EQ(reply->payload, "echo:hi" + std::to_string(i));
  }
}

TEST_P(ConnectionTest, AnswersRequestsFromAnotherConnection) {
  auto service = ConnectOrFail();
  auto client = ConnectOrFail();
  ASSERT_NE(service, nullptr);
  ASSERT_NE(client, nullptr);
  Connection* raw = service.get();
  auto responder = service->Subscribe("svc.upper", [raw](const Message& request) {
    std::string upper = request.payload;
    for (char& c : upper) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    Message reply;
    reply.subject = request.reply_to;
    reply.headers.Add("Served-By", "test");
    reply.payload = upper;
    raw->Publish(reply).IgnoreError();
  });
  ASSERT_TRUE(responder.ok());
  ASSERT_TRUE(service->Flush(kWait).ok());
  auto reply = client->Request("svc.upper", "abc", 2s);
  ASSERT_TRUE(reply.ok()) << reply.status().ToString();
  EXPECT_EQ(reply->payload, "ABC");
  EXPECT_EQ(reply->headers.Get("Served-By"), "test");
}

TEST_P(ConnectionTest, ReportsNoRespondersAsUnavailable) {
  auto connection = ConnectOrFail();
  ASSERT_NE(connection, nullptr);
  const auto start = std::chrono::steady_clock::now();
  auto reply = connection->Request("nobody.listens", "x", 5s);
  EXPECT_EQ(reply.status().code(), StatusCode::kUnavailable);
  EXPECT_LT(std::chrono::steady_clock::now() - start, 4s);  // not the timeout
}

TEST_P(ConnectionTest, TimesOutARequestNobodyAnswers) {
  auto connection = ConnectOrFail();
  ASSERT_NE(connection, nullptr);
  Collector silent;
  auto sub = connection->Subscribe("svc.silent", silent.Handler());
  ASSERT_TRUE(sub.ok());
  const auto start = std::chrono::steady_clock::now();
  auto reply = connection->Request("svc.silent", "x", 200ms);
  EXPECT_EQ(reply.status().code(), StatusCode::kTimeout);
  EXPECT_GE(std::chrono::steady_clock::now() - start, 200ms);
  EXPECT_TRUE(silent.WaitFor(1));
}

TEST_P(ConnectionTest, DeliversAsyncRepliesOnTheDispatcherThread) {
  auto connection = ConnectOrFail();
  ASSERT_NE(connection, nullptr);
  Connection* raw = connection.get();
  auto responder = connection->Subscribe("svc.async", [raw](const Message& request) {
    raw->Publish(request.reply_to, "done").IgnoreError();
  });
  ASSERT_TRUE(responder.ok());
  std::promise<std::pair<Result<Message>, std::thread::id>> promise;
  auto future = promise.get_future();
  Message request;
  request.subject = "svc.async";
  connection->RequestAsync(request, 2s, [&promise](Result<Message> reply) {
    promise.set_value({std::move(reply), std::this_thread::get_id()});
  });
  ASSERT_EQ(future.wait_for(kWait), std::future_status::ready);
  auto [reply, thread] = future.get();
  ASSERT_TRUE(reply.ok()) << reply.status().ToString();
  EXPECT_EQ(reply->payload, "done");
  EXPECT_NE(thread, std::this_thread::get_id());
}

TEST_P(ConnectionTest, FlushesPublishes) {
  auto connection = ConnectOrFail();
  ASSERT_NE(connection, nullptr);
  for (int i = 0; i < 100; ++i) ASSERT_TRUE(connection->Publish("flush.me", "x").ok());
  EXPECT_TRUE(connection->Flush(kWait).ok());
}

TEST_P(ConnectionTest, AutoUnsubscribesAfterMaxMessages) {
  auto connection = ConnectOrFail();
  ASSERT_NE(connection, nullptr);
  Collector limited;
  Collector control;
  auto sub = connection->Subscribe("count", limited.Handler());
  ASSERT_TRUE(sub.ok());
  ASSERT_TRUE((*sub)->AutoUnsubscribe(3).ok());
  auto control_sub = connection->Subscribe("count", control.Handler());
  ASSERT_TRUE(control_sub.ok());
  for (int i = 0; i < 5; ++i) ASSERT_TRUE(connection->Publish("count", std::to_string(i)).ok());
  // The control subscription sees all 5; handlers run in arrival order, so
  // the limited one has had every chance to see more than 3.
  ASSERT_TRUE(control.WaitFor(5));
  EXPECT_EQ(limited.size(), 3u);
  EXPECT_EQ((*sub)->delivered(), 3u);
  EXPECT_FALSE((*sub)->is_valid());
}

TEST_P(ConnectionTest, StopsDeliveringAfterUnsubscribe) {
  auto connection = ConnectOrFail();
  ASSERT_NE(connection, nullptr);
  Collector removed;
  Collector control;
  auto sub = connection->Subscribe("topic", removed.Handler());
  auto control_sub = connection->Subscribe("topic", control.Handler());
  ASSERT_TRUE(sub.ok() && control_sub.ok());
  ASSERT_TRUE(connection->Publish("topic", "before").ok());
  ASSERT_TRUE(control.WaitFor(1));
  ASSERT_TRUE(removed.WaitFor(1));
  ASSERT_TRUE((*sub)->Unsubscribe().ok());
  EXPECT_FALSE((*sub)->is_valid());
  EXPECT_EQ((*sub)->Unsubscribe().code(), StatusCode::kFailedPrecondition);
  ASSERT_TRUE(connection->Publish("topic", "after").ok());
  ASSERT_TRUE(control.WaitFor(2));
  EXPECT_EQ(removed.size(), 1u);
}

TEST_P(ConnectionTest, DropsMessagesForASlowHandlerAndReportsASlowConsumer) {
  EventLog log;
  ConnectionOptions options = Options();
  log.Attach(options);
  auto connection = ConnectOrFail(options);
  ASSERT_NE(connection, nullptr);
  std::promise<void> release;
  std::shared_future<void> released = release.get_future().share();
  std::promise<void> entered;
  std::atomic<bool> is_first{true};
  SubscribeOptions limits;
  limits.pending_messages_limit = 5;
  auto sub = connection->Subscribe(
      "slow",
      [&](const Message&) {
        if (is_first.exchange(false)) {
          entered.set_value();
          released.wait();
        }
      },
      limits);
  ASSERT_TRUE(sub.ok());
  ASSERT_TRUE(connection->Publish("slow", "0").ok());
  ASSERT_EQ(entered.get_future().wait_for(kWait), std::future_status::ready);
  for (int i = 1; i < 20; ++i) ASSERT_TRUE(connection->Publish("slow", "x").ok());
  // The PONG follows every message the server sent before it.
  ASSERT_TRUE(connection->Flush(kWait).ok());
  // The blocked handler holds one; 4 more fit; the connection itself is
  // not stalled (the flush completed).
  EXPECT_EQ((*sub)->dropped(), 15u);
  EXPECT_EQ((*sub)->pending_messages(), 5u);
  release.set_value();
  EXPECT_TRUE(log.WaitForError(StatusCode::kResourceExhausted));
  EXPECT_EQ(connection->state(), ConnectionState::kConnected);
}

TEST_P(ConnectionTest, DrainsSubscriptionsThenCloses) {
  EventLog log;
  ConnectionOptions options = Options();
  log.Attach(options);
  auto connection = ConnectOrFail(options);
  ASSERT_NE(connection, nullptr);
  std::atomic<int> handled{0};
  auto sub = connection->Subscribe("drain.me", [&handled](const Message&) {
    std::this_thread::sleep_for(2ms);  // a slowish handler, not synchronisation
    ++handled;
  });
  ASSERT_TRUE(sub.ok());
  for (int i = 0; i < 20; ++i) ASSERT_TRUE(connection->Publish("drain.me", "x").ok());
  ASSERT_TRUE(connection->Drain(kWait).ok());
  EXPECT_EQ(handled.load(), 20);
  EXPECT_EQ(connection->state(), ConnectionState::kClosed);
  EXPECT_TRUE(log.WaitForEvent(ConnectionEvent::kClosed));
  EXPECT_EQ(connection->Publish("drain.me", "late").code(), StatusCode::kFailedPrecondition);
}

TEST_P(ConnectionTest, DrainsOneSubscription) {
  auto connection = ConnectOrFail();
  ASSERT_NE(connection, nullptr);
  Collector collector;
  auto sub = connection->Subscribe("sub.drain", collector.Handler());
  ASSERT_TRUE(sub.ok());
  for (int i = 0; i < 10; ++i) ASSERT_TRUE(connection->Publish("sub.drain", "x").ok());
  ASSERT_TRUE((*sub)->Drain(kWait).ok());
  EXPECT_EQ(collector.size(), 10u);
  EXPECT_FALSE((*sub)->is_valid());
  EXPECT_EQ(connection->state(), ConnectionState::kConnected);
}

TEST_P(ConnectionTest, ReconnectsResubscribesAndDeliversBufferedPublishes) {
  EventLog log;
  ConnectionOptions options = Options();
  log.Attach(options);
  auto connection = ConnectOrFail(options);
  ASSERT_NE(connection, nullptr);
  Collector collector;
  auto sub = connection->Subscribe("survives.restart", collector.Handler());
  ASSERT_TRUE(sub.ok());
  ASSERT_TRUE(connection->Publish("survives.restart", "before").ok());
  ASSERT_TRUE(collector.WaitFor(1));

  server_->Kill();
  ASSERT_TRUE(log.WaitForEvent(ConnectionEvent::kDisconnected));
  EXPECT_EQ(connection->state(), ConnectionState::kReconnecting);
  // Buffered while disconnected, sent after the resubscription.
  ASSERT_TRUE(connection->Publish("survives.restart", "while-down").ok());

  ASSERT_TRUE(server_->Restart().ok());
  ASSERT_TRUE(log.WaitForEvent(ConnectionEvent::kReconnected, 10s));
  ASSERT_TRUE(collector.WaitFor(2));
  EXPECT_EQ(collector.messages()[1].payload, "while-down");
  ASSERT_TRUE(connection->Publish("survives.restart", "after").ok());
  ASSERT_TRUE(collector.WaitFor(3));
  EXPECT_EQ(connection->state(), ConnectionState::kConnected);
  // Requests work over the resubscribed shared inbox too.
  EXPECT_EQ(connection->Request("nobody", "x", 2s).status().code(), StatusCode::kUnavailable);
}

TEST_P(ConnectionTest, ClosesWhenReconnectIsNotAllowed) {
  EventLog log;
  ConnectionOptions options = Options();
  options.allow_reconnect = false;
  log.Attach(options);
  auto connection = ConnectOrFail(options);
  ASSERT_NE(connection, nullptr);
  server_->Kill();
  ASSERT_TRUE(log.WaitForEvent(ConnectionEvent::kClosed));
  EXPECT_EQ(connection->state(), ConnectionState::kClosed);
  EXPECT_EQ(connection->Publish("x", "y").code(), StatusCode::kFailedPrecondition);
}

TEST_P(ConnectionTest, ReportsClosedOnceAndIsIdempotent) {
  EventLog log;
  ConnectionOptions options = Options();
  log.Attach(options);
  auto connection = ConnectOrFail(options);
  ASSERT_NE(connection, nullptr);
  connection->Close();
  connection->Close();
  EXPECT_EQ(connection->state(), ConnectionState::kClosed);
  EXPECT_TRUE(log.WaitForEvent(ConnectionEvent::kClosed));
  int closed = 0;
  for (ConnectionEvent event : log.events()) closed += event == ConnectionEvent::kClosed;
  EXPECT_EQ(closed, 1);
  EXPECT_EQ(connection->Flush(1s).code(), StatusCode::kFailedPrecondition);
}

TEST_P(ConnectionTest, ClosesFromInsideAHandler) {
  EventLog log;
  ConnectionOptions options = Options();
  log.Attach(options);
  auto connection = ConnectOrFail(options);
  ASSERT_NE(connection, nullptr);
  Connection* raw = connection.get();
  auto sub = connection->Subscribe("close.me", [raw](const Message&) { raw->Close(); });
  ASSERT_TRUE(sub.ok());
  ASSERT_TRUE(connection->Publish("close.me", "x").ok());
  ASSERT_TRUE(log.WaitForEvent(ConnectionEvent::kClosed));
  EXPECT_EQ(connection->state(), ConnectionState::kClosed);
  sub->reset();
  connection.reset();  // joins nothing twice, waits for nothing forever
}

TEST_P(ConnectionTest, RejectsInvalidSubjectsAndOversizedPayloads) {
  auto connection = ConnectOrFail();
  ASSERT_NE(connection, nullptr);
  EXPECT_EQ(connection->Publish("bad subject", "x").code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(connection->Publish("wild.*", "x").code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(connection->Subscribe("a..b", [](const Message&) {}).status().code(),
            StatusCode::kInvalidArgument);
  const std::string huge(static_cast<std::size_t>(connection->max_payload()) + 1, 'x');
  EXPECT_EQ(connection->Publish("big", huge).code(), StatusCode::kResourceExhausted);
  EXPECT_TRUE(connection->Flush(kWait).ok());  // still connected
}

TEST_P(ConnectionTest, SubscriptionOutlivesItsConnection) {
  auto connection = ConnectOrFail();
  ASSERT_NE(connection, nullptr);
  auto sub = connection->Subscribe("orphan", [](const Message&) {});
  ASSERT_TRUE(sub.ok());
  connection.reset();
  EXPECT_FALSE((*sub)->Drain(100ms).ok());
  sub->reset();
}

TEST_P(ConnectionTest, CoalescesManyPublishesFromSeveralThreads) {
  auto subscriber = ConnectOrFail();
  auto publisher = ConnectOrFail();
  ASSERT_NE(subscriber, nullptr);
  ASSERT_NE(publisher, nullptr);
  std::atomic<std::size_t> received{0};
  std::promise<void> all_received;
  constexpr std::size_t kThreads = 4;
  constexpr std::size_t kPerThread = 25'000;
  auto sub = subscriber->Subscribe("load", [&](const Message&) {
    if (received.fetch_add(1) + 1 == kThreads * kPerThread) all_received.set_value();
  });
  ASSERT_TRUE(sub.ok());
  ASSERT_TRUE(subscriber->Flush(kWait).ok());
  const auto start = std::chrono::steady_clock::now();
  std::vector<std::thread> threads;
  const std::string payload(16, 'p');
  for (std::size_t t = 0; t < kThreads; ++t) {
    threads.emplace_back([&] {
      for (std::size_t i = 0; i < kPerThread; ++i) {
        if (!publisher->Publish("load", payload).ok()) return;
      }
    });
  }
  for (auto& thread : threads) thread.join();
  ASSERT_TRUE(publisher->Flush(10s).ok());
  const auto published = std::chrono::steady_clock::now();
  ASSERT_EQ(all_received.get_future().wait_for(30s), std::future_status::ready);
  const auto done = std::chrono::steady_clock::now();
  const double publish_seconds = std::chrono::duration<double>(published - start).count();
  const double total_seconds = std::chrono::duration<double>(done - start).count();
  std::printf("[ perf     ] %zu msgs of 16 B: publish+flush %.0f msgs/s, end-to-end %.0f msgs/s\n",
              kThreads * kPerThread, static_cast<double>(kThreads * kPerThread) / publish_seconds,
              static_cast<double>(kThreads * kPerThread) / total_seconds);
  EXPECT_EQ((*sub)->dropped(), 0u);
}

TEST_P(ConnectionTest, AuthenticatesWithUrlCredentials) {
  // A separate server that requires a user; the parameterized one stays open.
  auto secured = GetParam().start_with_auth({"alice", "s3cret", ""});
  ASSERT_TRUE(secured.ok()) << secured.status().ToString();
  const std::string host_port = (*secured)->url().substr(std::string("nats://").size());
  ConnectionOptions options = Options();
  options.urls = {"nats://alice:s3cret@" + host_port};
  auto good = Connection::Connect(options);
  ASSERT_TRUE(good.ok()) << good.status().ToString();
  EXPECT_TRUE((*good)->Flush(kWait).ok());
  options.urls = {"nats://alice:wrong@" + host_port};
  EXPECT_EQ(Connection::Connect(options).status().code(), StatusCode::kUnauthenticated);
  options.urls = {host_port};
  options.user = "alice";
  options.password = "s3cret";
  EXPECT_TRUE(Connection::Connect(options).ok());
}

TEST_P(ConnectionTest, AuthenticatesWithAToken) {
  auto secured = GetParam().start_with_auth({"", "", "t0ken"});
  ASSERT_TRUE(secured.ok()) << secured.status().ToString();
  const std::string host_port = (*secured)->url().substr(std::string("nats://").size());
  ConnectionOptions options = Options();
  options.urls = {"nats://t0ken@" + host_port};
  EXPECT_TRUE(Connection::Connect(options).ok());
  options.urls = {host_port};
  options.token = "t0ken";
  EXPECT_TRUE(Connection::Connect(options).ok());
  options.token = "wrong";
  EXPECT_EQ(Connection::Connect(options).status().code(), StatusCode::kUnauthenticated);
}

INSTANTIATE_TEST_SUITE_P(Servers, ConnectionTest, ::testing::ValuesIn(testing::ServerKindsUnderTest()),
                         testing::ServerKindName);

}  // namespace
}  // namespace embed::client
