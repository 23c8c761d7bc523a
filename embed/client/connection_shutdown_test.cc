// Integration tests of the native driver's shutdown paths (Close, finished
// and drained subscriptions) and of inputs it must refuse, against a real
// server per test. Parameterized over server kinds like connection_test.cc.

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

class ConnectionShutdownTest : public testing::ServerTest {
 protected:
  ConnectionShutdownTest() : ServerTest("embed-client-test") {}
};

TEST_P(ConnectionShutdownTest, CloseStopsTheHandlerBacklogAtOnce) {
  // Regression: the dispatcher read its stop flag once per batch, so Close()
  // ran (or waited for) every handler of the batch in hand.
  auto connection = ConnectOrFail();
  ASSERT_NE(connection, nullptr);
  std::promise<void> open_gate;
  std::shared_future<void> gate_open = open_gate.get_future().share();
  std::promise<void> release;
  std::shared_future<void> released = release.get_future().share();
  std::promise<void> blocked;
  std::atomic<int> gate_calls{0};
  auto gate = connection->Subscribe("backlog.gate", [&](const Message&) {
    if (gate_calls.fetch_add(1) == 0) {
      gate_open.wait();
    } else {
      blocked.set_value();
      released.wait();
    }
  });
  ASSERT_TRUE(gate.ok());
  std::atomic<int> handled{0};
  auto sub = connection->Subscribe("backlog.msgs", [&](const Message&) { handled.fetch_add(1); });
  ASSERT_TRUE(sub.ok());
  ASSERT_TRUE(connection->Publish("backlog.gate", "1").ok());
  ASSERT_TRUE(connection->Publish("backlog.gate", "2").ok());
  for (int i = 0; i < 1000; ++i) ASSERT_TRUE(connection->Publish("backlog.msgs", "x").ok());
  // All queued behind the first gate message, so the dispatcher takes the
  // second gate message and the 1000 in one batch.
  const auto deadline = std::chrono::steady_clock::now() + kWait;
  while ((*sub)->pending_messages() < 1000 && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(1ms);
  }
  ASSERT_EQ((*sub)->pending_messages(), 1000u);
  open_gate.set_value();
  ASSERT_EQ(blocked.get_future().wait_for(kWait), std::future_status::ready);
  std::thread releaser([&] {
    std::this_thread::sleep_for(200ms);
    release.set_value();
  });
  const auto start = std::chrono::steady_clock::now();
  connection->Close();
  const auto elapsed = std::chrono::steady_clock::now() - start;
  const int after_close = handled.load();
  releaser.join();
  std::this_thread::sleep_for(100ms);
  EXPECT_LT(elapsed, 2s);
  EXPECT_EQ(after_close, 0);
  EXPECT_EQ(handled.load(), 0);
}

TEST_P(ConnectionShutdownTest, CloseFlushesQueuedPublishes) {
  // Regression: Close() dropped what was queued when a write was in flight
  // or more than 64 KiB waited.
  auto subscriber = ConnectOrFail();
  ASSERT_NE(subscriber, nullptr);
  Collector collector;
  auto sub = subscriber->Subscribe("close.flush", collector.Handler());
  ASSERT_TRUE(sub.ok());
  ASSERT_TRUE(subscriber->Flush(kWait).ok());
  auto publisher = ConnectOrFail();
  ASSERT_NE(publisher, nullptr);
  constexpr int kCount = 20'000;
  const std::string payload(100, 'p');
  for (int i = 0; i < kCount; ++i) ASSERT_TRUE(publisher->Publish("close.flush", payload).ok());
  publisher->Close();
  EXPECT_TRUE(collector.WaitFor(kCount, 10s)) << collector.size();
}

