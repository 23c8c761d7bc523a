#pragma once
// The client side of NATS over WebSocket, as small as load tools need it:
// the HTTP upgrade, masked client frames, a streaming reader of server frames
// and a streaming scanner that counts NATS ops (MSG, PING, PONG, INFO, -ERR).
// Written from RFC 6455 and nats-wire §7 without the code under test, so the
// same bytes reach Embed's broker and nats-server. Plain POSIX sockets, no
// Asio; header-only, used by bench/ws_loadgen.cc and tests/load/.

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <optional>
#include <random>
#include <string>
#include <string_view>

namespace embed::bench {

// "ws://127.0.0.1:4223" (a path is ignored) -> address; nullopt when malformed.
inline std::optional<sockaddr_in> ParseWsUrl(std::string_view url) {
  constexpr std::string_view kScheme = "ws://";
  if (url.substr(0, kScheme.size()) != kScheme) return std::nullopt;
  url.remove_prefix(kScheme.size());
  url = url.substr(0, url.find('/'));
  std::size_t colon = url.rfind(':');
  if (colon == std::string_view::npos) return std::nullopt;
  std::string host(url.substr(0, colon));
  std::string port(url.substr(colon + 1));
  char* end = nullptr;
  long number = std::strtol(port.c_str(), &end, 10);
  if (port.empty() || *end != '\0' || number <= 0 || number > 65535) return std::nullopt;
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_port = htons(static_cast<std::uint16_t>(number));
  if (host == "localhost") host = "127.0.0.1";
  if (inet_pton(AF_INET, host.c_str(), &address.sin_addr) != 1) return std::nullopt;
  return address;
}

inline std::string HostPort(const sockaddr_in& address) {
  char host[INET_ADDRSTRLEN] = {};
  inet_ntop(AF_INET, &address.sin_addr, host, sizeof(host));
  return std::string(host) + ":" + std::to_string(ntohs(address.sin_port));
}

// The upgrade request; no extensions offered (no compression, masked frames).
inline std::string UpgradeRequest(std::string_view host_port) {
  // The key only has to be 16 bytes in base64; the server's accept value is not checked here.
  return "GET / HTTP/1.1\r\nHost: " + std::string(host_port) +
         "\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
         "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n";
}

// Given the bytes read so far, the length of a complete HTTP response head
// (through the blank line), 0 while incomplete.
inline std::size_t ResponseHeadLength(std::string_view bytes) {
  std::size_t end = bytes.find("\r\n\r\n");
  return end == std::string_view::npos ? 0 : end + 4;
}

inline bool IsSwitchingProtocols(std::string_view head) {
  return head.substr(0, 13) == "HTTP/1.1 101 ";
}

enum : std::uint8_t {
  kOpContinuation = 0x0,
  kOpText = 0x1,
  kOpBinary = 0x2,
  kOpClose = 0x8,
  kOpPing = 0x9,
  kOpPong = 0xA,
};

// Appends one final, masked client frame carrying `payload`.
inline void AppendClientFrame(std::string& out, std::string_view payload, std::uint32_t mask_key,
                              std::uint8_t opcode = kOpBinary) {
  out.push_back(static_cast<char>(0x80 | opcode));
  const std::size_t size = payload.size();
  if (size < 126) {
    out.push_back(static_cast<char>(0x80 | size));
  } else if (size <= 0xFFFF) {
    out.push_back(static_cast<char>(0x80 | 126));
    out.push_back(static_cast<char>(size >> 8));
    out.push_back(static_cast<char>(size & 0xFF));
  } else {
    out.push_back(static_cast<char>(0x80 | 127));
    for (int shift = 56; shift >= 0; shift -= 8) {
      out.push_back(static_cast<char>((static_cast<std::uint64_t>(size) >> shift) & 0xFF));
    }
  }
  char mask[4] = {static_cast<char>(mask_key >> 24), static_cast<char>(mask_key >> 16),
                  static_cast<char>(mask_key >> 8), static_cast<char>(mask_key)};
  out.append(mask, 4);
  std::size_t start = out.size();
  out.append(payload);
  for (std::size_t i = 0; i < size; ++i) out[start + i] ^= mask[i % 4];
}

inline std::uint32_t RandomMaskKey() {
  static thread_local std::mt19937 random(std::random_device{}());
  return static_cast<std::uint32_t>(random());
}

// Decodes server frames from a byte stream. Data frame payloads go to
// on_data(const char*, size_t) as they arrive (no per-frame buffering);
// control frames are gathered (<= 125 bytes) and reported.
class ServerFrameReader {
 public:
  struct Events {
    std::size_t pings = 0;   // WebSocket PINGs: the caller owes a PONG with ping_payload
    std::string ping_payload;
    bool closed = false;     // a CLOSE arrived
    std::string error;       // protocol problem (empty if none)
  };

  template <typename OnData>
  void Feed(const char* data, std::size_t size, OnData&& on_data) {
    while (size > 0 && events_.error.empty()) {
      if (remaining_ == 0 && !in_payload_) {
        // Header: 2 bytes, then 2 or 8 bytes of length (servers never mask).
        std::size_t take = std::min(size, sizeof(header_) - header_size_);
        std::memcpy(header_ + header_size_, data, take);
        std::size_t before = header_size_;
        header_size_ += take;
        std::size_t needed = HeaderLength();
        if (header_size_ < needed) {
          data += take;
          size -= take;
          continue;
        }
        std::size_t used = needed - before;
        data += used;
        size -= used;
        StartPayload();
        continue;
      }
      std::size_t take = static_cast<std::size_t>(std::min<std::uint64_t>(size, remaining_));
      if (is_control_) {
        control_.append(data, take);
      } else {
        on_data(data, take);
      }
      data += take;
      size -= take;
      remaining_ -= take;
      if (remaining_ == 0) FinishFrame();
    }
  }

