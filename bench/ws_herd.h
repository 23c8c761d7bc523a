#pragma once
// WsConnectionHerd: many NATS-over-WebSocket client connections driven by one
// thread with non-blocking sockets and epoll. Each connection completes the
// HTTP upgrade, reads INFO, sends CONNECT + PING and waits for the PONG, then
// idles; PingAll() checks later that every one is still served. Used to
// measure a broker's memory per idle WebSocket connection (bench/) and to
// hold 10,000 of them (tests/load/). Per connection it keeps a descriptor and
// a few small counters; buffers are freed once the handshake is over.

#include <fcntl.h>
#include <sys/epoll.h>

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "bench/ws_peer.h"

namespace embed::bench {

class WsConnectionHerd {
 public:
  using Clock = std::chrono::steady_clock;

  explicit WsConnectionHerd(const sockaddr_in& address)
      : address_(address), host_port_(HostPort(address)), epoll_fd_(epoll_create1(EPOLL_CLOEXEC)) {}
  ~WsConnectionHerd() {
    CloseAll();
    if (epoll_fd_ >= 0) close(epoll_fd_);
  }
  WsConnectionHerd(const WsConnectionHerd&) = delete;
  WsConnectionHerd& operator=(const WsConnectionHerd&) = delete;

  // Opens `count` more connections, at most `max_in_progress` handshaking at
  // once. True when every one is ready before `deadline`; else error() says why.
  bool Open(std::size_t count, std::size_t max_in_progress, Clock::time_point deadline) {
    std::size_t first = connections_.size();
    connections_.reserve(first + count);
    std::size_t next = first;
    std::size_t target_ready = ready_ + count;
    while (ready_ < target_ready) {
      while (next < first + count && in_progress_ < max_in_progress && error_.empty()) {
        StartConnection();
        ++next;
      }
      if (!error_.empty()) return false;
      if (!Poll(deadline)) {
        if (error_.empty()) {
          error_ = "timed out with " + std::to_string(ready_) + " of " +
                   std::to_string(target_ready) + " connections ready";
        }
        return false;
      }
    }
    return error_.empty();
  }

  // Sends a NATS PING on every ready connection and waits for all PONGs.
  bool PingAll(Clock::time_point deadline) {
    awaiting_pong_ = 0;
    for (std::size_t index = 0; index < connections_.size(); ++index) {
      Connection& connection = *connections_[index];
      if (connection.state != State::kReady) continue;
      connection.pongs_wanted = connection.ops.pongs + 1;
      connection.state = State::kAwaitingPong;
      ++awaiting_pong_;
      SendNats(index, "PING\r\n");
    }
    while (awaiting_pong_ > 0 && error_.empty()) {
      if (!Poll(deadline)) {
        if (error_.empty()) {
          error_ = std::to_string(awaiting_pong_) + " connections did not answer PING in time";
        }
        return false;
      }
    }
    return error_.empty();
  }

  // Closes every connection with a reset (no TIME_WAIT left behind, so back-to-back runs
  // do not run out of ephemeral ports).
  void CloseAll() {
    for (auto& connection : connections_) {
      if (connection && connection->fd >= 0) {
        linger abort{1, 0};
        setsockopt(connection->fd, SOL_SOCKET, SO_LINGER, &abort, sizeof(abort));
        close(connection->fd);
        connection->fd = -1;
      }
    }
    connections_.clear();
    ready_ = 0;
    in_progress_ = 0;
  }

  std::size_t ready_count() const { return ready_; }
  const std::string& error() const { return error_; }

 private:
  enum class State : std::uint8_t {
    kConnecting,
    kUpgrading,
    kAwaitingInfo,
    kAwaitingConnectPong,
    kReady,
    kAwaitingPong,
    kClosed,
  };

  struct Connection {
    int fd = -1;
    State state = State::kConnecting;
    std::string input;   // the HTTP response head while upgrading
    std::string output;  // bytes the socket did not take yet
    ServerFrameReader frames;
    NatsOpScanner ops;
    std::uint64_t pongs_wanted = 0;
    std::uint64_t pings_answered = 0;
    std::size_t ws_pings_answered = 0;
  };

  void Fail(std::size_t index, const std::string& why) {
    Connection& connection = *connections_[index];
    if (error_.empty()) error_ = "connection " + std::to_string(index) + ": " + why;
    if (connection.fd >= 0) close(connection.fd);
    connection.fd = -1;
    connection.state = State::kClosed;
  }

  void StartConnection() {
    std::size_t index = connections_.size();
    connections_.push_back(std::make_unique<Connection>());
    Connection& connection = *connections_.back();
    ++in_progress_;
    connection.fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (connection.fd < 0) return Fail(index, std::string("socket: ") + std::strerror(errno));
    int one = 1;
    setsockopt(connection.fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    if (connect(connection.fd, reinterpret_cast<const sockaddr*>(&address_), sizeof(address_)) !=
            0 &&
        errno != EINPROGRESS) {
      return Fail(index, std::string("connect: ") + std::strerror(errno));
    }
    epoll_event event{};
    event.events = EPOLLIN | EPOLLOUT;
    event.data.u64 = index;
    if (epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, connection.fd, &event) != 0) {
      return Fail(index, std::string("epoll_ctl: ") + std::strerror(errno));
    }
  }

