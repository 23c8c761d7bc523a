#include "embed/testing/raw_peer.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <algorithm>

namespace embed::testing {

using Clock = std::chrono::steady_clock;

Result<std::unique_ptr<RawPeer>> RawPeer::Connect(std::uint16_t port, int receive_buffer_bytes) {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) return IoError("socket() failed");
  if (receive_buffer_bytes > 0) {
    ::setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &receive_buffer_bytes, sizeof(receive_buffer_bytes));
  }
  int one = 1;
  ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_port = htons(port);
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&address), sizeof(address)) != 0) {
    ::close(fd);
    return IoError(std::string("connect() failed: ") + std::strerror(errno));
  }
  return std::unique_ptr<RawPeer>(new RawPeer(fd));
}

RawPeer::~RawPeer() { Close(); }

void RawPeer::Close() {
  if (fd_ >= 0) ::close(fd_);
  fd_ = -1;
}

Status RawPeer::Send(std::string_view bytes) {
  while (!bytes.empty()) {
    ssize_t written = ::send(fd_, bytes.data(), bytes.size(), MSG_NOSIGNAL);
    if (written < 0) {
      if (errno == EINTR) continue;
      return IoError(std::string("send() failed: ") + std::strerror(errno));
    }
    bytes.remove_prefix(static_cast<std::size_t>(written));
  }
  return Status::Ok();
}

Status RawPeer::Fill(Clock::time_point deadline) {
  while (true) {
    auto remaining =
        std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
    if (remaining.count() < 0) return TimeoutError("no data before the deadline");
    pollfd poll_fd{fd_, POLLIN, 0};
    int ready = ::poll(&poll_fd, 1, static_cast<int>(remaining.count()));
    if (ready < 0 && errno == EINTR) continue;
    if (ready <= 0) return TimeoutError("no data before the deadline");
    char chunk[16384];
    ssize_t count = ::recv(fd_, chunk, sizeof(chunk), 0);
    if (count < 0 && errno == EINTR) continue;
    if (count <= 0) return UnavailableError("connection closed by the server");
    buffer_.append(chunk, static_cast<std::size_t>(count));
    return Status::Ok();
  }
}

Result<std::string> RawPeer::ReadLine(std::chrono::milliseconds timeout) {
  auto deadline = Clock::now() + timeout;
  while (true) {
    std::size_t end = buffer_.find('\n');
    if (end != std::string::npos) {
      std::string line = buffer_.substr(0, end);
      buffer_.erase(0, end + 1);
      if (!line.empty() && line.back() == '\r') line.pop_back();
      return line;
    }
    EMBED_RETURN_IF_ERROR(Fill(deadline));
  }
}

Result<std::string> RawPeer::ReadBytes(std::size_t count, std::chrono::milliseconds timeout) {
  auto deadline = Clock::now() + timeout;
  while (buffer_.size() < count) EMBED_RETURN_IF_ERROR(Fill(deadline));
  std::string bytes = buffer_.substr(0, count);
  buffer_.erase(0, count);
  return bytes;
}

Status RawPeer::DiscardBytes(std::size_t count, std::chrono::milliseconds timeout) {
  auto deadline = Clock::now() + timeout;
  while (true) {
    std::size_t take = std::min(count, buffer_.size());
    buffer_.erase(0, take);
    count -= take;
    if (count == 0) return Status::Ok();
    EMBED_RETURN_IF_ERROR(Fill(deadline));
  }
}

Result<RawPeer::Delivery> RawPeer::ReadMessage(std::chrono::milliseconds timeout) {
  auto read = ReadLine(timeout);
  if (!read.ok()) return read.status();
  const std::string& line = *read;
  if (line.rfind("MSG ", 0) != 0 && line.rfind("HMSG ", 0) != 0) {
    return ProtocolError("expected MSG or HMSG, got: " + line);
  }
  std::size_t last_space = line.rfind(' ');
  std::size_t size = std::stoul(line.substr(last_space + 1));
  auto body_read = ReadBytes(size + 2, timeout);
  if (!body_read.ok()) return body_read.status();
  std::string body = std::move(body_read).value();
  body.resize(size);
  return Delivery{line, std::move(body)};
}

Result<std::vector<std::string>> RawPeer::LinesUntilPong(std::chrono::milliseconds timeout) {
  EMBED_RETURN_IF_ERROR(Send("PING\r\n"));
  std::vector<std::string> lines;
  while (true) {
    auto line = ReadLine(timeout);
    if (!line.ok()) return line.status();
    if (*line == "PONG") return lines;
    lines.push_back(std::move(line).value());
  }
}

bool RawPeer::WaitForClose(std::chrono::milliseconds timeout) {
  constexpr std::size_t kKeptBytes = 64 * 1024;
  auto deadline = Clock::now() + timeout;
  while (true) {
    std::size_t kept = buffer_.size();
    Status status = Fill(deadline);
    if (kept >= kKeptBytes) buffer_.resize(kept);
    if (status.code() == StatusCode::kUnavailable) return true;
    if (!status.ok()) return false;
  }
}

Result<std::string> RawPeer::Handshake(std::string_view connect_json) {
  auto info_read = ReadLine();
  if (!info_read.ok()) return info_read.status();
  std::string info = std::move(info_read).value();
  if (!info.starts_with("INFO ")) return ProtocolError("expected INFO, got: " + info);
  EMBED_RETURN_IF_ERROR(Send("CONNECT " + std::string(connect_json) + "\r\nPING\r\n"));
  while (true) {
    auto line = ReadLine();
    if (!line.ok()) return line.status();
    if (*line == "PONG") break;
    if (*line != "+OK") return ProtocolError("unexpected handshake reply: " + *line);
  }
  return info.substr(5);
}

}  // namespace embed::testing
