#pragma once
// What the two RPC benchmark programs share (embed_rpc_bench over Embed RPC,
// embed_grpc_bench over gRPC): flags, the client's measurements over an
// EchoTarget, the JSON line it prints, and the server roles' lifetime (they
// serve until their stdin closes). Header-only: each program includes it once.
// bench/rpc_run.py drives both programs.

#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <string>
#include <vector>

#include "bench/bench_flags.h"

namespace embed::bench {

using Clock = std::chrono::steady_clock;


// The loads of one client run.
struct ClientConfig {
  int warmup_calls = 2'000;
  int latency_calls = 10'000;   // sequential, 16 B
  int throughput_calls = 200'000;  // per payload size
  int in_flight = 64;
  int stream_chunks = 4'096;    // per streaming direction
  int chunk_bytes = 64 * 1024;

  static ClientConfig FromFlags(const Flags& flags) {
    ClientConfig config;
    if (flags.Has("smoke")) config = ClientConfig{20, 200, 2'000, 64, 32, 64 * 1024};
    config.warmup_calls = flags.GetInt("warmup-calls", config.warmup_calls);
    config.latency_calls = flags.GetInt("latency-calls", config.latency_calls);
    config.throughput_calls = flags.GetInt("throughput-calls", config.throughput_calls);
    config.in_flight = flags.GetInt("in-flight", config.in_flight);
    config.stream_chunks = flags.GetInt("stream-chunks", config.stream_chunks);
    config.chunk_bytes = flags.GetInt("chunk-bytes", config.chunk_bytes);
    return config;
  }
};

// The client's side of the echo service in one RPC system. Every method fails
// the program (Fail) when a call fails.
class EchoTarget {
 public:
  virtual ~EchoTarget() = default;
  // One blocking Echo call.
  virtual void Echo(const std::string& payload) = 0;
  // `calls` Echo calls of `payload`, `in_flight` of them outstanding at any
  // time; returns when all have completed.
  virtual void EchoInFlight(const std::string& payload, int calls, int in_flight) = 0;
  // One Download call of `chunks` x `chunk_bytes`; returns the bytes received.
  virtual std::uint64_t Download(int chunks, int chunk_bytes) = 0;
  // One Upload call of `chunks` x `chunk_bytes`; returns the bytes the server
  // counted.
  virtual std::uint64_t Upload(int chunks, int chunk_bytes) = 0;
};

inline double Percentile(std::vector<double> values, double fraction) {
  std::sort(values.begin(), values.end());
  auto index = static_cast<std::size_t>(fraction * static_cast<double>(values.size() - 1));
  return values[index];
}

inline double SecondsSince(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

// Runs every measurement against `target` and prints one JSON line:
// latency_p50_us, latency_p99_us, unary_64_16 and unary_64_1k (calls/s),
// server_stream_mbps and client_stream_mbps (10^6 bytes/s).
inline void RunClient(EchoTarget& target, const ClientConfig& config) {
  const std::string small(16, 'x');
  const std::string kib(1024, 'x');
  for (int i = 0; i < config.warmup_calls; ++i) target.Echo(small);
  std::vector<double> micros;
  micros.reserve(static_cast<std::size_t>(config.latency_calls));
  for (int i = 0; i < config.latency_calls; ++i) {
    auto start = Clock::now();
    target.Echo(small);
    micros.push_back(std::chrono::duration<double, std::micro>(Clock::now() - start).count());
  }

  auto throughput = [&](const std::string& payload) {
    target.EchoInFlight(payload, config.warmup_calls, config.in_flight);
    auto start = Clock::now();
    target.EchoInFlight(payload, config.throughput_calls, config.in_flight);
    return config.throughput_calls / SecondsSince(start);
  };
  double unary_16 = throughput(small);
  double unary_1k = throughput(kib);

  const int warmup_chunks = std::max(1, config.stream_chunks / 16);
  const double total_bytes = static_cast<double>(config.stream_chunks) * config.chunk_bytes;
  target.Download(warmup_chunks, config.chunk_bytes);
  auto start = Clock::now();
  std::uint64_t received = target.Download(config.stream_chunks, config.chunk_bytes);
  double download_mbps = total_bytes / SecondsSince(start) / 1e6;
  if (static_cast<double>(received) != total_bytes) {
    Fail("Download delivered " + std::to_string(received) + " bytes");
  }
  target.Upload(warmup_chunks, config.chunk_bytes);
  start = Clock::now();
  std::uint64_t counted = target.Upload(config.stream_chunks, config.chunk_bytes);
  double upload_mbps = total_bytes / SecondsSince(start) / 1e6;
  if (static_cast<double>(counted) != total_bytes) {
    Fail("Upload counted " + std::to_string(counted) + " bytes");
  }

  std::printf(
      "{\"latency_p50_us\": %.2f, \"latency_p99_us\": %.2f, \"unary_64_16\": %.1f, "
      "\"unary_64_1k\": %.1f, \"server_stream_mbps\": %.1f, \"client_stream_mbps\": %.1f}\n",
      Percentile(micros, 0.5), Percentile(micros, 0.99), unary_16, unary_1k, download_mbps,
      upload_mbps);
  std::fflush(stdout);
}

// Prints `json` as one line (the driver waits for it: the role is ready) and
// blocks until stdin reaches its end (the driver closed it, or died).
inline void AnnounceAndServe(const std::string& json) {
  std::printf("%s\n", json.c_str());
  std::fflush(stdout);
  char buffer[256];
  while (true) {
    ssize_t got = ::read(STDIN_FILENO, buffer, sizeof buffer);
    if (got == 0 || (got < 0 && errno != EINTR)) return;
  }
}

}  // namespace embed::bench