  // Waits for events until `deadline`; false when it passed with none.
  bool Poll(Clock::time_point deadline) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
    if (left.count() <= 0) return false;
    epoll_event events[256];
    int count = epoll_wait(epoll_fd_, events, 256, static_cast<int>(std::min<long long>(
                                                       left.count(), 1000)));
    if (count < 0 && errno != EINTR) {
      error_ = std::string("epoll_wait: ") + std::strerror(errno);
      return false;
    }
    for (int i = 0; i < count; ++i) {
      std::size_t index = static_cast<std::size_t>(events[i].data.u64);
      Connection& connection = *connections_[index];
      if (connection.fd < 0) continue;
      if (events[i].events & EPOLLOUT) OnWritable(index);
      if (connection.fd >= 0 && (events[i].events & (EPOLLIN | EPOLLHUP | EPOLLERR))) {
        OnReadable(index);
      }
    }
    return true;
  }

  void WatchWrites(std::size_t index, bool watch) {
    epoll_event event{};
    event.events = EPOLLIN | (watch ? EPOLLOUT : 0u);
    event.data.u64 = index;
    epoll_ctl(epoll_fd_, EPOLL_CTL_MOD, connections_[index]->fd, &event);
  }

  void OnWritable(std::size_t index) {
    Connection& connection = *connections_[index];
    if (connection.state == State::kConnecting) {
      int socket_error = 0;
      socklen_t length = sizeof(socket_error);
      getsockopt(connection.fd, SOL_SOCKET, SO_ERROR, &socket_error, &length);
      if (socket_error != 0) return Fail(index, std::string("connect: ") + std::strerror(socket_error));
      connection.state = State::kUpgrading;
      connection.output = UpgradeRequest(host_port_);
    }
    Flush(index);
  }

  void Flush(std::size_t index) {
    Connection& connection = *connections_[index];
    while (!connection.output.empty()) {
      ssize_t sent = send(connection.fd, connection.output.data(), connection.output.size(),
                          MSG_NOSIGNAL);
      if (sent < 0) {
        if (errno == EINTR) continue;
        if (errno == EAGAIN || errno == EWOULDBLOCK) return WatchWrites(index, true);
        return Fail(index, std::string("send: ") + std::strerror(errno));
      }
      connection.output.erase(0, static_cast<std::size_t>(sent));
    }
    std::string().swap(connection.output);
    WatchWrites(index, false);
  }

  void SendNats(std::size_t index, std::string_view bytes) {
    Connection& connection = *connections_[index];
    AppendClientFrame(connection.output, bytes, RandomMaskKey());
    Flush(index);
  }

  void OnReadable(std::size_t index) {
    Connection& connection = *connections_[index];
    char buffer[16 * 1024];
    while (connection.fd >= 0) {
      ssize_t count = recv(connection.fd, buffer, sizeof(buffer), 0);
      if (count < 0) {
        if (errno == EINTR) continue;
        if (errno == EAGAIN || errno == EWOULDBLOCK) return;
        return Fail(index, std::string("recv: ") + std::strerror(errno));
      }
      if (count == 0) return Fail(index, "the server closed the connection");
      OnBytes(index, buffer, static_cast<std::size_t>(count));
    }
  }

  void OnBytes(std::size_t index, const char* data, std::size_t size) {
    Connection& connection = *connections_[index];
    if (connection.state == State::kUpgrading || connection.state == State::kConnecting) {
      connection.input.append(data, size);
      std::size_t head = ResponseHeadLength(connection.input);
      if (head == 0) {
        if (connection.input.size() > 16 * 1024) Fail(index, "upgrade response too long");
        return;
      }
      if (!IsSwitchingProtocols(connection.input)) {
        return Fail(index, "upgrade refused: " +
                               connection.input.substr(0, connection.input.find('\r')));
      }
      std::string rest = connection.input.substr(head);
      std::string().swap(connection.input);
      connection.state = State::kAwaitingInfo;
      if (!rest.empty()) OnBytes(index, rest.data(), rest.size());
      return;
    }
    connection.frames.Feed(data, size, [&connection](const char* bytes, std::size_t length) {
      connection.ops.Feed(bytes, length);
    });
    ServerFrameReader::Events& events = connection.frames.events();
    if (!events.error.empty()) return Fail(index, events.error);
    if (events.closed) return Fail(index, "the server sent a WebSocket CLOSE");
    if (!connection.ops.error.empty()) return Fail(index, connection.ops.error);
    std::string replies;
    while (connection.ws_pings_answered < events.pings) {
      ++connection.ws_pings_answered;
      AppendClientFrame(connection.output, events.ping_payload, RandomMaskKey(), kOpPong);
    }
    while (connection.pings_answered < connection.ops.pings) {
      ++connection.pings_answered;
      replies += "PONG\r\n";
    }
    if (connection.state == State::kAwaitingInfo && connection.ops.infos > 0) {
      replies += ConnectLine();
      replies += "PING\r\n";
      connection.state = State::kAwaitingConnectPong;
    }
    if (connection.state == State::kAwaitingConnectPong && connection.ops.pongs > 0) {
      connection.state = State::kReady;
      ++ready_;
      --in_progress_;
      connection.ops.Compact();
    } else if (connection.state == State::kAwaitingPong &&
               connection.ops.pongs >= connection.pongs_wanted) {
      connection.state = State::kReady;
      --awaiting_pong_;
    }
    if (!replies.empty()) AppendClientFrame(connection.output, replies, RandomMaskKey());
    if (!connection.output.empty()) Flush(index);
  }

  const sockaddr_in address_;
  const std::string host_port_;
  const int epoll_fd_;
  std::vector<std::unique_ptr<Connection>> connections_;
  std::size_t ready_ = 0;
  std::size_t in_progress_ = 0;
  std::size_t awaiting_pong_ = 0;
  std::string error_;
};

}  // namespace embed::bench
