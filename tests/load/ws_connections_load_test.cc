// Load test: holds 10,000 concurrent WebSocket connections to a broker on
// loopback. It starts the broker as a child process (`embed serve --port 0
// --ws-port 0`, or nats-server with a websocket block for comparison), opens
// the connections from one thread (non-blocking sockets, epoll; each
// completes the upgrade and CONNECT + PING/PONG), then sends a final PING on
// every connection: all PONGs back means the broker still serves every one.
// Prints the broker's RSS per connection. Bounded: gives up after
// --timeout-seconds (default 45; the broker then gets 15 s to stop) and kills the broker with itself.
//
//   embed_ws_load_test --server embed --binary build/tools/embed/embed [--connections 10000]
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <optional>
#include <regex>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "bench/ws_herd.h"
#include "bench/ws_peer.h"

namespace {

using Clock = std::chrono::steady_clock;

struct Options {
  std::string server = "embed";  // or "nats-server"
  std::string binary;
  std::size_t connections = 10'000;
  std::size_t max_in_progress = 512;
  int timeout_seconds = 45;
};

[[noreturn]] void Die(const std::string& message) {
  std::fprintf(stderr, "embed_ws_load_test: FAIL: %s\n", message.c_str());
  std::exit(1);
}

long ReadRssKib(pid_t pid) {
  std::ifstream status("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  while (std::getline(status, line)) {
    if (line.rfind("VmRSS:", 0) == 0) return std::strtol(line.c_str() + 6, nullptr, 10);
  }
  return -1;
}

// The broker child: its output goes through a pipe that is read until the
// WebSocket URL shows, then drained by a thread so the broker never blocks.
class BrokerProcess {
 public:
  BrokerProcess(const Options& options, const std::string& config_path) {
    std::vector<std::string> argv;
    if (options.server == "embed") {
      argv = {options.binary, "serve", "--host", "127.0.0.1", "--port", "0", "--ws-port", "0"};
    } else {
      argv = {options.binary, "-a", "127.0.0.1", "-p", "-1", "-c", config_path};
    }
    int fds[2];
    if (pipe2(fds, O_CLOEXEC) != 0) Die("pipe failed");
    pid_t parent = getpid();
    pid_ = fork();
    if (pid_ < 0) Die("fork failed");
    if (pid_ == 0) {
      // The broker must not outlive the test, even when the test is killed.
      prctl(PR_SET_PDEATHSIG, SIGKILL);
      if (getppid() != parent) _exit(127);
      dup2(fds[1], STDOUT_FILENO);
      dup2(fds[1], STDERR_FILENO);
      std::vector<char*> raw;
      for (std::string& arg : argv) raw.push_back(arg.data());
      raw.push_back(nullptr);
      execv(raw[0], raw.data());
      _exit(127);
    }
    close(fds[1]);
    output_fd_ = fds[0];
  }

  ~BrokerProcess() {
    if (pid_ > 0 && !exited_) {
      kill(pid_, SIGKILL);
      waitpid(pid_, nullptr, 0);
    }
    if (drainer_.joinable()) drainer_.join();
    if (output_fd_ >= 0) close(output_fd_);
  }

  // Reads output lines until one matches `pattern` (group 1 = the URL).
  std::optional<std::string> WaitForUrl(const std::regex& pattern, Clock::time_point deadline) {
    std::string pending;
    char buffer[4096];
    while (Clock::now() < deadline) {
      std::size_t newline;
      while ((newline = pending.find('\n')) != std::string::npos) {
        std::string line = pending.substr(0, newline);
        pending.erase(0, newline + 1);
        std::fprintf(stderr, "  broker: %s\n", line.c_str());
        std::smatch match;
        if (std::regex_search(line, match, pattern)) {
          drainer_ = std::thread([fd = output_fd_] {
            char sink[4096];
            while (read(fd, sink, sizeof(sink)) > 0) {
            }
          });
          return match[1].str();
        }
      }
      pollfd poll_fd{output_fd_, POLLIN, 0};
      if (poll(&poll_fd, 1, 100) <= 0) continue;
      ssize_t count = read(output_fd_, buffer, sizeof(buffer));
      if (count <= 0) return std::nullopt;  // the broker exited
      pending.append(buffer, static_cast<std::size_t>(count));
    }
    return std::nullopt;
  }

