#pragma once
// Test helper: runs a program with pipes on stdin/stdout/stderr and reads its
// output with deadlines (poll), never sleeps. Not thread-safe. The destructor
// kills (SIGKILL) and reaps a child that is still running.
//
//   auto child = Subprocess::Start({binary, "serve", "--port", "0"});
//   auto line = child->WaitForLine("listening on", std::chrono::seconds(10));
//   child->SendSignal(SIGTERM);
//   auto exit_code = child->WaitForExit(std::chrono::seconds(10));

#include <sys/types.h>

#include <chrono>
#include <cstddef>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace embed::cli_test {

struct SubprocessOptions {
  // Variables set in the child on top of the parent's environment (the
  // parent's NATS_URL is always removed first so tests are hermetic).
  std::vector<std::pair<std::string, std::string>> environment;
  // Written to the child's stdin (while the caller waits for output or exit),
  // which is then closed; nullopt = /dev/null.
  std::optional<std::string> stdin_text;
};

class Subprocess {
 public:
  // Starts argv[0] (a path) with the arguments. nullptr if it cannot start.
  static std::unique_ptr<Subprocess> Start(const std::vector<std::string>& argv,
                                           const SubprocessOptions& options = {});
  ~Subprocess();

  Subprocess(const Subprocess&) = delete;
  Subprocess& operator=(const Subprocess&) = delete;

  enum class Stream { kStdout, kStderr };

  // Reads until a complete line of `stream` contains `needle` (searching lines
  // after the last one returned from that stream) and returns that line
  // without its newline; nullopt when the timeout passes or the stream ends first.
  std::optional<std::string> WaitForLine(std::string_view needle, std::chrono::milliseconds timeout,
                                         Stream stream = Stream::kStdout);

  // Reads both pipes until they close, then reaps the child. Returns the exit
  // code (128 + signal number when killed by a signal), nullopt on timeout.
  std::optional<int> WaitForExit(std::chrono::milliseconds timeout);

  void SendSignal(int signal_number);

  pid_t pid() const { return pid_; }
  // Everything read so far.
  const std::string& stdout_text() const { return stdout_text_; }
  const std::string& stderr_text() const { return stderr_text_; }

 private:
  Subprocess() = default;
  // Waits up to `deadline` for output and reads what is available. Returns
  // false when both pipes are closed or the deadline passed with nothing read.
  bool ReadSome(std::chrono::steady_clock::time_point deadline);

  pid_t pid_ = -1;
  int stdin_fd_ = -1;  // open while stdin_text_ is not fully written
  std::string stdin_text_;
  std::size_t stdin_written_ = 0;
  int stdout_fd_ = -1;
  int stderr_fd_ = -1;
  std::string stdout_text_;
  std::string stderr_text_;
  // Offsets up to which WaitForLine has consumed stdout / stderr.
  std::size_t stdout_cursor_ = 0;
  std::size_t stderr_cursor_ = 0;
  std::optional<int> exit_code_;
};

// What a program run to completion (RunToExit) did.
struct RunResult {
  bool started = false;  // false: it could not be started
  bool exited = false;   // false: still running at the timeout (it is then killed)
  int exit_code = -1;
  std::string out;
  std::string err;
};

// Runs argv[0] with the arguments until it exits, up to `timeout`.
RunResult RunToExit(const std::vector<std::string>& argv, std::chrono::milliseconds timeout,
                    const SubprocessOptions& options = {});

// Returns a loopback TCP port that was free a moment ago (bound, then closed).
int FreeLoopbackPort();

}  // namespace embed::cli_test