TEST_P(ConnectionShutdownTest, CloseReturnsPromptlyWhenTheServerStopsReading) {
  // A server that completes the handshake and then never reads: Close() must
  // not block on the full socket.
  const int listener = ::socket(AF_INET, SOCK_STREAM, 0);
  ASSERT_GE(listener, 0);
  const int small = 4096;
  ::setsockopt(listener, SOL_SOCKET, SO_RCVBUF, &small, sizeof(small));
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t length = sizeof(address);
  ASSERT_EQ(::bind(listener, reinterpret_cast<sockaddr*>(&address), sizeof(address)), 0);
  ASSERT_EQ(::listen(listener, 8), 0);
  ASSERT_EQ(::getsockname(listener, reinterpret_cast<sockaddr*>(&address), &length), 0);
  std::promise<void> done;
  std::shared_future<void> is_done = done.get_future().share();
  std::thread server([&] {
    const int client = ::accept(listener, nullptr, nullptr);
    if (client < 0) return;
    const std::string info =
        "INFO {\"server_id\":\"STUCK\",\"version\":\"2.10.0\",\"proto\":1,\"headers\":true,"
        "\"max_payload\":1048576}\r\n";
    (void)::write(client, info.data(), info.size());
    std::string seen;
    char buffer[1024];
    while (seen.find("PING\r\n") == std::string::npos) {
      const ssize_t n = ::read(client, buffer, sizeof(buffer));
      if (n <= 0) break;
      seen.append(buffer, static_cast<std::size_t>(n));
    }
    (void)::write(client, "PONG\r\n", 6);
    is_done.wait();  // never reads again
    ::close(client);
  });
  ConnectionOptions options = Options();
  options.urls = {"127.0.0.1:" + std::to_string(ntohs(address.sin_port))};
  auto connection = ConnectOrFail(options);
  if (connection != nullptr) {
    const std::string payload(1024, 'p');
    for (int i = 0; i < 4000; ++i) ASSERT_TRUE(connection->Publish("stuck", payload).ok());
    const auto start = std::chrono::steady_clock::now();
    connection->Close();
    EXPECT_LT(std::chrono::steady_clock::now() - start, 2500ms);
  }
  done.set_value();
  server.join();
  ::close(listener);
}

// A subscription with AutoUnsubscribe(3) whose handler blocks on its first
// message until release() is called, with the other two queued behind it and
// the subscription already finished (is_valid() false) on the I/O side.
struct FinishedSubscription {
  std::promise<void> release_promise;
  std::shared_future<void> released = release_promise.get_future().share();
  std::promise<void> entered;
  std::atomic<int> handled{0};
  std::unique_ptr<Subscription> subscription;

  void release() { release_promise.set_value(); }
};

// Fills `finished` on `connection`; fails the test when a step does not happen.
void StartFinishedSubscription(Connection& connection, const std::string& subject,
                               FinishedSubscription& finished) {
  auto sub = connection.Subscribe(subject, [&finished](const Message&) {
    if (finished.handled.fetch_add(1) == 0) {
      finished.entered.set_value();
      finished.released.wait();
    }
  });
  ASSERT_TRUE(sub.ok());
  finished.subscription = std::move(sub).value();
  ASSERT_TRUE(finished.subscription->AutoUnsubscribe(3).ok());
  for (int i = 0; i < 3; ++i) ASSERT_TRUE(connection.Publish(subject, "x").ok());
  ASSERT_EQ(finished.entered.get_future().wait_for(kWait), std::future_status::ready);
  const auto deadline = std::chrono::steady_clock::now() + kWait;
  while (finished.subscription->is_valid() && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(1ms);
  }
  ASSERT_FALSE(finished.subscription->is_valid());
}

TEST_P(ConnectionShutdownTest, DestroyingAFinishedSubscriptionStopsItsQueuedMessages) {
  // Regression: the destructor did nothing once is_valid() was false (max
  // reached), so queued messages still reached the handler.
  auto connection = ConnectOrFail();
  ASSERT_NE(connection, nullptr);
  Collector marker;
  auto marker_sub = connection->Subscribe("finished.marker", marker.Handler());
  ASSERT_TRUE(marker_sub.ok());
  FinishedSubscription finished;
  StartFinishedSubscription(*connection, "finished.sub", finished);
  if (HasFatalFailure()) return;
  finished.subscription.reset();
  ASSERT_TRUE(connection->Publish("finished.marker", "m").ok());
  finished.release();
  ASSERT_TRUE(marker.WaitFor(1));  // FIFO: the queued ones came before it
  EXPECT_EQ(finished.handled.load(), 1);
}

TEST_P(ConnectionShutdownTest, UnsubscribeOfAFinishedSubscriptionStopsItsQueuedMessages) {
  auto connection = ConnectOrFail();
  ASSERT_NE(connection, nullptr);
  Collector marker;
  auto marker_sub = connection->Subscribe("finished.marker2", marker.Handler());
  ASSERT_TRUE(marker_sub.ok());
  FinishedSubscription finished;
  StartFinishedSubscription(*connection, "finished.unsub", finished);
  if (HasFatalFailure()) return;
  const Status status = finished.subscription->Unsubscribe();
  EXPECT_TRUE(status.ok() || status.code() == StatusCode::kFailedPrecondition);
  ASSERT_TRUE(connection->Publish("finished.marker2", "m").ok());
  finished.release();
  ASSERT_TRUE(marker.WaitFor(1));
  EXPECT_EQ(finished.handled.load(), 1);
}

