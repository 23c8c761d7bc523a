// Unary calls through the broker: results, every status path, deadlines,
// metadata, queue-group balancing, host limits and the NATS service API.

#include <atomic>
#include <future>
#include <mutex>
#include <stdexcept>
#include <thread>

#include <gmock/gmock.h>

#include "embed/rpc/micro.h"
#include "tests/integration/rpc_test_util.h"

namespace embed::rpc::testing {
namespace {

using std::chrono::milliseconds;
using Clock = std::chrono::steady_clock;
using ::testing::HasSubstr;

// svc.v1.Test with raw-bytes methods.
class TestService : public DynamicService {
 public:
  TestService() : DynamicService("svc.v1.Test") {
    AddUnary({"Echo", MethodKind::kUnary, "svc.v1.Bytes", "svc.v1.Bytes"},
             [this](ServerContext& context, std::string_view request, std::string* response) {
               ++calls;
               std::lock_guard lock(mutex);
               last_metadata = std::string(context.metadata().Get("X-User"));
               *response = std::string(request);
               return RpcStatus::Ok();
             });
    AddUnary({"Fail", MethodKind::kUnary, "svc.v1.Bytes", "svc.v1.Bytes"},
             [](ServerContext&, std::string_view request, std::string*) {
               return RpcStatus(RpcCode::kNotFound, "no user " + std::string(request));
             });
    AddUnary({"Slow", MethodKind::kUnary, "svc.v1.Bytes", "svc.v1.Bytes"},
             [this](ServerContext& context, std::string_view, std::string*) {
               slow_started.store(true);
               bool cancelled = context.WaitForCancellation(milliseconds(5'000));
               slow_cancelled_at.store(Clock::now().time_since_epoch().count());
               slow_saw_cancel.store(cancelled);
               return RpcStatus::Ok();
             });
    AddUnary({"Throw", MethodKind::kUnary, "svc.v1.Bytes", "svc.v1.Bytes"},
             [](ServerContext&, std::string_view, std::string*) -> RpcStatus {
               throw std::runtime_error("boom");
             });
    AddServerStreaming({"Stream", MethodKind::kServerStreaming, "svc.v1.Bytes", "svc.v1.Bytes"},
                       [](ServerContext&, std::string_view, ServerStream&) {
                         return RpcStatus::Ok();
                       });
  }
  std::atomic<int> calls{0};
  std::mutex mutex;
  std::string last_metadata;  // guarded by mutex
  std::atomic<bool> slow_started{false};
  std::atomic<bool> slow_saw_cancel{false};
  std::atomic<Clock::rep> slow_cancelled_at{0};
};

class RpcUnaryTest : public RpcFixture {};

TEST_F(RpcUnaryTest, EchoesAndPassesMetadata) {
  TestService& service = Make<TestService>();
  Serve(service);
  Channel channel(Connect());
  CallOptions options;
  options.metadata.Add("X-User", "ada");
  std::string response;
  RpcStatus status = channel.CallUnary("svc.v1.Test.Echo", "hello", &response, options);
  ASSERT_TRUE(status.ok()) << status.ToString();
  EXPECT_EQ(response, "hello");
  {
    std::lock_guard lock(service.mutex);
    EXPECT_EQ(service.last_metadata, "ada");
  }
  // Binary payloads, empty payloads.
  std::string binary("\0\1\2\r\n", 5);
  ASSERT_TRUE(channel.CallUnary("svc.v1.Test.Echo", binary, &response).ok());
  EXPECT_EQ(response, binary);
  ASSERT_TRUE(channel.CallUnary("svc.v1.Test.Echo", "", &response).ok());
  EXPECT_EQ(response, "");
}

TEST_F(RpcUnaryTest, HandlerStatusReachesTheCaller) {
  TestService& service = Make<TestService>();
  Serve(service);
  Channel channel(Connect());
  std::string response = "stale";
  RpcStatus status = channel.CallUnary("svc.v1.Test.Fail", "bob", &response);
  EXPECT_EQ(status, RpcStatus(RpcCode::kNotFound, "no user bob"));
  EXPECT_EQ(response, "");
}

TEST_F(RpcUnaryTest, AThrowingHandlerIsInternalAndTheHostGoesOn) {
  TestService& service = Make<TestService>();
  Serve(service);
  Channel channel(Connect());
  std::string response;
  RpcStatus status = channel.CallUnary("svc.v1.Test.Throw", "x", &response);
  EXPECT_EQ(status.code(), RpcCode::kInternal) << status.ToString();
  EXPECT_THAT(status.message(), HasSubstr("boom"));
  EXPECT_TRUE(channel.CallUnary("svc.v1.Test.Echo", "after", &response).ok());
  EXPECT_EQ(response, "after");
}

TEST_F(RpcUnaryTest, NoServiceIsUnavailable) {
  Channel channel(Connect());
  std::string response;
  RpcStatus status = channel.CallUnary("svc.v1.Test.Echo", "x", &response);
  EXPECT_EQ(status.code(), RpcCode::kUnavailable) << status.ToString();
  EXPECT_THAT(status.message(), HasSubstr("svc.v1.Test.Echo"));
}

TEST_F(RpcUnaryTest, UnknownMethodIsUnimplemented) {
  TestService& service = Make<TestService>();
  Serve(service);
  Channel channel(Connect());
  std::string response;
  RpcStatus status = channel.CallUnary("svc.v1.Test.Nope", "x", &response);
  EXPECT_EQ(status.code(), RpcCode::kUnimplemented) << status.ToString();
  EXPECT_THAT(status.message(), HasSubstr("Nope"));
  // A streaming method called as unary.
  status = channel.CallUnary("svc.v1.Test.Stream", "x", &response);
  EXPECT_EQ(status.code(), RpcCode::kUnimplemented) << status.ToString();
  EXPECT_THAT(status.message(), HasSubstr("server_streaming"));
}

TEST_F(RpcUnaryTest, BadCallsFailLocally) {
  Channel channel(Connect());
  std::string response;
  CallOptions reserved;
  reserved.metadata.Add("Embed-Timeout", "1");
  EXPECT_EQ(channel.CallUnary("svc.v1.Test.Echo", "x", &response, reserved).code(),
            RpcCode::kInvalidArgument);
  EXPECT_EQ(channel.CallUnary("svc.*.Echo", "x", &response).code(), RpcCode::kInvalidArgument);
  EXPECT_EQ(channel.CallUnary("", "x", &response).code(), RpcCode::kInvalidArgument);
}

TEST_F(RpcUnaryTest, DeadlineStopsTheCallerAndTheServer) {
  TestService& service = Make<TestService>();
  Serve(service);
  Channel channel(Connect());
  CallOptions options;
  options.timeout = milliseconds(150);
  std::string response;
  Clock::time_point start = Clock::now();
  RpcStatus status = channel.CallUnary("svc.v1.Test.Slow", "x", &response, options);
  Clock::duration waited = Clock::now() - start;
  EXPECT_EQ(status.code(), RpcCode::kDeadlineExceeded) << status.ToString();
  EXPECT_GE(waited, milliseconds(140));
  EXPECT_LT(waited, milliseconds(1'500));
  // The handler saw its context cancelled at the deadline, not after its 5 s wait.
  for (int i = 0; i < 200 && service.slow_cancelled_at.load() == 0; ++i) {
    std::this_thread::sleep_for(milliseconds(10));
  }
  ASSERT_TRUE(service.slow_started.load());
  EXPECT_TRUE(service.slow_saw_cancel.load());
  Clock::time_point cancelled_at{Clock::duration(service.slow_cancelled_at.load())};
  EXPECT_LT(cancelled_at - start, milliseconds(1'500));
}

TEST_F(RpcUnaryTest, AsyncCallsWithManyInFlight) {
  TestService& service = Make<TestService>();
  Serve(service);
  Channel channel(Connect());
  constexpr int kCalls = 500;
  std::atomic<int> ok{0};
  std::atomic<int> done{0};
  std::promise<void> all;
  for (int i = 0; i < kCalls; ++i) {
    std::string request = "m" + std::to_string(i);
    channel.CallUnaryAsync("svc.v1.Test.Echo", request, {},
                           [&, request](RpcStatus status, std::string response) {
                             if (status.ok() && response == request) ++ok;
                             if (++done == kCalls) all.set_value();
                           });
  }
  ASSERT_EQ(all.get_future().wait_for(std::chrono::seconds(10)), std::future_status::ready);
  EXPECT_EQ(ok.load(), kCalls);
}

TEST_F(RpcUnaryTest, ClosingTheChannelCancelsPendingCalls) {
  TestService& service = Make<TestService>();
  Serve(service);
  auto channel = std::make_unique<Channel>(Connect());
  std::promise<RpcStatus> result;
  channel->CallUnaryAsync("svc.v1.Test.Slow", "x", {},
                          [&](RpcStatus status, std::string) { result.set_value(status); });
  for (int i = 0; i < 200 && !service.slow_started.load(); ++i) {
    std::this_thread::sleep_for(milliseconds(5));
  }
  channel.reset();
  auto future = result.get_future();
  ASSERT_EQ(future.wait_for(std::chrono::seconds(1)), std::future_status::ready);
  EXPECT_EQ(future.get().code(), RpcCode::kCancelled);
}

TEST_F(RpcUnaryTest, QueueGroupSharesCallsAmongInstances) {
  TestService& first = Make<TestService>();
  TestService& second = Make<TestService>();
  Serve(first);
  Serve(second);
  Channel channel(Connect());
  constexpr int kCalls = 400;
  for (int i = 0; i < kCalls; ++i) {
    std::string response;
    ASSERT_TRUE(channel.CallUnary("svc.v1.Test.Echo", "x", &response).ok());
  }
  EXPECT_EQ(first.calls + second.calls, kCalls);  // each call served once
  EXPECT_GT(first.calls.load(), kCalls / 4);
  EXPECT_GT(second.calls.load(), kCalls / 4);
}

TEST_F(RpcUnaryTest, BusyHostRefusesWithResourceExhausted) {
  TestService& service = Make<TestService>();
  ServiceHostOptions options;
  options.max_threads = 1;
  options.max_queued_calls = 1;
  Serve(service, options);
  Channel channel(Connect());
  CallOptions short_call;
  short_call.timeout = milliseconds(1'000);
  std::vector<std::promise<RpcStatus>> results(3);
  channel.CallUnaryAsync("svc.v1.Test.Slow", "1", short_call,
                         [&](RpcStatus s, std::string) { results[0].set_value(s); });
  for (int i = 0; i < 200 && !service.slow_started.load(); ++i) {
    std::this_thread::sleep_for(milliseconds(5));
  }
  channel.CallUnaryAsync("svc.v1.Test.Slow", "2", short_call,
                         [&](RpcStatus s, std::string) { results[1].set_value(s); });
  std::this_thread::sleep_for(milliseconds(50));
  channel.CallUnaryAsync("svc.v1.Test.Slow", "3", short_call,
                         [&](RpcStatus s, std::string) { results[2].set_value(s); });
  RpcStatus third = results[2].get_future().get();
  EXPECT_EQ(third.code(), RpcCode::kResourceExhausted) << third.ToString();
  EXPECT_EQ(results[0].get_future().get().code(), RpcCode::kDeadlineExceeded);
  results[1].get_future().get().IgnoreError();
}

TEST_F(RpcUnaryTest, StoppedHostAnswersNoMore) {
  TestService& service = Make<TestService>();
  ServiceHost& host = Serve(service);
  Channel channel(Connect());
  std::string response;
  ASSERT_TRUE(channel.CallUnary("svc.v1.Test.Echo", "x", &response).ok());
  host.Stop();
  EXPECT_EQ(channel.CallUnary("svc.v1.Test.Echo", "x", &response).code(), RpcCode::kUnavailable);
  EXPECT_EQ(host.AddService(service).code(), StatusCode::kFailedPrecondition);
}

TEST_F(RpcUnaryTest, RejectsBadServiceOptions) {
  TestService& service = Make<TestService>();
  ServiceHost host(Connect());
  ServiceOptions bad_version;
  bad_version.version = "1.0";
  EXPECT_EQ(host.AddService(service, bad_version).code(), StatusCode::kInvalidArgument);
  ServiceOptions bad_name;
  bad_name.micro_name = "has space";
  EXPECT_EQ(host.AddService(service, bad_name).code(), StatusCode::kInvalidArgument);
  ASSERT_TRUE(host.AddService(service).ok());
  EXPECT_EQ(host.AddService(service).code(), StatusCode::kAlreadyExists);
}

TEST_F(RpcUnaryTest, AnswersTheNatsServiceApi) {
  TestService& service = Make<TestService>();
  ServiceOptions options;
  options.version = "2.1.0";
  options.description = "test service";
  ServiceHost& host = Serve(service, {}, options);
  client::Connection& caller = Connect();
  Channel channel(caller);
  std::string response;
  ASSERT_TRUE(channel.CallUnary("svc.v1.Test.Echo", "x", &response).ok());
  EXPECT_EQ(channel.CallUnary("svc.v1.Test.Fail", "y", &response).code(), RpcCode::kNotFound);

  auto ping = caller.Request("$SRV.PING.svc_v1_Test", "", milliseconds(1'000));
  ASSERT_TRUE(ping.ok()) << ping.status().ToString();
  auto identity = micro::ParsePingResponse(ping->payload);
  ASSERT_TRUE(identity.ok()) << identity.status().ToString();
  EXPECT_EQ(identity->name, "svc_v1_Test");
  EXPECT_EQ(identity->id, host.id());
  EXPECT_EQ(identity->version, "2.1.0");

  auto info = caller.Request("$SRV.INFO.svc_v1_Test." + host.id(), "", milliseconds(1'000));
  ASSERT_TRUE(info.ok());
  auto parsed_info = micro::ParseInfoResponse(info->payload);
  ASSERT_TRUE(parsed_info.ok()) << parsed_info.status().ToString();
  EXPECT_EQ(parsed_info->description, "test service");
  EXPECT_EQ(parsed_info->service.metadata.at("embed.service"), "svc.v1.Test");
  ASSERT_EQ(parsed_info->endpoints.size(), 5u);
  EXPECT_EQ(parsed_info->endpoints[0].subject, "svc.v1.Test.Echo");
  EXPECT_EQ(parsed_info->endpoints[0].queue_group, "svc_v1_Test");
  EXPECT_EQ(parsed_info->endpoints[4].metadata.at("embed.kind"), "server_streaming");

  auto stats = caller.Request("$SRV.STATS", "", milliseconds(1'000));
  ASSERT_TRUE(stats.ok());
  auto parsed_stats = micro::ParseStatsResponse(stats->payload);
  ASSERT_TRUE(parsed_stats.ok()) << parsed_stats.status().ToString();
  ASSERT_EQ(parsed_stats->endpoints.size(), 5u);
  EXPECT_EQ(parsed_stats->endpoints[0].num_requests, 1u);
  EXPECT_EQ(parsed_stats->endpoints[1].num_requests, 1u);
  EXPECT_EQ(parsed_stats->endpoints[1].num_errors, 1u);
  EXPECT_EQ(parsed_stats->endpoints[1].last_error, "5:no user y");
}

}  // namespace
}  // namespace embed::rpc::testing