  Events& events() { return events_; }

 private:
  std::size_t HeaderLength() const {
    if (header_size_ < 2) return 2;
    std::uint8_t length = static_cast<std::uint8_t>(header_[1]) & 0x7F;
    std::size_t mask = (static_cast<std::uint8_t>(header_[1]) & 0x80) ? 4 : 0;
    if (length == 126) return 4 + mask;
    if (length == 127) return 10 + mask;
    return 2 + mask;
  }

  void StartPayload() {
    std::uint8_t first = static_cast<std::uint8_t>(header_[0]);
    std::uint8_t second = static_cast<std::uint8_t>(header_[1]);
    opcode_ = first & 0x0F;
    if ((first & 0x70) != 0) {
      events_.error = "server frame has RSV bits set (no extension was negotiated)";
    }
    if (second & 0x80) events_.error = "server frame is masked";
    std::uint64_t length = second & 0x7F;
    if (length == 126) {
      length = (static_cast<std::uint64_t>(static_cast<std::uint8_t>(header_[2])) << 8) |
               static_cast<std::uint8_t>(header_[3]);
    } else if (length == 127) {
      length = 0;
      for (int i = 2; i < 10; ++i) length = (length << 8) | static_cast<std::uint8_t>(header_[i]);
    }
    is_control_ = (opcode_ & 0x08) != 0;
    if (is_control_ && length > 125) events_.error = "control frame over 125 bytes";
    header_size_ = 0;
    remaining_ = length;
    in_payload_ = true;
    control_.clear();
    if (remaining_ == 0) FinishFrame();
  }

  void FinishFrame() {
    in_payload_ = false;
    if (opcode_ == kOpPing) {
      ++events_.pings;
      events_.ping_payload = control_;
    } else if (opcode_ == kOpClose) {
      events_.closed = true;
    }
    control_.clear();
  }

  char header_[10] = {};
  std::size_t header_size_ = 0;
  std::uint64_t remaining_ = 0;
  bool in_payload_ = false;
  bool is_control_ = false;
  std::uint8_t opcode_ = 0;
  std::string control_;
  Events events_;
};

// Counts NATS server ops in the application byte stream (streaming: ops may
// be split anywhere). MSG payloads are skipped, never copied.
class NatsOpScanner {
 public:
  // A control line longer than this is a protocol error (INFO is the longest).
  static constexpr std::size_t kMaxLineBytes = 64 * 1024;

  std::uint64_t messages = 0;
  std::uint64_t pings = 0;  // NATS PINGs: the caller owes a PONG
  std::uint64_t pongs = 0;
  std::uint64_t infos = 0;
  std::string error;  // the -ERR text or a parse problem

  void Feed(const char* data, std::size_t size) {
    while (size > 0) {
      if (skip_ > 0) {
        std::size_t take = static_cast<std::size_t>(std::min<std::uint64_t>(skip_, size));
        data += take;
        size -= take;
        skip_ -= take;
        continue;
      }
      const char* newline = static_cast<const char*>(std::memchr(data, '\n', size));
      if (newline == nullptr) {
        line_.append(data, size);
        if (line_.size() > kMaxLineBytes && error.empty()) error = "control line too long";
        return;
      }
      std::size_t length = static_cast<std::size_t>(newline - data);
      if (line_.empty()) {
        OnLine(std::string_view(data, length));
      } else {
        line_.append(data, length);
        OnLine(line_);
        line_.clear();
      }
      data += length + 1;
      size -= length + 1;
    }
  }

  // Frees the partial-line buffer (for idle connections).
  void Compact() {
    if (line_.empty()) std::string().swap(line_);
  }

 private:
  void OnLine(std::string_view line) {
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (line.substr(0, 4) == "MSG ") {
      // MSG <subject> <sid> [reply] <size>: the last token is the size.
      std::size_t space = line.rfind(' ');
      std::uint64_t payload = 0;
      for (char c : line.substr(space + 1)) {
        if (c < '0' || c > '9') {
          if (error.empty()) error = "bad MSG line";
          return;
        }
        payload = payload * 10 + static_cast<std::uint64_t>(c - '0');
      }
      ++messages;
      skip_ = payload + 2;  // payload and its CRLF
    } else if (line == "PING") {
      ++pings;
    } else if (line == "PONG") {
      ++pongs;
    } else if (line.substr(0, 5) == "INFO ") {
      ++infos;
    } else if (line.substr(0, 4) == "-ERR") {
      if (error.empty()) error = std::string(line);
    } else if (line != "+OK" && error.empty()) {
      error = "unexpected line: " + std::string(line.substr(0, 80));
    }
  }

  std::string line_;
  std::uint64_t skip_ = 0;
};

// CONNECT as a quiet client: no +OK, no echo needed, protocol 1.
inline std::string_view ConnectLine() {
  return "CONNECT {\"verbose\":false,\"pedantic\":false,\"tls_required\":false,"
         "\"name\":\"ws-load\",\"lang\":\"cpp\",\"version\":\"0.1\",\"protocol\":1,"
         "\"echo\":false,\"headers\":false,\"no_responders\":false}\r\n";
}

}  // namespace embed::bench
