#include "embed/client/testing/nats_server_process.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <chrono>
#include <fcntl.h>
#include <fstream>
#include <thread>

extern char** environ;

namespace embed::client::testing {
namespace {

// $EMBED_NATS_SERVER, else Debian's location, else the PATH.
std::string NatsServerPath() {
  if (const char* path = std::getenv("EMBED_NATS_SERVER"); path != nullptr && *path != 0) {
    return path;
  }
  for (const char* candidate : {"/usr/sbin/nats-server", "/usr/bin/nats-server",
                                "/usr/local/bin/nats-server"}) {
    if (::access(candidate, X_OK) == 0) return candidate;
  }
  return "nats-server";
}

sockaddr_in Loopback(std::uint16_t port) {
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_port = htons(port);
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  return address;
}

bool Accepts(std::uint16_t port) {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) return false;
  const sockaddr_in address = Loopback(port);
  const bool ok =
      ::connect(fd, reinterpret_cast<const sockaddr*>(&address), sizeof(address)) == 0;
  ::close(fd);
  return ok;
}

}  // namespace

Result<std::uint16_t> PickFreePort() {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) return IoError("socket() failed");
  sockaddr_in address = Loopback(0);
  socklen_t length = sizeof(address);
  if (::bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof(address)) != 0 ||
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length) != 0) {
    ::close(fd);
    return IoError("cannot bind an ephemeral port");
  }
  ::close(fd);
  return static_cast<std::uint16_t>(ntohs(address.sin_port));
}

Result<std::unique_ptr<NatsServerProcess>> NatsServerProcess::Start(
    std::uint16_t port, std::vector<std::string> extra_args) {
  if (port == 0) {
    EMBED_ASSIGN_OR_RETURN(port, PickFreePort());
  }
  std::unique_ptr<NatsServerProcess> server(new NatsServerProcess(port, std::move(extra_args)));
  EMBED_RETURN_IF_ERROR(server->Spawn());
  return server;
}

Result<std::unique_ptr<NatsServerProcess>> NatsServerProcess::StartWithTransports(
    const TestServerTransports& transports, std::uint16_t port) {
  if (port == 0) {
    EMBED_ASSIGN_OR_RETURN(port, PickFreePort());
  }
  std::unique_ptr<NatsServerProcess> server(new NatsServerProcess(port, {}));
  server->transports_ = transports;
  if (transports.websocket) {
    // nats-server 2.9 needs an explicit WebSocket port.
    EMBED_ASSIGN_OR_RETURN(server->ws_port_, PickFreePort());
    while (server->ws_port_ == port) {
      EMBED_ASSIGN_OR_RETURN(server->ws_port_, PickFreePort());
    }
  }
  EMBED_RETURN_IF_ERROR(server->WriteConfig());
  server->extra_args_ = {"-c", server->config_path_};
  EMBED_RETURN_IF_ERROR(server->Spawn());
  return server;
}

NatsServerProcess::~NatsServerProcess() {
  Kill();
  if (!config_path_.empty()) std::remove(config_path_.c_str());
}

std::string NatsServerProcess::url() const {
  const bool tls = !transports_.cert_file.empty();
  return (tls ? "tls://127.0.0.1:" : "nats://127.0.0.1:") + std::to_string(port_);
}

std::string NatsServerProcess::ws_url() const {
  if (!transports_.websocket) return {};
  return (transports_.ws_tls ? "wss://127.0.0.1:" : "ws://127.0.0.1:") + std::to_string(ws_port_);
}

