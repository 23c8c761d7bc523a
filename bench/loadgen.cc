// A load generator for NATS-protocol servers. It is built on libnats (nats.c), a client nobody
// here wrote, so the same bytes reach Embed's broker and nats-server and neither is favoured.
// bench/run.py drives it; each run prints one JSON object on stdout.
//
//   embed_loadgen --url nats://127.0.0.1:4222 --scenario pubsub --size 16 --subscribers 8
//
// Scenarios:
//   publish             one connection publishes; nobody subscribes. Rate = published/s.
//   pubsub              one publisher, --subscribers connections each subscribed to the
//                       subject (1 = 1→1, 8 = fan-out). Rate = delivered/s. The publisher stays
//                       at most --window-bytes ahead of the slowest subscriber, so neither
//                       server has to buffer without bound (no slow-consumer cut-offs).
//   request-latency     sequential requests to one responder; p50/p99 in microseconds.
//   request-throughput  --in-flight requests kept outstanding; rate = replies/s.
//   idle-connections    opens --connections raw TCP connections and completes the NATS
//                       handshake (INFO, CONNECT, PING/PONG) on each, prints the JSON, then
//                       holds them open until a line (or EOF) arrives on stdin.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <iostream>
#include <memory>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include <nats/nats.h>

#include "bench/loadgen_flags.h"

