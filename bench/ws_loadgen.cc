// A load generator for NATS over WebSocket (ws://, no TLS, no compression).
// libnats 3.4 has no WebSocket, so this one speaks the protocol itself
// (bench/ws_peer.h: upgrade, masked frames, op counting) and the same bytes
// reach Embed's broker and nats-server. bench/run.py drives it; each run
// prints one JSON object on stdout.
//
//   embed_ws_loadgen --url ws://127.0.0.1:8080 --scenario pubsub --size 16 --messages 1000000
//
// Scenarios:
//   pubsub            one publisher and one subscriber connection (1→1). The publisher sends
//                     pre-encoded batches of PUBs, about 32 KiB per frame (one masked binary
//                     frame per batch, as a browser client flushing writes does), and stays at
//                     most --window-bytes ahead of the subscriber. Rate = delivered msgs/s,
//                     from the first PUB to the last MSG.
//   idle-connections  opens --connections WebSocket connections (upgrade, INFO, CONNECT,
//                     PING/PONG) from one thread, prints the JSON, then holds them open until
//                     a line (or EOF) arrives on stdin; a final PING/PONG on every connection
//                     checks that the server still served all of them.
#include <sys/resource.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <string>
#include <string_view>
#include <thread>

#include "bench/loadgen_flags.h"
#include "bench/ws_herd.h"
#include "bench/ws_peer.h"

namespace {

using Clock = std::chrono::steady_clock;
using embed::bench::AppendClientFrame;
using embed::bench::NatsOpScanner;
using embed::bench::RandomMaskKey;
using embed::bench::ServerFrameReader;

// A run makes no progress for this long: the server lost messages or hung.
constexpr auto kStallTimeout = std::chrono::seconds(15);
// Payload bytes per published frame (a batch of PUBs).
constexpr std::size_t kBatchBytes = 32 * 1024;

using Options = embed::bench::CommonOptions;

constexpr std::string_view kProgram = "embed_ws_loadgen";

[[noreturn]] void Die(std::string_view message) { embed::bench::Die(kProgram, message); }

// One blocking client connection (a thread each): the upgrade, then frames.
class BlockingWsClient {
 public:
  explicit BlockingWsClient(const sockaddr_in& address) {
    fd_ = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd_ < 0) Die(std::string("socket: ") + std::strerror(errno));
    int one = 1;
    setsockopt(fd_, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    timeval timeout{static_cast<time_t>(kStallTimeout.count()), 0};
    setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof(timeout));
    setsockopt(fd_, SOL_SOCKET, SO_SNDTIMEO, &timeout, sizeof(timeout));
    if (connect(fd_, reinterpret_cast<const sockaddr*>(&address), sizeof(address)) != 0) {
      Die(std::string("connect: ") + std::strerror(errno));
    }
    SendRaw(embed::bench::UpgradeRequest(embed::bench::HostPort(address)));
    std::string head;
    char buffer[4096];
    while (embed::bench::ResponseHeadLength(head) == 0) {
      ssize_t count = recv(fd_, buffer, sizeof(buffer), 0);
      if (count <= 0) Die("upgrade: no response");
      head.append(buffer, static_cast<std::size_t>(count));
      if (head.size() > 16 * 1024) Die("upgrade: response too long");
    }
    std::size_t length = embed::bench::ResponseHeadLength(head);
    if (!embed::bench::IsSwitchingProtocols(head)) {
      Die("upgrade refused: " + head.substr(0, head.find('\r')));
    }
    Feed(head.data() + length, head.size() - length);
  }
  ~BlockingWsClient() { close(fd_); }
  BlockingWsClient(const BlockingWsClient&) = delete;
  BlockingWsClient& operator=(const BlockingWsClient&) = delete;

  // Sends NATS bytes as one frame.
  void SendNats(std::string_view bytes) {
    std::string frame;
    AppendClientFrame(frame, bytes, RandomMaskKey());
    SendRaw(frame);
  }

  void SendRaw(std::string_view bytes) {
    while (!bytes.empty()) {
      ssize_t sent = send(fd_, bytes.data(), bytes.size(), MSG_NOSIGNAL);
      if (sent < 0) {
        if (errno == EINTR) continue;
        Die(std::string("send: ") + std::strerror(errno));
      }
      bytes.remove_prefix(static_cast<std::size_t>(sent));
    }
  }

  // One recv(); answers PINGs. Dies on EOF, timeout or a protocol error.
  void ReadOnce() {
    ssize_t count = recv(fd_, buffer_.data(), buffer_.size(), 0);
    if (count < 0 && errno == EINTR) return;
    if (count < 0) Die(std::string("recv: ") + std::strerror(errno));
    if (count == 0) Die("the server closed the connection");
    Feed(buffer_.data(), static_cast<std::size_t>(count));
  }

  // Reads until `done()`.
  template <typename Done>
  void ReadUntil(Done done) {
    while (!done()) ReadOnce();
  }

  // INFO, then CONNECT + `extra` + PING, then the PONG.
  void Handshake(std::string_view extra = "") {
    ReadUntil([&] { return ops_.infos > 0; });
    std::string bytes(embed::bench::ConnectLine());
    bytes += extra;
    bytes += "PING\r\n";
    SendNats(bytes);
    ReadUntil([&] { return ops_.pongs > 0; });
  }

  const NatsOpScanner& ops() const { return ops_; }