Status NatsServerProcess::WriteConfig() {
  const auto quoted = [](const std::string& text) { return "\"" + text + "\""; };
  const TestServerTransports& t = transports_;
  std::string config;
  if (!t.cert_file.empty()) {
    config += "tls {\n";
    config += "  cert_file: " + quoted(t.cert_file) + "\n";
    config += "  key_file: " + quoted(t.key_file) + "\n";
    if (!t.ca_file.empty()) config += "  ca_file: " + quoted(t.ca_file) + "\n";
    if (t.verify_clients) config += "  verify: true\n";
    config += "  timeout: 5\n";
    config += "}\n";
  }
  if (t.websocket) {
    config += "websocket {\n";
    config += "  host: \"127.0.0.1\"\n";
    config += "  port: " + std::to_string(ws_port_) + "\n";
    config += std::string("  compression: ") + (t.ws_compression ? "true" : "false") + "\n";
    if (t.ws_tls) {
      config += "  tls {\n";
      config += "    cert_file: " + quoted(t.cert_file) + "\n";
      config += "    key_file: " + quoted(t.key_file) + "\n";
      config += "  }\n";
    } else {
      config += "  no_tls: true\n";
    }
    config += "}\n";
  }
  config_text_ = config;
  char path[] = "/tmp/embed-nats-server-XXXXXX";
  const int fd = ::mkstemp(path);
  if (fd < 0) return IoError("cannot create a nats-server config file");
  ::close(fd);
  config_path_ = path;
  std::ofstream out(config_path_, std::ios::trunc);
  out << config;
  out.close();
  if (!out) return IoError("cannot write the nats-server config file");
  return Status::Ok();
}

Status NatsServerProcess::Spawn() {
  const std::string port_text = std::to_string(port_);
  const std::string program = NatsServerPath();
  std::vector<std::string> args = {program, "-a", "127.0.0.1", "-p", port_text};
  args.insert(args.end(), extra_args_.begin(), extra_args_.end());
  std::vector<char*> argv;
  for (std::string& arg : args) argv.push_back(arg.data());
  argv.push_back(nullptr);

  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, 1, "/dev/null", O_WRONLY, 0);
  posix_spawn_file_actions_addopen(&actions, 2, "/dev/null", O_WRONLY, 0);
  pid_t pid = -1;
  const int error = posix_spawnp(&pid, program.c_str(), &actions, nullptr, argv.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  if (error != 0) return UnavailableError("cannot spawn nats-server");
  pid_ = pid;

  // Wait until it accepts: a readiness probe with a deadline, not a sleep
  // that stands in for synchronisation.
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (std::chrono::steady_clock::now() < deadline) {
    if (Accepts(port_) && (ws_port_ == 0 || Accepts(ws_port_))) return Status::Ok();
    int status = 0;
    if (::waitpid(pid_, &status, WNOHANG) == pid_) {
      pid_ = -1;
      return UnavailableError("nats-server exited at start (port in use?)");
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  Kill();
  return UnavailableError("nats-server did not accept connections in time");
}

void NatsServerProcess::Kill() {
  if (pid_ <= 0) return;
  ::kill(pid_, SIGKILL);
  int status = 0;
  while (::waitpid(pid_, &status, 0) < 0 && errno == EINTR) {
  }
  pid_ = -1;
}

TestServerKind NatsServerKind() {
  TestServerKind kind;
  kind.name = "NatsServer";
  kind.start = []() -> Result<std::unique_ptr<TestServer>> {
    EMBED_ASSIGN_OR_RETURN(auto server, NatsServerProcess::Start());
    return std::unique_ptr<TestServer>(std::move(server));
  };
  kind.start_with_auth = [](const TestServerAuth& auth) -> Result<std::unique_ptr<TestServer>> {
    std::vector<std::string> args;
    if (!auth.token.empty()) {
      args = {"--auth", auth.token};
    } else {
      args = {"--user", auth.user, "--pass", auth.password};
    }
    EMBED_ASSIGN_OR_RETURN(auto server, NatsServerProcess::Start(0, std::move(args)));
    return std::unique_ptr<TestServer>(std::move(server));
  };
  kind.start_with_transports =
      [](const TestServerTransports& transports) -> Result<std::unique_ptr<TestServer>> {
    EMBED_ASSIGN_OR_RETURN(auto server, NatsServerProcess::StartWithTransports(transports));
    return std::unique_ptr<TestServer>(std::move(server));
  };
  return kind;
}

Status NatsServerProcess::Restart() {
  Kill();
  return Spawn();
}

}  // namespace embed::client::testing