namespace {

using Clock = std::chrono::steady_clock;
using std::chrono::duration;

// A run makes no progress for this long: the server lost messages or hung.
constexpr auto kStallTimeout = std::chrono::seconds(15);
constexpr auto kPollInterval = std::chrono::microseconds(100);
constexpr std::int64_t kRequestTimeoutMs = 5000;
constexpr int kLatencyWarmupRequests = 100;

// CommonOptions (loadgen_flags.h), and the flags of the scenarios only this program has.
struct Options : embed::bench::CommonOptions {
  int subscribers = 1;
  int in_flight = 64;
};

constexpr std::string_view kProgram = "embed_loadgen";

[[noreturn]] void Die(std::string_view message) { embed::bench::Die(kProgram, message); }

void CheckNats(natsStatus status, std::string_view what) {
  if (status != NATS_OK) {
    Die(std::string(what) + ": " + natsStatus_GetText(status) + " (" + nats_GetLastError(nullptr) +
        ")");
  }
}

double SecondsSince(Clock::time_point start) {
  return duration<double>(Clock::now() - start).count();
}

struct ConnectionCloser {
  void operator()(natsConnection* connection) const {
    natsConnection_Close(connection);
    natsConnection_Destroy(connection);
  }
};
struct SubscriptionDestroyer {
  void operator()(natsSubscription* subscription) const {
    // Stops callbacks before their closure goes away; fails harmlessly once closed.
    natsSubscription_Unsubscribe(subscription);
    natsSubscription_Destroy(subscription);
  }
};
using ConnectionPtr = std::unique_ptr<natsConnection, ConnectionCloser>;
using SubscriptionPtr = std::unique_ptr<natsSubscription, SubscriptionDestroyer>;

// How a connection writes publishes: kBuffered lets libnats gather them and flush from its
// flusher thread (throughput runs); kImmediate writes each at once (request/reply, where the
// flusher's wake-up would otherwise dominate the latency being measured).
enum class SendMode { kBuffered, kImmediate };

ConnectionPtr Connect(const std::string& url, SendMode send_mode = SendMode::kBuffered) {
  natsOptions* raw_options = nullptr;
  CheckNats(natsOptions_Create(&raw_options), "options");
  std::unique_ptr<natsOptions, decltype(&natsOptions_Destroy)> options(raw_options,
                                                                       natsOptions_Destroy);
  CheckNats(natsOptions_SetURL(raw_options, url.c_str()), "options: url");
  CheckNats(natsOptions_SetSendAsap(raw_options, send_mode == SendMode::kImmediate),
            "options: send asap");
  natsConnection* connection = nullptr;
  CheckNats(natsConnection_Connect(&connection, raw_options), "connect to " + url);
  return ConnectionPtr(connection);
}

// Subscribes asynchronously with no client-side pending limit: the benchmark measures the
// server, so the client never drops a message.
SubscriptionPtr Subscribe(natsConnection* connection, const char* subject, natsMsgHandler handler,
                          void* closure) {
  natsSubscription* subscription = nullptr;
  CheckNats(natsConnection_Subscribe(&subscription, connection, subject, handler, closure),
            "subscribe");
  SubscriptionPtr owned(subscription);
  CheckNats(natsSubscription_SetPendingLimits(subscription, -1, -1), "pending limits");
  CheckNats(natsConnection_Flush(connection), "flush");
  return owned;
}

void Flush(natsConnection* connection) {
  CheckNats(natsConnection_FlushTimeout(connection, 60'000), "flush");
}

void CountMessage(natsConnection*, natsSubscription*, natsMsg* message, void* closure) {
  static_cast<std::atomic<std::int64_t>*>(closure)->fetch_add(1, std::memory_order_relaxed);
  natsMsg_Destroy(message);
}

// Replies to a request with its own payload.
void EchoRequest(natsConnection* connection, natsSubscription*, natsMsg* request, void*) {
  if (natsMsg_GetReply(request) != nullptr) {
    natsConnection_Publish(connection, natsMsg_GetReply(request), natsMsg_GetData(request),
                           natsMsg_GetDataLength(request));
  }
  natsMsg_Destroy(request);
}

// Waits until `done()` holds, failing the run when `progress()` stops changing for too long.
template <typename Done, typename Progress>
void WaitFor(Done done, Progress progress, std::string_view what) {
  auto last_progress = progress();
  auto last_change = Clock::now();
  while (!done()) {
    std::this_thread::sleep_for(kPollInterval);
    auto current = progress();
    if (current != last_progress) {
      last_progress = current;
      last_change = Clock::now();
    } else if (Clock::now() - last_change > kStallTimeout) {
      Die(std::string(what) + ": no progress for " +
          std::to_string(std::chrono::seconds(kStallTimeout).count()) + " s at " +
          std::to_string(current));
    }
  }
}

void PrintRate(const Options& options, std::int64_t operations, double seconds,
               std::string_view extra = "") {
  std::printf(
      "{\"scenario\": \"%s\", \"operations\": %lld, \"size_bytes\": %d, \"seconds\": %.6f, "
      "\"rate\": %.1f%.*s}\n",
      options.scenario.c_str(), static_cast<long long>(operations), options.size_bytes, seconds,
      static_cast<double>(operations) / seconds, static_cast<int>(extra.size()), extra.data());
}

void RunPublish(const Options& options) {
  ConnectionPtr publisher = Connect(options.url);
  std::vector<char> payload(static_cast<std::size_t>(options.size_bytes), 'x');
  auto start = Clock::now();
  for (std::int64_t i = 0; i < options.messages; ++i) {
    CheckNats(natsConnection_Publish(publisher.get(), "bench.publish", payload.data(),
                                     options.size_bytes),
              "publish");
  }
  // The PONG comes after the server has processed every PUB before the PING.
  Flush(publisher.get());
  PrintRate(options, options.messages, SecondsSince(start));
}

void RunPubSub(const Options& options) {
  const auto subscriber_count = static_cast<std::size_t>(options.subscribers);
  std::vector<std::atomic<std::int64_t>> received(subscriber_count);
  std::vector<ConnectionPtr> subscriber_connections;
  std::vector<SubscriptionPtr> subscriptions;
  for (std::size_t i = 0; i < subscriber_count; ++i) {
    subscriber_connections.push_back(Connect(options.url));
    subscriptions.push_back(
        Subscribe(subscriber_connections.back().get(), "bench.pubsub", CountMessage, &received[i]));
  }
  ConnectionPtr publisher = Connect(options.url);
  std::vector<char> payload(static_cast<std::size_t>(options.size_bytes), 'x');

  // Protocol overhead of a MSG line is about 40 bytes; count it so tiny messages get a
  // message window of a sensible size.
  const std::int64_t window_messages =
      std::max<std::int64_t>(1024, options.window_bytes / (options.size_bytes + 40));
  auto slowest = [&] {
    std::int64_t minimum = options.messages;
    for (const auto& count : received) {
      minimum = std::min(minimum, count.load(std::memory_order_relaxed));
    }
    return minimum;
  };
  auto total = [&] {
    std::int64_t sum = 0;
    for (const auto& count : received) sum += count.load(std::memory_order_relaxed);
    return sum;
  };

  auto start = Clock::now();
  for (std::int64_t i = 0; i < options.messages; ++i) {
    if (i % 1024 == 0 && i - slowest() > window_messages) {
      Flush(publisher.get());
      WaitFor([&] { return i - slowest() <= window_messages / 2; }, total, "pubsub window");
    }
    CheckNats(
        natsConnection_Publish(publisher.get(), "bench.pubsub", payload.data(), options.size_bytes),
        "publish");
  }
  Flush(publisher.get());
  const std::int64_t expected = options.messages * options.subscribers;
  WaitFor([&] { return total() == expected; }, total, "pubsub delivery");
  double seconds = SecondsSince(start);
  char extra[96];
  std::snprintf(extra, sizeof extra, ", \"messages\": %lld, \"subscribers\": %d",
                static_cast<long long>(options.messages), options.subscribers);
  PrintRate(options, expected, seconds, extra);
}

void RunRequestLatency(const Options& options) {
  ConnectionPtr responder = Connect(options.url, SendMode::kImmediate);
  SubscriptionPtr service = Subscribe(responder.get(), "bench.echo", EchoRequest, nullptr);
  ConnectionPtr requester = Connect(options.url, SendMode::kImmediate);
  std::vector<char> payload(static_cast<std::size_t>(options.size_bytes), 'x');
  std::vector<double> latencies_us;
  latencies_us.reserve(static_cast<std::size_t>(options.messages));
  auto start = Clock::now();
  for (std::int64_t i = -kLatencyWarmupRequests; i < options.messages; ++i) {
    natsMsg* reply = nullptr;
    auto sent = Clock::now();
    CheckNats(natsConnection_Request(&reply, requester.get(), "bench.echo", payload.data(),
                                     options.size_bytes, kRequestTimeoutMs),
              "request");
    auto latency = Clock::now() - sent;
    natsMsg_Destroy(reply);
    if (i == 0) start = sent;
    if (i >= 0) latencies_us.push_back(duration<double, std::micro>(latency).count());
  }
  double seconds = SecondsSince(start);
  auto percentile = [&](double fraction) {
    auto index = static_cast<std::size_t>(fraction * static_cast<double>(latencies_us.size() - 1));
    std::nth_element(latencies_us.begin(), latencies_us.begin() + static_cast<long>(index),
                     latencies_us.end());
    return latencies_us[index];
  };
  char extra[96];
  std::snprintf(extra, sizeof extra, ", \"p50_us\": %.2f, \"p99_us\": %.2f", percentile(0.50),
                percentile(0.99));
  PrintRate(options, options.messages, seconds, extra);
}

struct RequestPipeline {
  natsConnection* requester = nullptr;
  std::string inbox;
  std::vector<char> payload;
  std::int64_t total = 0;
  std::atomic<std::int64_t> issued{0};
  std::atomic<std::int64_t> completed{0};

  void Issue() {
    CheckNats(natsConnection_PublishRequest(requester, "bench.echo", inbox.c_str(), payload.data(),
                                            static_cast<int>(payload.size())),
              "publish request");
  }
};

// Each reply completes one request and issues the next, keeping the number in flight constant.
void OnPipelinedReply(natsConnection*, natsSubscription*, natsMsg* reply, void* closure) {
  natsMsg_Destroy(reply);
  auto* pipeline = static_cast<RequestPipeline*>(closure);
  pipeline->completed.fetch_add(1, std::memory_order_relaxed);
  if (pipeline->issued.fetch_add(1, std::memory_order_relaxed) < pipeline->total) {
    pipeline->Issue();
  }
}

void RunRequestThroughput(const Options& options) {
  ConnectionPtr responder = Connect(options.url, SendMode::kImmediate);
  SubscriptionPtr service = Subscribe(responder.get(), "bench.echo", EchoRequest, nullptr);
  ConnectionPtr requester = Connect(options.url, SendMode::kImmediate);
  RequestPipeline pipeline;
  pipeline.requester = requester.get();
  pipeline.payload.assign(static_cast<std::size_t>(options.size_bytes), 'x');
  pipeline.total = options.messages;
  natsInbox* inbox = nullptr;
  CheckNats(natsInbox_Create(&inbox), "inbox");
  pipeline.inbox = inbox;
  natsInbox_Destroy(inbox);
  SubscriptionPtr replies =
      Subscribe(requester.get(), pipeline.inbox.c_str(), OnPipelinedReply, &pipeline);

  auto start = Clock::now();
  const std::int64_t first_batch = std::min<std::int64_t>(options.in_flight, options.messages);
  pipeline.issued.store(first_batch);
  for (std::int64_t i = 0; i < first_batch; ++i) pipeline.Issue();
  CheckNats(natsConnection_Flush(requester.get()), "flush");
  auto completed = [&] { return pipeline.completed.load(std::memory_order_relaxed); };
  WaitFor([&] { return completed() >= options.messages; }, completed, "pipelined requests");
  double seconds = SecondsSince(start);
  char extra[48];
  std::snprintf(extra, sizeof extra, ", \"in_flight\": %d", options.in_flight);
  PrintRate(options, options.messages, seconds, extra);
}

// Reads from `socket_fd` until `terminator` has been seen; false on error, EOF or timeout.
bool ReadUntil(int socket_fd, std::string_view terminator) {
  std::string received;
  char buffer[4096];
  while (received.find(terminator) == std::string::npos) {
    ssize_t count = recv(socket_fd, buffer, sizeof buffer, 0);
    if (count <= 0) return false;
    received.append(buffer, static_cast<std::size_t>(count));
  }
  return true;
}

// Parses "nats://<ipv4>:<port>" (what the servers under test print).
sockaddr_in ParseAddress(const std::string& url) {
  constexpr std::string_view kScheme = "nats://";
  std::string rest = url.rfind(kScheme, 0) == 0 ? url.substr(kScheme.size()) : url;
  auto colon = rest.rfind(':');
  if (colon == std::string::npos) Die("URL without a port: " + url);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_port = htons(static_cast<std::uint16_t>(std::stoi(rest.substr(colon + 1))));
  if (inet_pton(AF_INET, rest.substr(0, colon).c_str(), &address.sin_addr) != 1) {
    Die("URL host is not an IPv4 address: " + url);
  }
  return address;
}

void RunIdleConnections(const Options& options) {
  // Each connection is a file descriptor here and in the server.
  rlimit limit{};
  getrlimit(RLIMIT_NOFILE, &limit);
  limit.rlim_cur = limit.rlim_max;
  setrlimit(RLIMIT_NOFILE, &limit);

  const sockaddr_in address = ParseAddress(options.url);
  constexpr std::string_view kHandshake =
      "CONNECT {\"verbose\":false,\"pedantic\":false,\"name\":\"embed_loadgen\"}\r\nPING\r\n";
  std::vector<int> sockets;
  sockets.reserve(static_cast<std::size_t>(options.connections));
  auto start = Clock::now();
  for (int i = 0; i < options.connections; ++i) {
    int socket_fd = socket(AF_INET, SOCK_STREAM, 0);
    if (socket_fd < 0) Die("socket: " + std::string(std::strerror(errno)));
    timeval receive_timeout{10, 0};
    setsockopt(socket_fd, SOL_SOCKET, SO_RCVTIMEO, &receive_timeout, sizeof receive_timeout);
    if (connect(socket_fd, reinterpret_cast<const sockaddr*>(&address), sizeof address) != 0) {
      Die("connect #" + std::to_string(i) + ": " + std::strerror(errno));
    }
    // NATS: the server speaks first with INFO; PONG confirms CONNECT was accepted.
    if (!ReadUntil(socket_fd, "\r\n") ||
        send(socket_fd, kHandshake.data(), kHandshake.size(), MSG_NOSIGNAL) !=
            static_cast<ssize_t>(kHandshake.size()) ||
        !ReadUntil(socket_fd, "PONG\r\n")) {
      Die("handshake #" + std::to_string(i) + " failed");
    }
    sockets.push_back(socket_fd);
  }
  PrintRate(options, options.connections, SecondsSince(start));
  std::fflush(stdout);
  std::string line;
  std::getline(std::cin, line);
  for (int socket_fd : sockets) close(socket_fd);
}

void PrintUsage() {
  std::fputs(
      "usage: embed_loadgen --url URL --scenario "
      "publish|pubsub|request-latency|request-throughput|idle-connections\n"
      "         [--messages N] [--size BYTES] [--subscribers N] [--in-flight N]\n"
      "         [--connections N] [--window-bytes N]\n",
      stderr);
}

Options ParseOptions(int argc, char** argv) {
  Options options;
  auto own_flag = [&](std::string_view flag, const std::string& value) {
    auto at_least_one = [&] {
      return static_cast<int>(
          std::max<std::int64_t>(1, embed::bench::ParseCount(kProgram, flag, value)));
    };
    if (flag == "--subscribers") {
      options.subscribers = at_least_one();
    } else if (flag == "--in-flight") {
      options.in_flight = at_least_one();
    } else {
      return false;
    }
    return true;
  };
  embed::bench::ParseOptions(kProgram, argc, argv, PrintUsage, options, own_flag);
  return options;
}

}  // namespace

int main(int argc, char** argv) {
  const Options options = ParseOptions(argc, argv);
  if (options.scenario == "idle-connections") {
    RunIdleConnections(options);
    return 0;
  }
  CheckNats(nats_Open(-1), "nats_Open");
  if (options.scenario == "publish") {
    RunPublish(options);
  } else if (options.scenario == "pubsub") {
    RunPubSub(options);
  } else if (options.scenario == "request-latency") {
    RunRequestLatency(options);
  } else if (options.scenario == "request-throughput") {
    RunRequestThroughput(options);
  } else {
    PrintUsage();
    Die("unknown scenario " + options.scenario);
  }
  std::fflush(stdout);
  // Connections are closed by now; nats_Close joins libnats' threads.
  nats_Close();
  return 0;
}
