// In-process connection vs loopback TCP, same broker, same client, one run.
//
// An application that embeds the broker can reach it through
// Broker::in_process_url() (a pipe, no socket) or through its TCP port. This
// runs the same workloads both ways, alternating, and prints medians and the
// ratio in-process / TCP:
//   - request/reply latency, sequential, 16 B: p50 and p99 (lower is better)
//   - 1→1 pub/sub throughput, 16 B (higher is better)
//
//   embed_inproc_bench [--runs 5] [--requests 20000] [--messages 2000000] [--smoke]
#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>
#include <mutex>
#include <string>
#include <vector>

#include "embed/broker/broker.h"
#include "embed/client/connection.h"

namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;
using embed::client::Connection;
using embed::client::ConnectionOptions;
using embed::client::Message;

struct Config {
  int runs = 5;
  int requests = 20'000;
  int messages = 2'000'000;
};

[[noreturn]] void Fail(const std::string& what) {
  std::fprintf(stderr, "embed_inproc_bench: %s\n", what.c_str());
  std::exit(1);
}

std::unique_ptr<Connection> Connect(const std::string& url) {
  ConnectionOptions options;
  options.urls = {url};
  options.allow_reconnect = false;
  auto connection = Connection::Connect(options);
  if (!connection.ok()) Fail("connect " + url + ": " + connection.status().ToString());
  return std::move(connection).value();
}

double Percentile(std::vector<double> values, double fraction) {
  std::sort(values.begin(), values.end());
  std::size_t index = static_cast<std::size_t>(fraction * static_cast<double>(values.size() - 1));
  return values[index];
}

double Median(std::vector<double> values) { return Percentile(std::move(values), 0.5); }

// Sequential requests; returns {p50, p99} in microseconds.
std::pair<double, double> MeasureLatency(const std::string& url, int requests) {
  auto server = Connect(url);
  auto client = Connect(url);
  Connection* responder = server.get();
  auto subscription = server->Subscribe("bench.echo", [responder](const Message& request) {
    responder->Publish(request.reply_to, request.payload).IgnoreError();
  });
  if (!subscription.ok()) Fail("subscribe: " + subscription.status().ToString());
  if (!server->Flush(5s).ok()) Fail("flush");
  const std::string payload(16, 'x');
  for (int i = 0; i < 200; ++i) {  // warm-up
    if (!client->Request("bench.echo", payload, 5s).ok()) Fail("warm-up request");
  }
  std::vector<double> micros;
  micros.reserve(static_cast<std::size_t>(requests));
  for (int i = 0; i < requests; ++i) {
    auto started = Clock::now();
    auto reply = client->Request("bench.echo", payload, 5s);
    if (!reply.ok()) Fail("request: " + reply.status().ToString());
    micros.push_back(
        std::chrono::duration<double, std::micro>(Clock::now() - started).count());
  }
  return {Percentile(micros, 0.5), Percentile(micros, 0.99)};
}

// One publisher, one subscriber; delivered messages per second.
double MeasureThroughput(const std::string& url, int messages) {
  auto subscriber = Connect(url);
  auto publisher = Connect(url);
  std::mutex mutex;
  std::condition_variable done;
  std::atomic<int> received{0};
  embed::client::SubscribeOptions options;
  options.pending_messages_limit = messages + 1;
  options.pending_bytes_limit = static_cast<std::size_t>(messages) * 64 + 1;
  auto subscription = subscriber->Subscribe(
      "bench.flow",
      [&](const Message&) {
        if (received.fetch_add(1, std::memory_order_relaxed) + 1 == messages) {
          std::lock_guard<std::mutex> lock(mutex);
          done.notify_all();
        }
      },
      options);
  if (!subscription.ok()) Fail("subscribe: " + subscription.status().ToString());
  if (!subscriber->Flush(5s).ok()) Fail("flush");
  const std::string payload(16, 'x');
  auto started = Clock::now();
  for (int i = 0; i < messages; ++i) {
    if (!publisher->Publish("bench.flow", payload).ok()) Fail("publish");
  }
  std::unique_lock<std::mutex> lock(mutex);
  if (!done.wait_for(lock, 120s, [&] { return received.load() >= messages; })) {
    Fail("only " + std::to_string(received.load()) + " of " + std::to_string(messages) +
         " messages arrived");
  }
  double seconds = std::chrono::duration<double>(Clock::now() - started).count();
  return messages / seconds;
}

}  // namespace

int main(int argc, char** argv) {
  Config config;
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    auto next = [&]() -> int {
      if (i + 1 >= argc) Fail("missing value after " + arg);
      return std::atoi(argv[++i]);
    };
    if (arg == "--runs") {
      config.runs = next();
    } else if (arg == "--requests") {
      config.requests = next();
    } else if (arg == "--messages") {
      config.messages = next();
    } else if (arg == "--smoke") {
      config = Config{1, 200, 20'000};
    } else {
      Fail("unknown argument " + arg);
    }
  }

  embed::broker::BrokerOptions options;
  options.port = 0;
  auto broker = embed::broker::Broker::Start(options);
  if (!broker.ok()) Fail("broker: " + broker.status().ToString());
  const std::string tcp = (*broker)->url();
  const std::string inproc = (*broker)->in_process_url();

  std::map<std::string, std::vector<double>> samples;
  for (int run = 0; run < config.runs; ++run) {
    for (const std::string& url : {tcp, inproc}) {
      const std::string kind = url == tcp ? "tcp" : "inproc";
      auto [p50, p99] = MeasureLatency(url, config.requests);
      samples[kind + ".p50"].push_back(p50);
      samples[kind + ".p99"].push_back(p99);
      samples[kind + ".flow"].push_back(MeasureThroughput(url, config.messages));
    }
  }

  std::printf("| metric | unit | loopback TCP | in-process | ratio |\n|---|---|---:|---:|---:|\n");
  struct Row {
    const char* key;
    const char* label;
    const char* unit;
  };
  const Row rows[] = {
      {"p50", "request/reply latency p50 (sequential, 16 B)", "µs"},
      {"p99", "request/reply latency p99 (sequential, 16 B)", "µs"},
      {"flow", "1→1 pub/sub, 16 B", "msgs/s"},
  };
  for (const Row& row : rows) {
    double over_tcp = Median(samples[std::string("tcp.") + row.key]);
    double in_process = Median(samples[std::string("inproc.") + row.key]);
    std::printf("| %s | %s | %.1f | %.1f | %.2f |\n", row.label, row.unit, over_tcp, in_process,
                in_process / over_tcp);
  }
  std::printf("(medians of %d runs)\n", config.runs);
  (*broker)->Stop();
  return 0;
}