TEST_P(ConnectionShutdownTest, DrainingASubscriptionFromItsHandlerFailsAtOnce) {
  auto connection = ConnectOrFail();
  ASSERT_NE(connection, nullptr);
  std::atomic<Subscription*> self{nullptr};
  std::promise<Status> drained;
  std::atomic<bool> once{false};
  auto sub = connection->Subscribe("drain.self", [&](const Message&) {
    if (once.exchange(true)) return;
    const auto start = std::chrono::steady_clock::now();
    Status status = self.load()->Drain(5s);
    if (std::chrono::steady_clock::now() - start > 1s) status = TimeoutError("slow");
    drained.set_value(status);
  });
  ASSERT_TRUE(sub.ok());
  self = sub->get();
  ASSERT_TRUE(connection->Publish("drain.self", "x").ok());
  auto future = drained.get_future();
  ASSERT_EQ(future.wait_for(10s), std::future_status::ready);
  EXPECT_EQ(future.get().code(), StatusCode::kFailedPrecondition);
}

TEST_P(ConnectionShutdownTest, RejectsAHeaderKeyThatWouldInjectLines) {
  auto connection = ConnectOrFail();
  ASSERT_NE(connection, nullptr);
  Message message;
  message.subject = "hdr.bad";
  message.headers.Add("Key\r\nInjected", "v");
  EXPECT_EQ(connection->Publish(message).code(), StatusCode::kInvalidArgument);
  Message spaced;
  spaced.subject = "hdr.bad";
  spaced.headers.Add("A B", "v");
  EXPECT_EQ(connection->Publish(spaced).code(), StatusCode::kInvalidArgument);
}

// Probes the connection from another thread while the logger runs: a
// logger called with the connection's lock held blocks the probe.
class ProbingLogger final : public Logger {
 public:
  // A test that fails early still joins the probes (a joinable thread's
  // destructor would terminate the whole test binary).
  ~ProbingLogger() override {
    set_connection(nullptr);
    JoinProbes();
  }
  void Log(LogLevel, std::string_view) override {
    Connection* connection = connection_.load();
    if (connection == nullptr) return;
    auto answered = std::make_shared<std::promise<void>>();
    auto future = answered->get_future();
    std::lock_guard<std::mutex> lock(mutex_);
    probes_.emplace_back([connection, answered] {
      (void)connection->state();
      answered->set_value();
    });
    if (future.wait_for(1s) != std::future_status::ready) blocked_ = true;
    ++logged_;
  }
  bool IsEnabled(LogLevel) const override { return true; }
  void set_connection(Connection* connection) { connection_ = connection; }
  void JoinProbes() {
    std::lock_guard<std::mutex> lock(mutex_);
    for (std::thread& probe : probes_) probe.join();
    probes_.clear();
  }
  bool blocked() const { return blocked_.load(); }
  int logged() const { return logged_.load(); }

 private:
  std::atomic<Connection*> connection_{nullptr};
  std::mutex mutex_;
  std::vector<std::thread> probes_;
  std::atomic<bool> blocked_{false};
  std::atomic<int> logged_{0};
};

TEST_P(ConnectionShutdownTest, CallsTheLoggerWithoutHoldingItsLock) {
  ProbingLogger logger;
  EventLog log;
  ConnectionOptions options = Options();
  options.logger = &logger;
  log.Attach(options);
  auto connection = ConnectOrFail(options);
  ASSERT_NE(connection, nullptr);
  logger.set_connection(connection.get());
  server_->Kill();
  ASSERT_TRUE(log.WaitForEvent(ConnectionEvent::kDisconnected));
  ASSERT_TRUE(server_->Restart().ok());
  ASSERT_TRUE(log.WaitForEvent(ConnectionEvent::kReconnected, 10s));
  logger.set_connection(nullptr);
  logger.JoinProbes();
  EXPECT_GT(logger.logged(), 0);
  EXPECT_FALSE(logger.blocked());
  connection->Close();
}

INSTANTIATE_TEST_SUITE_P(Servers, ConnectionShutdownTest, ::testing::ValuesIn(testing::ServerKindsUnderTest()),
                         testing::ServerKindName);

}  // namespace
}  // namespace embed::client
