#include "embed/net/inproc/in_process.h"

#include <atomic>
#include <chrono>
#include <future>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include <boost/asio/error.hpp>
#include <boost/asio/io_context.hpp>
#include <gtest/gtest.h>

namespace embed::net {
namespace {

using boost::system::error_code;

TEST(InProcessTest, DialReachesTheRegisteredAcceptor) {
  boost::asio::io_context server_context;
  boost::asio::io_context client_context;
  std::vector<PipeStream> accepted;
  auto registration = RegisterInProcess(
      "dial-test", [&]() -> boost::asio::io_context& { return server_context; },
      [&](PipeStream server_end) { accepted.push_back(std::move(server_end)); });
  ASSERT_TRUE(registration.ok()) << registration.status().ToString();
  EXPECT_EQ((*registration)->name(), "dial-test");

  auto client = DialInProcess("dial-test", client_context);
  ASSERT_TRUE(client.ok()) << client.status().ToString();
  ASSERT_EQ(accepted.size(), 1u);
  EXPECT_EQ(client->get_executor(), client_context.get_executor());
  EXPECT_EQ(accepted[0].get_executor(), server_context.get_executor());

  error_code send_error;
  ASSERT_EQ(client->TrySendNow("CONNECT {}\r\n", 12, send_error), 12u);
  char out[32];
  error_code read_error;
  std::size_t count = accepted[0].ReadSome(boost::asio::buffer(out), read_error);
  EXPECT_EQ(std::string(out, count), "CONNECT {}\r\n");
  ASSERT_EQ(accepted[0].TrySendNow("+OK\r\n", 5, send_error), 5u);
  count = client->ReadSome(boost::asio::buffer(out), read_error);
  EXPECT_EQ(std::string(out, count), "+OK\r\n");
}

TEST(InProcessTest, DuplicateNameIsAlreadyExists) {
  boost::asio::io_context context;
  auto pick = [&]() -> boost::asio::io_context& { return context; };
  auto first = RegisterInProcess("dup", pick, [](PipeStream) {});
  ASSERT_TRUE(first.ok());
  auto second = RegisterInProcess("dup", pick, [](PipeStream) {});
  ASSERT_FALSE(second.ok());
  EXPECT_EQ(second.status().code(), StatusCode::kAlreadyExists);
  // Free again once the first registration is gone.
  first = Status(CancelledError("dropped"));
  auto third = RegisterInProcess("dup", pick, [](PipeStream) {});
  EXPECT_TRUE(third.ok());
}

TEST(InProcessTest, EmptyNameIsInvalid) {
  boost::asio::io_context context;
  auto registration = RegisterInProcess(
      "", [&]() -> boost::asio::io_context& { return context; }, [](PipeStream) {});
  ASSERT_FALSE(registration.ok());
  EXPECT_EQ(registration.status().code(), StatusCode::kInvalidArgument);
}

TEST(InProcessTest, UnknownOrUnregisteredNameIsUnavailable) {
  boost::asio::io_context context;
  auto unknown = DialInProcess("nobody-here", context);
  ASSERT_FALSE(unknown.ok());
  EXPECT_EQ(unknown.status().code(), StatusCode::kUnavailable);

  int accepts = 0;
  {
    auto registration = RegisterInProcess(
        "short-lived", [&]() -> boost::asio::io_context& { return context; },
        [&](PipeStream) { ++accepts; });
    ASSERT_TRUE(registration.ok());
    EXPECT_TRUE(DialInProcess("short-lived", context).ok());
  }
  auto after = DialInProcess("short-lived", context);
  ASSERT_FALSE(after.ok());
  EXPECT_EQ(after.status().code(), StatusCode::kUnavailable);
  EXPECT_EQ(accepts, 1);
}

TEST(InProcessTest, UnregisterWaitsForAnAcceptInProgress) {
  boost::asio::io_context context;
  std::promise<void> accept_entered;
  std::promise<void> release_accept;
  std::shared_future<void> released = release_accept.get_future().share();
  std::atomic<bool> accept_returned{false};
  auto registration = RegisterInProcess(
      "slow-accept", [&]() -> boost::asio::io_context& { return context; },
      [&](PipeStream) {
        accept_entered.set_value();
        released.wait();
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
        accept_returned = true;
      });
  ASSERT_TRUE(registration.ok());
  std::thread dialer([&] { EXPECT_TRUE(DialInProcess("slow-accept", context).ok()); });
  accept_entered.get_future().wait();

  std::atomic<bool> unregistered{false};
  std::thread unregisterer([&] {
    registration = Status(CancelledError("unregister"));
    unregistered = true;
  });
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
  EXPECT_FALSE(unregistered) << "unregistering returned while on_accept was running";
  release_accept.set_value();
  unregisterer.join();
  dialer.join();
  EXPECT_TRUE(accept_returned);
  EXPECT_TRUE(unregistered);
  // No new dial reaches the old acceptor.
  EXPECT_EQ(DialInProcess("slow-accept", context).status().code(), StatusCode::kUnavailable);
}

TEST(InProcessTest, ConcurrentDialsAndRegistrationsAreSafe) {
  boost::asio::io_context context;
  std::atomic<int> accepts{0};
  std::atomic<bool> stop{false};
  std::thread churn([&] {
    while (!stop) {
      auto registration = RegisterInProcess(
          "churn", [&]() -> boost::asio::io_context& { return context; },
          [&](PipeStream) { ++accepts; });
      std::this_thread::yield();
    }
  });
  int dialed = 0;
  for (int i = 0; i < 2000; ++i) {
    auto client = DialInProcess("churn", context);
    if (client.ok()) {
      ++dialed;
    } else {
      EXPECT_EQ(client.status().code(), StatusCode::kUnavailable);
    }
  }
  stop = true;
  churn.join();
  EXPECT_EQ(accepts.load(), dialed);
}

}  // namespace
}  // namespace embed::net
