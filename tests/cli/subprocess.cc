#include "tests/cli/subprocess.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

extern char** environ;

namespace embed::cli_test {
namespace {

using SteadyClock = std::chrono::steady_clock;

void CloseIfOpen(int& fd) {
  if (fd >= 0) ::close(fd);
  fd = -1;
}

int ExitCodeOf(int wait_status) {
  if (WIFEXITED(wait_status)) return WEXITSTATUS(wait_status);
  if (WIFSIGNALED(wait_status)) return 128 + WTERMSIG(wait_status);
  return -1;
}

}  // namespace

std::unique_ptr<Subprocess> Subprocess::Start(const std::vector<std::string>& argv,
                                              const SubprocessOptions& options) {
  // Writing the stdin of a child that already exited must fail with EPIPE,
  // not kill the test. (The child gets default handling back below.)
  ::signal(SIGPIPE, SIG_IGN);
  int stdout_pipe[2];
  int stderr_pipe[2];
  int stdin_pipe[2] = {-1, -1};
  if (::pipe2(stdout_pipe, O_CLOEXEC) != 0) return nullptr;
  if (::pipe2(stderr_pipe, O_CLOEXEC) != 0) return nullptr;
  if (options.stdin_text && ::pipe2(stdin_pipe, O_CLOEXEC) != 0) return nullptr;

  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  if (options.stdin_text) {
    posix_spawn_file_actions_adddup2(&actions, stdin_pipe[0], STDIN_FILENO);
  } else {
    posix_spawn_file_actions_addopen(&actions, STDIN_FILENO, "/dev/null", O_RDONLY, 0);
  }
  posix_spawn_file_actions_adddup2(&actions, stdout_pipe[1], STDOUT_FILENO);
  posix_spawn_file_actions_adddup2(&actions, stderr_pipe[1], STDERR_FILENO);

  // The child starts with default signal handling and nothing blocked,
  // whatever the test process did.
  posix_spawnattr_t attributes;
  posix_spawnattr_init(&attributes);
  sigset_t empty_mask;
  sigemptyset(&empty_mask);
  sigset_t default_signals;
  sigemptyset(&default_signals);
  for (int signal_number : {SIGINT, SIGTERM, SIGPIPE, SIGHUP}) {
    sigaddset(&default_signals, signal_number);
  }
  posix_spawnattr_setsigmask(&attributes, &empty_mask);
  posix_spawnattr_setsigdefault(&attributes, &default_signals);
  posix_spawnattr_setflags(&attributes, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);

  std::vector<std::string> environment;
  for (char** entry = environ; *entry != nullptr; ++entry) {
    if (std::strncmp(*entry, "NATS_URL=", 9) == 0) continue;
    environment.emplace_back(*entry);
  }
  for (const auto& [name, value] : options.environment) environment.push_back(name + "=" + value);

  std::vector<char*> argv_pointers;
  for (const std::string& argument : argv)
    argv_pointers.push_back(const_cast<char*>(argument.c_str()));
  argv_pointers.push_back(nullptr);
  std::vector<char*> env_pointers;
  for (std::string& entry : environment) env_pointers.push_back(entry.data());
  env_pointers.push_back(nullptr);

  pid_t pid = -1;
  const int spawned = ::posix_spawn(&pid, argv_pointers[0], &actions, &attributes,
                                    argv_pointers.data(), env_pointers.data());
  posix_spawn_file_actions_destroy(&actions);
  posix_spawnattr_destroy(&attributes);
  ::close(stdout_pipe[1]);
  ::close(stderr_pipe[1]);
  if (options.stdin_text) ::close(stdin_pipe[0]);
  if (spawned != 0) {
    ::close(stdout_pipe[0]);
    ::close(stderr_pipe[0]);
    if (options.stdin_text) ::close(stdin_pipe[1]);
    return nullptr;
  }
  std::unique_ptr<Subprocess> child(new Subprocess());
  child->pid_ = pid;
  child->stdout_fd_ = stdout_pipe[0];
  child->stderr_fd_ = stderr_pipe[0];
  if (options.stdin_text) {
    // Written from ReadSome() as the child reads, so a large input cannot
    // deadlock against a child that is blocked writing its output.
    ::fcntl(stdin_pipe[1], F_SETFL, ::fcntl(stdin_pipe[1], F_GETFL) | O_NONBLOCK);
    child->stdin_fd_ = stdin_pipe[1];
    child->stdin_text_ = *options.stdin_text;
    if (child->stdin_text_.empty()) CloseIfOpen(child->stdin_fd_);
  }
  return child;
}

Subprocess::~Subprocess() {
  if (pid_ > 0 && !exit_code_) {
    ::kill(pid_, SIGKILL);
    int wait_status = 0;
    ::waitpid(pid_, &wait_status, 0);
  }
  CloseIfOpen(stdin_fd_);
  CloseIfOpen(stdout_fd_);
  CloseIfOpen(stderr_fd_);
}

bool Subprocess::ReadSome(SteadyClock::time_point deadline) {
  pollfd fds[3];
  nfds_t count = 0;
  if (stdout_fd_ >= 0) fds[count++] = {stdout_fd_, POLLIN, 0};
  if (stderr_fd_ >= 0) fds[count++] = {stderr_fd_, POLLIN, 0};
  if (count == 0) return false;
  if (stdin_fd_ >= 0) fds[count++] = {stdin_fd_, POLLOUT, 0};
  const auto remaining =
      std::chrono::duration_cast<std::chrono::milliseconds>(deadline - SteadyClock::now());
  if (remaining.count() <= 0) return false;
  const int ready = ::poll(fds, count, static_cast<int>(remaining.count()));
  if (ready < 0 && errno == EINTR) return true;
  if (ready <= 0) return false;
  for (nfds_t i = 0; i < count; ++i) {
    if (fds[i].revents == 0) continue;
    if (fds[i].fd == stdin_fd_) {
      const ssize_t n = ::write(stdin_fd_, stdin_text_.data() + stdin_written_,
                                stdin_text_.size() - stdin_written_);
      if (n > 0) stdin_written_ += static_cast<std::size_t>(n);
      if ((n < 0 && errno != EAGAIN && errno != EINTR) || stdin_written_ == stdin_text_.size()) {
        CloseIfOpen(stdin_fd_);  // all written, or the child closed its stdin
      }
      continue;
    }
    char buffer[4096];
    const ssize_t n = ::read(fds[i].fd, buffer, sizeof buffer);
    const bool is_stdout = fds[i].fd == stdout_fd_;
    if (n > 0) {
      (is_stdout ? stdout_text_ : stderr_text_).append(buffer, static_cast<std::size_t>(n));
    } else if (n == 0 || errno != EINTR) {
      CloseIfOpen(is_stdout ? stdout_fd_ : stderr_fd_);
    }
  }
  return true;
}

std::optional<std::string> Subprocess::WaitForLine(std::string_view needle,
                                                   std::chrono::milliseconds timeout,
                                                   Stream stream) {
  const SteadyClock::time_point deadline = SteadyClock::now() + timeout;
  const bool is_stdout = stream == Stream::kStdout;
  const std::string& text = is_stdout ? stdout_text_ : stderr_text_;
  std::size_t& cursor = is_stdout ? stdout_cursor_ : stderr_cursor_;
  const int& fd = is_stdout ? stdout_fd_ : stderr_fd_;
  while (true) {
    std::size_t newline;
    while ((newline = text.find('\n', cursor)) != std::string::npos) {
      std::string line = text.substr(cursor, newline - cursor);
      cursor = newline + 1;
      if (line.find(needle) != std::string::npos) return line;
    }
    if (fd < 0) return std::nullopt;
    if (!ReadSome(deadline) && SteadyClock::now() >= deadline) return std::nullopt;
  }
}

std::optional<int> Subprocess::WaitForExit(std::chrono::milliseconds timeout) {
  if (exit_code_) return exit_code_;
  const SteadyClock::time_point deadline = SteadyClock::now() + timeout;
  while (stdout_fd_ >= 0 || stderr_fd_ >= 0) {
    if (!ReadSome(deadline) && SteadyClock::now() >= deadline) return std::nullopt;
  }
  // Both pipes closed: the child has exited (or closed them and is about to).
  int wait_status = 0;
  if (::waitpid(pid_, &wait_status, 0) != pid_) return std::nullopt;
  exit_code_ = ExitCodeOf(wait_status);
  return exit_code_;
}

void Subprocess::SendSignal(int signal_number) {
  if (pid_ > 0 && !exit_code_) ::kill(pid_, signal_number);
}

RunResult RunToExit(const std::vector<std::string>& argv, std::chrono::milliseconds timeout,
                    const SubprocessOptions& options) {
  RunResult result;
  std::unique_ptr<Subprocess> child = Subprocess::Start(argv, options);
  if (child == nullptr) return result;
  result.started = true;
  std::optional<int> exit_code = child->WaitForExit(timeout);
  result.exited = exit_code.has_value();
  result.exit_code = exit_code.value_or(-1);
  result.out = child->stdout_text();
  result.err = child->stderr_text();
  return result;
}

int FreeLoopbackPort() {
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return -1;
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  address.sin_port = 0;
  socklen_t length = sizeof address;
  int port = -1;
  if (::bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof address) == 0 &&
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length) == 0) {
    port = ntohs(address.sin_port);
  }
  ::close(fd);
  return port;
}

}  // namespace embed::cli_test