  // SIGTERM, then the exit status (nullopt when it had to be killed).
  std::optional<int> Stop(std::chrono::seconds timeout) {
    kill(pid_, SIGTERM);
    auto deadline = Clock::now() + timeout;
    while (Clock::now() < deadline) {
      int status = 0;
      if (waitpid(pid_, &status, WNOHANG) == pid_) {
        exited_ = true;
        return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    return std::nullopt;
  }

  pid_t pid() const { return pid_; }

 private:
  pid_t pid_ = -1;
  int output_fd_ = -1;
  bool exited_ = false;
  std::thread drainer_;
};

Options ParseOptions(int argc, char** argv) {
  Options options;
  for (int i = 1; i + 1 < argc; i += 2) {
    std::string_view flag = argv[i];
    std::string value = argv[i + 1];
    if (flag == "--server") {
      options.server = value;
    } else if (flag == "--binary") {
      options.binary = value;
    } else if (flag == "--connections") {
      options.connections = std::strtoull(value.c_str(), nullptr, 10);
    } else if (flag == "--timeout-seconds") {
      options.timeout_seconds = std::atoi(value.c_str());
    } else {
      Die("unknown flag " + std::string(flag));
    }
  }
  if (argc % 2 == 0) Die("flags come in pairs: --server embed|nats-server --binary PATH ...");
  if (options.binary.empty() || (options.server != "embed" && options.server != "nats-server")) {
    Die("usage: embed_ws_load_test --server embed|nats-server --binary PATH "
        "[--connections N] [--timeout-seconds S]");
  }
  if (options.connections == 0) Die("--connections must be at least 1");
  return options;
}

}  // namespace

int main(int argc, char** argv) {
  const Options options = ParseOptions(argc, argv);
  const auto start = Clock::now();
  const auto deadline = start + std::chrono::seconds(options.timeout_seconds);

  // One descriptor per connection here and in the broker (which inherits this limit).
  rlimit limit{};
  getrlimit(RLIMIT_NOFILE, &limit);
  limit.rlim_cur = limit.rlim_max;
  setrlimit(RLIMIT_NOFILE, &limit);
  if (limit.rlim_max != RLIM_INFINITY && limit.rlim_max < options.connections + 256) {
    Die("RLIMIT_NOFILE hard limit " + std::to_string(limit.rlim_max) + " is below the " +
        std::to_string(options.connections + 256) + " descriptors needed");
  }

  std::string config_path;
  if (options.server == "nats-server") {
    config_path = "/tmp/embed_ws_load_test_" + std::to_string(getpid()) + ".conf";
    std::ofstream(config_path) << "websocket {\n  host: 127.0.0.1\n  port: -1\n  no_tls: true\n}\n";
  }
  BrokerProcess broker(options, config_path);
  const std::regex pattern(options.server == "embed"
                               ? R"(^embed serve: websocket on (ws://[0-9.]+:[0-9]+)\s*$)"
                               : R"(Listening for websocket clients on (ws://[0-9.]+:[0-9]+))");
  std::optional<std::string> url =
      broker.WaitForUrl(pattern, std::min(deadline, start + std::chrono::seconds(15)));
  if (!config_path.empty()) std::remove(config_path.c_str());
  if (!url) Die(options.server + " did not announce a WebSocket listener");
  auto address = embed::bench::ParseWsUrl(*url);
  if (!address) Die("bad WebSocket URL " + *url);

  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  const long rss_idle_kib = ReadRssKib(broker.pid());

  embed::bench::WsConnectionHerd herd(*address);
  const auto open_start = Clock::now();
  if (!herd.Open(options.connections, options.max_in_progress, deadline)) {
    Die("opened " + std::to_string(herd.ready_count()) + " of " +
        std::to_string(options.connections) + " connections: " + herd.error());
  }
  const double open_seconds = std::chrono::duration<double>(Clock::now() - open_start).count();
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  const long rss_loaded_kib = ReadRssKib(broker.pid());

  // Every connection must still be served: a PING each, every PONG back.
  const auto ping_start = Clock::now();
  if (!herd.PingAll(deadline)) Die("final PING/PONG: " + herd.error());
  const double ping_seconds = std::chrono::duration<double>(Clock::now() - ping_start).count();

  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  std::printf(
      "%s: %zu WebSocket connections open and answering (opened in %.2f s, final PING/PONG on "
      "all in %.2f s)\n"
      "broker RSS: idle %ld KiB, with connections %ld KiB, %.0f bytes per connection\n"
      "load test client peak RSS: %ld KiB\n",
      options.server.c_str(), herd.ready_count(), open_seconds, ping_seconds, rss_idle_kib,
      rss_loaded_kib,
      static_cast<double>(rss_loaded_kib - rss_idle_kib) * 1024.0 /
          static_cast<double>(options.connections),
      usage.ru_maxrss);
  std::fflush(stdout);

  herd.CloseAll();
  std::optional<int> exit_status = broker.Stop(std::chrono::seconds(15));
  if (!exit_status) Die(options.server + " did not stop within 15 s of SIGTERM");
  // nats-server exits 1 on SIGTERM by design; `embed serve` must exit 0.
  if (options.server == "embed" && *exit_status != 0) {
    Die("embed serve exited with status " + std::to_string(*exit_status));
  }
  if (Clock::now() > deadline) Die("took longer than --timeout-seconds");
  std::printf("PASS\n");
  return 0;
}
