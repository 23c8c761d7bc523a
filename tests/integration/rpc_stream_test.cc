// Streaming calls through the broker: the three streaming kinds, errors
// mid-stream, flow control, cancellation, deadlines and vanished peers.

#include <atomic>
#include <future>
#include <optional>
#include <mutex>
#include <deque>
#include <condition_variable>
#include <thread>

#include <gmock/gmock.h>

#include "embed/rpc/internal/frames.h"
#include "embed/rpc/micro.h"
#include "tests/integration/rpc_test_util.h"

namespace embed::rpc::testing {
namespace {

using std::chrono::milliseconds;
using Clock = std::chrono::steady_clock;
using ::testing::HasSubstr;

// svc.v1.Streams: raw-bytes streaming methods.
class StreamService : public DynamicService {
 public:
  StreamService() : DynamicService("svc.v1.Streams") {
    // Sends `request` (a count) numbered messages.
    AddServerStreaming({"Count", MethodKind::kServerStreaming, "", ""},
                       [this](ServerContext&, std::string_view request, ServerStream& stream) {
                         int count = std::stoi(std::string(request));
                         for (int i = 0; i < count; ++i) {
                           RpcStatus written = stream.Write(std::to_string(i));
                           if (!written.ok()) return written;
                           ++written_count;
                         }
                         return RpcStatus::Ok();
                       });
    // Writes until the call is over; records why.
    AddServerStreaming({"Forever", MethodKind::kServerStreaming, "", ""},
                       [this](ServerContext& context, std::string_view, ServerStream& stream) {
                         started.store(true);
                         while (true) {
                           RpcStatus written = stream.Write(std::string(1024, 'f'));
                           if (!written.ok()) break;
                           ++written_count;
                         }
                         ended_with.set_value(context.cancellation());
                         return RpcStatus::Ok();
                       });
    // Reads two messages, then answers OK without reading the rest.
    AddClientStreaming({"TakeTwo", MethodKind::kClientStreaming, "", ""},
                       [](ServerContext&, ServerStream& stream, std::string* response) {
                         std::string message;
                         for (int i = 0; i < 2 && stream.Read(&message); ++i) *response += message;
                         return RpcStatus::Ok();
                       });
    // Five messages, then NOT_FOUND.
    AddServerStreaming({"FailAfterFive", MethodKind::kServerStreaming, "", ""},
                       [](ServerContext&, std::string_view, ServerStream& stream) {
                         for (int i = 0; i < 5; ++i) stream.Write("m").IgnoreError();
                         return RpcStatus(RpcCode::kNotFound, "ran out");
                       });
    // Sums the numbers sent.
    AddClientStreaming({"Sum", MethodKind::kClientStreaming, "", ""},
                       [](ServerContext&, ServerStream& stream, std::string* response) {
                         long long sum = 0;
                         int count = 0;
                         std::string message;
                         while (stream.Read(&message)) {
                           sum += std::stoll(message);
                           ++count;
                         }
                         *response = std::to_string(count) + ":" + std::to_string(sum);
                         return RpcStatus::Ok();
                       });
    // Echoes every message, upper-cased marker in front.
    AddBidiStreaming({"Echo", MethodKind::kBidiStreaming, "", ""},
                     [this](ServerContext& context, ServerStream& stream) {
                       started.store(true);
                       std::string message;
                       while (stream.Read(&message)) {
                         RpcStatus written = stream.Write("echo:" + message);
                         if (!written.ok()) return written;
                       }
                       if (context.IsCancelled()) ended_with.set_value(context.cancellation());
                       return RpcStatus::Ok();
                     });
  }
  std::atomic<int> written_count{0};
  std::atomic<bool> started{false};
  std::promise<RpcStatus> ended_with;
};

class RpcStreamTest : public RpcFixture {
 protected:
  // How the service's handler saw its call end; nullopt if it did not within `wait`.
  static std::optional<RpcCode> EndedWith(StreamService& service,
                                          std::chrono::seconds wait = std::chrono::seconds(2)) {
    auto ended = service.ended_with.get_future();
    if (ended.wait_for(wait) != std::future_status::ready) return std::nullopt;
    return ended.get().code();
  }
  void WaitStarted(StreamService& service) {
    for (int i = 0; i < 400 && !service.started.load(); ++i) {
      std::this_thread::sleep_for(milliseconds(5));
    }
    ASSERT_TRUE(service.started.load());
  }
};

TEST_F(RpcStreamTest, ServerStreamingDeliversEverythingInOrder) {
  StreamService& service = Make<StreamService>();
  Serve(service);
  Channel channel(Connect());
  auto stream = channel.OpenStream("svc.v1.Streams.Count", MethodKind::kServerStreaming, "2000");
  std::string message;
  int expected = 0;
  while (stream->Read(&message)) {
    ASSERT_EQ(message, std::to_string(expected));
    ++expected;
  }
  EXPECT_EQ(expected, 2000);
  EXPECT_TRUE(stream->Finish().ok()) << stream->Finish().ToString();
}

TEST_F(RpcStreamTest, ClientStreamingSumsEverything) {
  StreamService& service = Make<StreamService>();
  Serve(service);
  Channel channel(Connect());
  auto stream = channel.OpenStream("svc.v1.Streams.Sum", MethodKind::kClientStreaming, "");
  long long sum = 0;
  for (int i = 1; i <= 1000; ++i) {
    ASSERT_TRUE(stream->Write(std::to_string(i)).ok());
    sum += i;
  }
  ASSERT_TRUE(stream->WritesDone().ok());
  std::string response;
  ASSERT_TRUE(stream->Read(&response));
  EXPECT_EQ(response, "1000:" + std::to_string(sum));
  EXPECT_FALSE(stream->Read(&response));
  EXPECT_TRUE(stream->Finish().ok());
}

TEST_F(RpcStreamTest, BidiStreamingEchoesInOrder) {
  StreamService& service = Make<StreamService>();
  Serve(service);
  Channel channel(Connect());
  auto stream = channel.OpenStream("svc.v1.Streams.Echo", MethodKind::kBidiStreaming, "");
  // Interleaved, then a burst larger than the window.
  std::string message;
  for (int i = 0; i < 10; ++i) {
    ASSERT_TRUE(stream->Write("a" + std::to_string(i)).ok());
    ASSERT_TRUE(stream->Read(&message));
    EXPECT_EQ(message, "echo:a" + std::to_string(i));
  }
  std::thread writer([&] {
    for (int i = 0; i < 500; ++i) ASSERT_TRUE(stream->Write("b" + std::to_string(i)).ok());
    ASSERT_TRUE(stream->WritesDone().ok());
  });
  for (int i = 0; i < 500; ++i) {
    ASSERT_TRUE(stream->Read(&message));
    ASSERT_EQ(message, "echo:b" + std::to_string(i));
  }
  writer.join();
  EXPECT_FALSE(stream->Read(&message));
  EXPECT_TRUE(stream->Finish().ok());
}

TEST_F(RpcStreamTest, FinishBeforeReadingEverythingDropsTheRest) {
  StreamService& service = Make<StreamService>();
  Serve(service);
  ChannelOptions options;
  options.stream_window = 16;
  Channel channel(Connect(), options);
  auto stream = channel.OpenStream("svc.v1.Streams.Count", MethodKind::kServerStreaming, "5000");
  std::string message;
  for (int i = 0; i < 3; ++i) ASSERT_TRUE(stream->Read(&message));
  // The server is far from done and blocked on the window: Finish() credits
  // what it drops, so the server can finish.
  EXPECT_TRUE(stream->Finish().ok());
  EXPECT_EQ(service.written_count.load(), 5000);
}

TEST_F(RpcStreamTest, AServerMayAnswerAClientStreamEarly) {
  StreamService& service = Make<StreamService>();
  Serve(service);
  Channel channel(Connect());
  auto stream = channel.OpenStream("svc.v1.Streams.TakeTwo", MethodKind::kClientStreaming, "");
  for (int i = 0; i < 2; ++i) ASSERT_TRUE(stream->Write(std::to_string(i)).ok());
  std::string response;
  ASSERT_TRUE(stream->Read(&response));  // the answer came before WritesDone
  EXPECT_EQ(response, "01");
  EXPECT_TRUE(stream->WritesDone().ok());
  EXPECT_TRUE(stream->Finish().ok());
}

TEST_F(RpcStreamTest, CancelBeforeTheServerAcceptedStillReachesIt) {
  StreamService& service = Make<StreamService>();
  Serve(service);
  client::Connection& caller = Connect();
  Channel channel(caller);  // keepalive 1 s: a missed cancel would take 3 s
  auto stream = channel.OpenStream("svc.v1.Streams.Forever", MethodKind::kServerStreaming, "");
  stream->Cancel();
  Clock::time_point start = Clock::now();
  // The call ends on the server as CANCELLED: its handler saw the cancel, or
  // never ran because the cancel came first. $SRV.STATS records it either way.
  std::string last_error;
  while (Clock::now() - start < std::chrono::seconds(5)) {
    auto stats = caller.Request("$SRV.STATS.svc_v1_Streams", "", milliseconds(1'000));
    ASSERT_TRUE(stats.ok()) << stats.status().ToString();
    auto parsed = micro::ParseStatsResponse(stats->payload);
    ASSERT_TRUE(parsed.ok());
    for (const auto& endpoint : parsed->endpoints) {
      if (endpoint.name == "Forever") last_error = endpoint.last_error;
    }
    if (!last_error.empty()) break;
    std::this_thread::sleep_for(milliseconds(20));
  }
  EXPECT_THAT(last_error, ::testing::StartsWith("1:"));  // CANCELLED
  EXPECT_LT(Clock::now() - start, milliseconds(1'500));
}

// Speaks the stream protocol by hand (docs/rpc.md) and never sends the end
// frame: the half-close repeated in a keepalive ends the client stream.
TEST_F(RpcStreamTest, AKeepaliveRepeatsAHalfCloseWhoseEndFrameWasLost) {
  namespace frames = embed::rpc::internal;
  StreamService& service = Make<StreamService>();
  Serve(service);
  client::Connection& caller = Connect();
  std::mutex mutex;
  std::condition_variable arrived;
  std::deque<client::Message> received;
  const std::string inbox = caller.NewInbox();
  auto subscription = caller.Subscribe(inbox, [&](client::Message& message) {
    std::lock_guard lock(mutex);
    received.push_back(std::move(message));
    arrived.notify_all();
  });
  ASSERT_TRUE(subscription.ok());
  auto next = [&](frames::FrameType type) -> std::optional<client::Message> {
    std::unique_lock lock(mutex);
    while (true) {
      if (!arrived.wait_for(lock, std::chrono::seconds(5), [&] { return !received.empty(); })) {
        return std::nullopt;
      }
      client::Message message = std::move(received.front());
      received.pop_front();
      auto frame = frames::DecodeFrame(message);
      if (frame.ok() && frame->type == type) return message;
    }
  };
  ASSERT_TRUE(caller
                  .Publish(frames::MakeOpen("svc.v1.Streams.Sum", inbox,
                                            MethodKind::kClientStreaming, 16, milliseconds(1'000),
                                            std::nullopt, {}, ""))
                  .ok());
  auto accept = next(frames::FrameType::kAccept);
  ASSERT_TRUE(accept.has_value());
  const std::string server_inbox = accept->reply_to;
  ASSERT_TRUE(next(frames::FrameType::kCredit).has_value());  // the window, once the handler runs
  ASSERT_TRUE(caller.Publish(frames::MakeData(server_inbox, inbox, 1, "5")).ok());
  ASSERT_TRUE(caller.Publish(frames::MakeData(server_inbox, inbox, 2, "7")).ok());
  ASSERT_TRUE(caller.Publish(frames::MakeKeepalive(server_inbox, inbox, 0, 2)).ok());
  auto end = next(frames::FrameType::kEnd);
  ASSERT_TRUE(end.has_value());
  EXPECT_TRUE(frames::StatusOf(*end).ok()) << frames::StatusOf(*end).ToString();
  EXPECT_EQ(end->payload, "2:12");
}

TEST_F(RpcStreamTest, ErrorMidStreamArrivesAfterTheMessages) {
  StreamService& service = Make<StreamService>();
  Serve(service);
  Channel channel(Connect());
  auto stream = channel.OpenStream("svc.v1.Streams.FailAfterFive", MethodKind::kServerStreaming, "");
  std::string message;
  int received = 0;
  while (stream->Read(&message)) ++received;
  EXPECT_EQ(received, 5);
  EXPECT_EQ(stream->Finish(), RpcStatus(RpcCode::kNotFound, "ran out"));
}

TEST_F(RpcStreamTest, StatusPathsOfOpening) {
  StreamService& service = Make<StreamService>();
  Serve(service);
  Channel channel(Connect());
  auto unknown = channel.OpenStream("svc.v1.Streams.Nope", MethodKind::kServerStreaming, "");
  EXPECT_EQ(unknown->Finish().code(), RpcCode::kUnimplemented);
  auto wrong_kind = channel.OpenStream("svc.v1.Streams.Sum", MethodKind::kBidiStreaming, "");
  EXPECT_EQ(wrong_kind->Finish().code(), RpcCode::kUnimplemented);
  auto nobody = channel.OpenStream("svc.v1.Nobody.Count", MethodKind::kServerStreaming, "1");
  std::string message;
  EXPECT_FALSE(nobody->Read(&message));
  EXPECT_EQ(nobody->Finish().code(), RpcCode::kUnavailable);
  auto server_write = channel.OpenStream("svc.v1.Streams.Count", MethodKind::kServerStreaming, "0");
  EXPECT_EQ(server_write->Write("x").code(), RpcCode::kFailedPrecondition);
}

TEST_F(RpcStreamTest, FlowControlHoldsAFastProducer) {
  StreamService& service = Make<StreamService>();
  Serve(service);
  ChannelOptions options;
  options.stream_window = 16;
  Channel channel(Connect(), options);
  auto stream = channel.OpenStream("svc.v1.Streams.Forever", MethodKind::kServerStreaming, "");
  WaitStarted(service);
  std::this_thread::sleep_for(milliseconds(300));
  // Nothing read yet: the producer stopped at the window.
  EXPECT_EQ(service.written_count.load(), 16);
  std::string message;
  for (int i = 0; i < 100; ++i) ASSERT_TRUE(stream->Read(&message));
  std::this_thread::sleep_for(milliseconds(100));
  int written = service.written_count.load();
  EXPECT_GE(written, 100);
  EXPECT_LE(written, 100 + 16);
}

TEST_F(RpcStreamTest, CancellationReachesTheServer) {
  StreamService& service = Make<StreamService>();
  Serve(service);
  Channel channel(Connect());
  auto stream = channel.OpenStream("svc.v1.Streams.Forever", MethodKind::kServerStreaming, "");
  std::string message;
  for (int i = 0; i < 3; ++i) ASSERT_TRUE(stream->Read(&message));
  stream->Cancel();
  EXPECT_EQ(stream->Finish().code(), RpcCode::kCancelled);
  EXPECT_EQ(EndedWith(service), RpcCode::kCancelled);
}

TEST_F(RpcStreamTest, DestroyingTheStreamCancelsIt) {
  StreamService& service = Make<StreamService>();
  Serve(service);
  Channel channel(Connect());
  {
    auto stream = channel.OpenStream("svc.v1.Streams.Echo", MethodKind::kBidiStreaming, "");
    ASSERT_TRUE(stream->Write("x").ok());
    std::string message;
    ASSERT_TRUE(stream->Read(&message));
  }
  EXPECT_EQ(EndedWith(service), RpcCode::kCancelled);
}

TEST_F(RpcStreamTest, DeadlineEndsAStreamOnBothSides) {
  StreamService& service = Make<StreamService>();
  Serve(service);
  Channel channel(Connect());
  CallOptions options;
  options.timeout = milliseconds(200);
  Clock::time_point start = Clock::now();
  auto stream =
      channel.OpenStream("svc.v1.Streams.Forever", MethodKind::kServerStreaming, "", options);
  // Not reading: the server blocks on the window until the deadline.
  EXPECT_EQ(stream->Finish().code(), RpcCode::kDeadlineExceeded);
  EXPECT_LT(Clock::now() - start, milliseconds(1'500));
  EXPECT_EQ(EndedWith(service), RpcCode::kDeadlineExceeded);
}

TEST_F(RpcStreamTest, VanishedServerIsDetected) {
  StreamService& service = Make<StreamService>();
  client::Connection& server_connection = Connect();
  ServiceHost host(server_connection);
  ASSERT_TRUE(host.AddService(service).ok());
  ASSERT_TRUE(server_connection.Flush(std::chrono::seconds(2)).ok());
  ChannelOptions options;
  options.keepalive_interval = milliseconds(100);
  Channel channel(Connect(), options);
  auto stream = channel.OpenStream("svc.v1.Streams.Forever", MethodKind::kServerStreaming, "");
  std::string message;
  ASSERT_TRUE(stream->Read(&message));
  // The server's connection goes away without the host ending its calls.
  Clock::time_point start = Clock::now();
  server_connection.Close();
  while (stream->Read(&message)) {
  }
  RpcStatus status = stream->Finish();
  EXPECT_EQ(status.code(), RpcCode::kUnavailable) << status.ToString();
  EXPECT_LT(Clock::now() - start, milliseconds(2'000));
  host.Stop(milliseconds(0));
}

TEST_F(RpcStreamTest, VanishedCallerIsDetected) {
  StreamService& service = Make<StreamService>();
  ServiceHostOptions host_options;
  Serve(service, host_options);
  client::ConnectionOptions connection_options;
  connection_options.urls = {url()};
  auto caller = client::Connection::Connect(connection_options);
  ASSERT_TRUE(caller.ok());
  ChannelOptions options;
  options.keepalive_interval = milliseconds(100);
  auto channel = std::make_unique<Channel>(**caller, options);
  auto stream = channel->OpenStream("svc.v1.Streams.Echo", MethodKind::kBidiStreaming, "");
  ASSERT_TRUE(stream->Write("x").ok());
  std::string message;
  ASSERT_TRUE(stream->Read(&message));
  // The caller's connection dies under the open stream (no cancel frame).
  Clock::time_point start = Clock::now();
  (*caller)->Close();
  EXPECT_EQ(EndedWith(service, std::chrono::seconds(3)), RpcCode::kUnavailable);
  EXPECT_LT(Clock::now() - start, milliseconds(2'000));
  stream.reset();
  channel.reset();
}

TEST_F(RpcStreamTest, AsyncServerStreamingCallsBackInOrder) {
  StreamService& service = Make<StreamService>();
  Serve(service);
  Channel channel(Connect());
  std::vector<std::string> received;
  std::promise<RpcStatus> done;
  channel.CallServerStreamingAsync(
      "svc.v1.Streams.Count", "300", {},
      [&](std::string_view message) { received.emplace_back(message); },
      [&](RpcStatus status) { done.set_value(status); });  // handle dropped: the call goes on
  auto future = done.get_future();
  ASSERT_EQ(future.wait_for(std::chrono::seconds(5)), std::future_status::ready);
  EXPECT_TRUE(future.get().ok());
  ASSERT_EQ(received.size(), 300u);
  for (int i = 0; i < 300; ++i) EXPECT_EQ(received[static_cast<std::size_t>(i)], std::to_string(i));
}

TEST_F(RpcStreamTest, StoppingTheHostEndsOpenStreams) {
  StreamService& service = Make<StreamService>();
  ServiceHost& host = Serve(service);
  Channel channel(Connect());
  auto stream = channel.OpenStream("svc.v1.Streams.Echo", MethodKind::kBidiStreaming, "");
  ASSERT_TRUE(stream->Write("x").ok());
  std::string message;
  ASSERT_TRUE(stream->Read(&message));
  host.Stop(milliseconds(50));
  RpcStatus status = stream->Finish();
  EXPECT_EQ(status.code(), RpcCode::kUnavailable) << status.ToString();
  EXPECT_THAT(status.message(), HasSubstr("stopping"));
}

}  // namespace
}  // namespace embed::rpc::testing
