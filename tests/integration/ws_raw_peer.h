#pragma once
// WsRawPeer: a blocking WebSocket test client written independently of
// net::WsCodec (so broker tests do not check the codec against itself). It
// sends exact frames (masked or not, any opcode, any split) and reads the
// server's frames one by one with their flags, so tests can see frame
// boundaries, RSV1, close codes and the upgrade response bytes. Every read
// has a deadline. Not thread-safe.

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "embed/base/result.h"
#include "embed/testing/raw_peer.h"

namespace embed::testing {

struct WsFrame {
  bool fin = true;
  bool rsv1 = false;
  std::uint8_t opcode = 2;
  std::string payload;

  // For CLOSE frames: the status code (0 when absent) and the reason.
  int close_code() const;
  std::string close_reason() const;
};

class WsRawPeer {
 public:
  static constexpr std::chrono::milliseconds kTimeout{5'000};

  // Connects, sends `request` verbatim, reads the response head (through the
  // blank line). The response head is in response(); bytes after it stay
  // buffered for ReadFrame().
  static Result<std::unique_ptr<WsRawPeer>> Open(std::uint16_t port, const std::string& request);
  // A well-formed upgrade request for 127.0.0.1 with `extra_headers`
  // ("Name: value\r\n" lines).
  static std::string UpgradeRequest(std::string_view extra_headers = "");

  const std::string& response() const { return response_; }

  // Sends one frame (masked unless `masked` is false).
  Status SendFrame(std::uint8_t opcode, std::string_view payload, bool fin = true,
                   bool masked = true, bool rsv1 = false);
  // Sends raw bytes.
  Status SendRaw(std::string_view bytes) { return peer_->Send(bytes); }
  static std::string EncodeFrame(std::uint8_t opcode, std::string_view payload, bool fin,
                                 bool masked, bool rsv1);

  Result<WsFrame> ReadFrame(std::chrono::milliseconds timeout = kTimeout);
  // Reads data frames until `count` NATS bytes arrived; returns them.
  Result<std::string> ReadData(std::size_t count, std::chrono::milliseconds timeout = kTimeout);
  // Reads data frames until a full line arrives (without CR LF).
  Result<std::string> ReadLine(std::chrono::milliseconds timeout = kTimeout);
  // Reads until the server's CLOSE frame; returns it (data before is dropped).
  Result<WsFrame> ReadUntilClose(std::chrono::milliseconds timeout = kTimeout);
  bool WaitForTcpClose(std::chrono::milliseconds timeout = kTimeout) {
    return peer_->WaitForClose(timeout);
  }

 private:
  explicit WsRawPeer(std::unique_ptr<RawPeer> peer) : peer_(std::move(peer)) {}

  std::unique_ptr<RawPeer> peer_;
  std::string response_;
  std::string data_;  // NATS bytes received, not consumed yet
};

}  // namespace embed::testing
