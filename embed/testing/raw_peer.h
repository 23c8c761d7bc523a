#pragma once
// RawPeer: a blocking loopback TCP client for tests that speaks bytes, not
// NATS: send exact bytes, read lines or byte counts with deadlines, wait for
// the server to close. Every read has a deadline, so a test never hangs and
// never sleeps. Not thread-safe.
//
//   auto peer = RawPeer::Connect(port);
//   (*peer)->Send("CONNECT {}\r\nPING\r\n");
//   auto line = (*peer)->ReadLine();   // "INFO {...} "

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "embed/base/result.h"
#include "embed/base/status.h"

namespace embed::testing {

class RawPeer {
 public:
  static constexpr std::chrono::milliseconds kDefaultTimeout{5'000};

  // Connects to 127.0.0.1:port. `receive_buffer_bytes` > 0 shrinks SO_RCVBUF
  // before connecting (for stalled-reader tests).
  static Result<std::unique_ptr<RawPeer>> Connect(std::uint16_t port,
                                                  int receive_buffer_bytes = 0);
  ~RawPeer();
  RawPeer(const RawPeer&) = delete;
  RawPeer& operator=(const RawPeer&) = delete;

  // Writes all of `bytes`. kIoError when the connection is gone.
  Status Send(std::string_view bytes);

  // Returns the next line without its "\r\n" (or "\n"). kTimeout when no full
  // line arrives in time, kUnavailable when the server closed first.
  Result<std::string> ReadLine(std::chrono::milliseconds timeout = kDefaultTimeout);
  // Returns exactly `count` bytes.
  Result<std::string> ReadBytes(std::size_t count,
                                std::chrono::milliseconds timeout = kDefaultTimeout);
  // Reads and drops exactly `count` bytes without keeping them (for volume
  // tests that must not grow the test's own memory).
  Status DiscardBytes(std::size_t count, std::chrono::milliseconds timeout = kDefaultTimeout);
  // Reads one MSG/HMSG: its control line and its payload (with headers),
  // without the trailing CR LF.
  struct Delivery {
    std::string control_line;
    std::string body;
  };
  Result<Delivery> ReadMessage(std::chrono::milliseconds timeout = kDefaultTimeout);

  // Sends PING and returns every line received before the PONG: proves the
  // server processed everything sent before (NATS §1.10).
  Result<std::vector<std::string>> LinesUntilPong(
      std::chrono::milliseconds timeout = kDefaultTimeout);

  // True when the server closes the connection within `timeout`; the first
  // 64 KiB of data that arrives before is kept for received_before_close().
  bool WaitForClose(std::chrono::milliseconds timeout = kDefaultTimeout);
  const std::string& received_before_close() const { return buffer_; }

  // Reads the INFO line and sends CONNECT `connect_json` then PING, and
  // expects PONG (after +OK when verbose). Returns the INFO JSON.
  Result<std::string> Handshake(std::string_view connect_json =
                                    R"({"verbose":false,"pedantic":false,"protocol":1})");

  void Close();
  int fd() const { return fd_; }

 private:
  explicit RawPeer(int fd) : fd_(fd) {}
  // Reads more bytes into buffer_; kTimeout / kUnavailable.
  Status Fill(std::chrono::steady_clock::time_point deadline);

  int fd_ = -1;
  std::string buffer_;
};

}  // namespace embed::testing