 private:
  void Feed(const char* data, std::size_t size) {
    frames_.Feed(data, size, [this](const char* bytes, std::size_t length) {
      ops_.Feed(bytes, length);
    });
    if (!frames_.events().error.empty()) Die(frames_.events().error);
    if (frames_.events().closed) Die("the server sent a WebSocket CLOSE");
    if (!ops_.error.empty()) Die("server: " + ops_.error);
    if (ops_.pings > pings_answered_) {
      pings_answered_ = ops_.pings;
      SendNats("PONG\r\n");
    }
  }

  int fd_ = -1;
  std::string buffer_ = std::string(256 * 1024, '\0');
  ServerFrameReader frames_;
  NatsOpScanner ops_;
  std::uint64_t pings_answered_ = 0;
};

sockaddr_in Address(const Options& options) {
  auto address = embed::bench::ParseWsUrl(options.url);
  if (!address) Die("bad --url (want ws://<ipv4>:<port>): " + options.url);
  return *address;
}

void RunPubSub(const Options& options) {
  const sockaddr_in address = Address(options);
  const auto size = static_cast<std::size_t>(options.size_bytes);
  BlockingWsClient subscriber(address);
  subscriber.Handshake("SUB bench.ws 1\r\n");
  BlockingWsClient publisher(address);
  publisher.Handshake();

  // Pre-encoded frames: a full batch, and the last (shorter) one.
  std::string one = "PUB bench.ws " + std::to_string(size) + "\r\n" + std::string(size, 'x') + "\r\n";
  const std::int64_t per_batch =
      std::max<std::int64_t>(1, static_cast<std::int64_t>(kBatchBytes / one.size()));
  auto encode_batch = [&](std::int64_t count) {
    std::string payload;
    payload.reserve(one.size() * static_cast<std::size_t>(count));
    for (std::int64_t i = 0; i < count; ++i) payload += one;
    std::string frame;
    AppendClientFrame(frame, payload, RandomMaskKey());
    return frame;
  };
  const std::string full_batch = encode_batch(per_batch);
  // MSG lines are ~20 bytes longer than the payload; count them so tiny
  // messages get a window of a sensible size.
  const std::int64_t window_messages = std::max<std::int64_t>(
      per_batch, options.window_bytes / static_cast<std::int64_t>(size + 40));

  std::atomic<std::int64_t> received{0};
  std::thread reader([&] {
    subscriber.ReadUntil([&] {
      auto count = static_cast<std::int64_t>(subscriber.ops().messages);
      if (count != received.load(std::memory_order_relaxed)) {
        received.store(count, std::memory_order_release);
        received.notify_one();
      }
      return count >= options.messages;
    });
  });

  auto start = Clock::now();
  std::int64_t published = 0;
  while (published < options.messages) {
    std::int64_t seen = received.load(std::memory_order_acquire);
    if (published - seen > window_messages) {
      received.wait(seen, std::memory_order_acquire);
      continue;
    }
    std::int64_t count = std::min(per_batch, options.messages - published);
    if (count == per_batch) {
      publisher.SendRaw(full_batch);
    } else {
      publisher.SendRaw(encode_batch(count));
    }
    published += count;
  }
  reader.join();
  double seconds = std::chrono::duration<double>(Clock::now() - start).count();
  if (static_cast<std::int64_t>(subscriber.ops().messages) != options.messages) {
    Die("delivered " + std::to_string(subscriber.ops().messages) + " of " +
        std::to_string(options.messages));
  }
  std::printf(
      "{\"scenario\": \"pubsub\", \"operations\": %lld, \"size_bytes\": %d, \"seconds\": %.6f, "
      "\"rate\": %.1f}\n",
      static_cast<long long>(options.messages), options.size_bytes, seconds,
      static_cast<double>(options.messages) / seconds);
}

void RunIdleConnections(const Options& options) {
  rlimit limit{};
  if (getrlimit(RLIMIT_NOFILE, &limit) == 0 && limit.rlim_cur < limit.rlim_max) {
    limit.rlim_cur = limit.rlim_max;
    setrlimit(RLIMIT_NOFILE, &limit);
  }
  embed::bench::WsConnectionHerd herd(Address(options));
  auto start = Clock::now();
  const auto count = static_cast<std::size_t>(options.connections);
  if (!herd.Open(count, 256, start + std::chrono::seconds(120))) Die("open: " + herd.error());
  double seconds = std::chrono::duration<double>(Clock::now() - start).count();
  std::printf("{\"scenario\": \"idle-connections\", \"operations\": %zu, \"seconds\": %.6f}\n",
              herd.ready_count(), seconds);
  std::fflush(stdout);
  std::string line;
  std::getline(std::cin, line);
  if (!herd.PingAll(Clock::now() + std::chrono::seconds(60))) Die("final ping: " + herd.error());
}

void PrintUsage() {
  std::fputs(
      "usage: embed_ws_loadgen --url ws://HOST:PORT --scenario pubsub|idle-connections\n"
      "         [--messages N] [--size BYTES] [--connections N] [--window-bytes N]\n",
      stderr);
}

Options ParseOptions(int argc, char** argv) {
  Options options;
  // This program has no flags beyond the common ones.
  embed::bench::ParseOptions(kProgram, argc, argv, PrintUsage, options,
                             [](std::string_view, const std::string&) { return false; });
  return options;
}

}  // namespace

int main(int argc, char** argv) {
  const Options options = ParseOptions(argc, argv);
  if (options.scenario == "pubsub") {
    RunPubSub(options);
  } else if (options.scenario == "idle-connections") {
    RunIdleConnections(options);
  } else {
    PrintUsage();
    Die("unknown scenario " + options.scenario);
  }
  std::fflush(stdout);
  return 0;
}
