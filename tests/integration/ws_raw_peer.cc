#include "tests/integration/ws_raw_peer.h"

#include <cstring>
#include <random>

namespace embed::testing {

using Clock = std::chrono::steady_clock;

namespace {

std::chrono::milliseconds Remaining(Clock::time_point deadline) {
  auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
  return left.count() > 0 ? left : std::chrono::milliseconds(1);
}

}  // namespace

int WsFrame::close_code() const {
  if (payload.size() < 2) return 0;
  return (static_cast<unsigned char>(payload[0]) << 8) | static_cast<unsigned char>(payload[1]);
}

std::string WsFrame::close_reason() const {
  return payload.size() > 2 ? payload.substr(2) : std::string();
}

std::string WsRawPeer::UpgradeRequest(std::string_view extra_headers) {
  std::string request =
      "GET / HTTP/1.1\r\n"
      "Host: 127.0.0.1\r\n"
      "Upgrade: websocket\r\n"
      "Connection: Upgrade\r\n"
      "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
      "Sec-WebSocket-Version: 13\r\n";
  request += extra_headers;
  request += "\r\n";
  return request;
}

Result<std::unique_ptr<WsRawPeer>> WsRawPeer::Open(std::uint16_t port,
                                                   const std::string& request) {
  auto raw = RawPeer::Connect(port);
  if (!raw.ok()) return raw.status();
  std::unique_ptr<WsRawPeer> peer(new WsRawPeer(std::move(raw).value()));
  EMBED_RETURN_IF_ERROR(peer->peer_->Send(request));
  while (true) {
    auto line = peer->peer_->ReadLine(kTimeout);
    if (!line.ok()) return line.status();
    // RawPeer::ReadLine drops the line end; the head's lines end in CR LF.
    peer->response_ += *line + "\r\n";
    if (line->empty()) break;
  }
  return peer;
}

std::string WsRawPeer::EncodeFrame(std::uint8_t opcode, std::string_view payload, bool fin,
                                   bool masked, bool rsv1) {
  std::string frame;
  frame.push_back(static_cast<char>((fin ? 0x80 : 0) | (rsv1 ? 0x40 : 0) | (opcode & 0x0F)));
  const std::uint8_t mask_bit = masked ? 0x80 : 0;
  if (payload.size() < 126) {
    frame.push_back(static_cast<char>(mask_bit | payload.size()));
  } else if (payload.size() < 65536) {
    frame.push_back(static_cast<char>(mask_bit | 126));
    frame.push_back(static_cast<char>((payload.size() >> 8) & 0xFF));
    frame.push_back(static_cast<char>(payload.size() & 0xFF));
  } else {
    frame.push_back(static_cast<char>(mask_bit | 127));
    for (int shift = 56; shift >= 0; shift -= 8) {
      frame.push_back(static_cast<char>((static_cast<std::uint64_t>(payload.size()) >> shift) & 0xFF));
    }
  }
  if (!masked) {
    frame.append(payload);
    return frame;
  }
  static std::mt19937 random(12345);
  char mask[4];
  for (char& byte : mask) byte = static_cast<char>(random() & 0xFF);
  frame.append(mask, 4);
  for (std::size_t i = 0; i < payload.size(); ++i) {
    frame.push_back(static_cast<char>(payload[i] ^ mask[i % 4]));
  }
  return frame;
}

Status WsRawPeer::SendFrame(std::uint8_t opcode, std::string_view payload, bool fin,
                            bool masked, bool rsv1) {
  return peer_->Send(EncodeFrame(opcode, payload, fin, masked, rsv1));
}

Result<WsFrame> WsRawPeer::ReadFrame(std::chrono::milliseconds timeout) {
  const auto deadline = Clock::now() + timeout;
  auto head = peer_->ReadBytes(2, Remaining(deadline));
  if (!head.ok()) return head.status();
  const auto b0 = static_cast<unsigned char>((*head)[0]);
  const auto b1 = static_cast<unsigned char>((*head)[1]);
  WsFrame frame;
  frame.fin = (b0 & 0x80) != 0;
  frame.rsv1 = (b0 & 0x40) != 0;
  frame.opcode = b0 & 0x0F;
  if ((b1 & 0x80) != 0) return ProtocolError("server frame is masked");
  std::uint64_t size = b1 & 0x7F;
  if (size >= 126) {
    const std::size_t extra = size == 126 ? 2 : 8;
    auto length = peer_->ReadBytes(extra, Remaining(deadline));
    if (!length.ok()) return length.status();
    size = 0;
    for (char byte : *length) size = (size << 8) | static_cast<unsigned char>(byte);
  }
  auto payload = peer_->ReadBytes(static_cast<std::size_t>(size), Remaining(deadline));
  if (!payload.ok()) return payload.status();
  frame.payload = std::move(payload).value();
  return frame;
}

Result<std::string> WsRawPeer::ReadData(std::size_t count, std::chrono::milliseconds timeout) {
  const auto deadline = Clock::now() + timeout;
  while (data_.size() < count) {
    auto frame = ReadFrame(Remaining(deadline));
    if (!frame.ok()) return frame.status();
    if (frame->opcode == 8) return UnavailableError("server sent CLOSE");
    if (frame->opcode == 1 || frame->opcode == 2 || frame->opcode == 0) data_ += frame->payload;
  }
  std::string bytes = data_.substr(0, count);
  data_.erase(0, count);
  return bytes;
}

Result<std::string> WsRawPeer::ReadLine(std::chrono::milliseconds timeout) {
  const auto deadline = Clock::now() + timeout;
  while (true) {
    std::size_t end = data_.find("\r\n");
    if (end != std::string::npos) {
      std::string line = data_.substr(0, end);
      data_.erase(0, end + 2);
      return line;
    }
    auto frame = ReadFrame(Remaining(deadline));
    if (!frame.ok()) return frame.status();
    if (frame->opcode == 8) return UnavailableError("server sent CLOSE");
    if (frame->opcode == 1 || frame->opcode == 2 || frame->opcode == 0) data_ += frame->payload;
  }
}

Result<WsFrame> WsRawPeer::ReadUntilClose(std::chrono::milliseconds timeout) {
  const auto deadline = Clock::now() + timeout;
  while (true) {
    auto frame = ReadFrame(Remaining(deadline));
    if (!frame.ok()) return frame.status();
    if (frame->opcode == 8) return frame;
    data_ += frame->payload;
  }
}

}  // namespace embed::testing
