#pragma once
// WsCodec: the sans-I/O WebSocket framing layer (RFC 6455 + RFC 7692
// permessage-deflate without context takeover) under the NATS rules of
// nats-wire.md §7.3-7.6. It models net::StreamCodec (layered_stream.h):
// NATS bytes are a byte stream carried in data frames, so frame and message
// boundaries vanish on input, and every application write becomes one
// binary message on output. Used as LayeredStream<Inner, WsCodec>.
// Thread-compatible (one connection, one thread at a time).

#include <array>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <system_error>
#include <type_traits>

#include <boost/system/error_code.hpp>

namespace embed::net {

enum class WsRole { kServer, kClient };

struct WsCodecOptions {
  WsRole role = WsRole::kServer;
  bool compression = false;      // permessage-deflate negotiated (no context takeover both ways)
  bool accept_unmasked = false;  // server: Nats-No-Masking negotiated
  bool browser_framing = false;  // server: split output into frames of <= 4096 payload bytes
  // Server, with browser_framing: a compressed message goes out as one frame
  // even above 4096 bytes (Safari, nats-wire §7.3).
  bool no_fragmenting_compressed = false;
  std::size_t max_message_bytes = 64 * 1024 * 1024;  // one inbound (decompressed) message; over -> close 1009
};

// Close codes of nats-wire §7.6.
namespace ws_close {
constexpr int kNormal = 1000;
constexpr int kGoingAway = 1001;
constexpr int kProtocolError = 1002;
constexpr int kPolicyViolation = 1008;
constexpr int kMessageTooBig = 1009;
constexpr int kInternalError = 1011;
constexpr int kTlsHandshake = 1015;
}  // namespace ws_close

// Why WsCodec::error() is set (besides boost::asio::error::eof for a CLOSE
// from the peer). Values of WsErrorCategory().
enum class WsError {
  kMaskMissing = 1,        // server role: unmasked client frame (1002)
  kUnexpectedMask,         // client role: masked server frame (1002)
  kReservedBits,           // RSV bits without a negotiated meaning (1002)
  kReservedOpcode,         // opcode 3-7 or 11-15 (1002)
  kBadControlFrame,        // control frame > 125 bytes, fragmented, or bad CLOSE body (1002)
  kBadContinuation,        // continuation without a message, or a new message inside one (1002)
  kBadLength,              // 64-bit length with the top bit set (1002)
  kMessageTooBig,          // message above max_message_bytes (1009)
  kBadCompressedData,      // inflate failed (1002)
};
const boost::system::error_category& WsErrorCategory();
inline boost::system::error_code make_error_code(WsError error) {
  return {static_cast<int>(error), WsErrorCategory()};
}

class WsCodec {
 public:
  // Payload bytes per frame under browser_framing (nats-wire §7.3).
  static constexpr std::size_t kBrowserFrameBytes = 4096;
  // Writes of at most this many bytes are sent uncompressed (nats-wire §7.4).
  static constexpr std::size_t kCompressThresholdBytes = 64;
  // Control frame payload limit (RFC 6455 §5.5) and CLOSE reason limit (§7.6).
  static constexpr std::size_t kMaxControlPayloadBytes = 125;
  static constexpr std::size_t kMaxCloseReasonBytes = 123;
  // Decoding pauses once this many decoded bytes wait unread; the rest of
  // that input (at most one OnWireInput's worth) is kept and decoded as the
  // reader drains, so a small compressed input cannot fill memory.
  static constexpr std::size_t kAppBudgetBytes = 256 * 1024;
  // Cap on the frames the codec queues on its own (PONG slot + wire_out_).
  // Holds by construction: at most one PONG and one CLOSE are ever queued.
  static constexpr std::size_t kMaxWireOutputBytes = 64 * 1024;
  static_assert(2 * (14 + kMaxControlPayloadBytes) <= kMaxWireOutputBytes);

  explicit WsCodec(WsCodecOptions options);
  ~WsCodec();
  WsCodec(WsCodec&&) noexcept;
  WsCodec& operator=(WsCodec&&) noexcept;
  WsCodec(const WsCodec&) = delete;
  WsCodec& operator=(const WsCodec&) = delete;

  const WsCodecOptions& options() const { return options_; }

  // net::StreamCodec. Input beyond the decode budget (kAppBudgetBytes) is
  // kept and decoded by ReadApp once the decoded bytes are read; feed more
  // input only when has_app_data() is false (LayeredStream does), else it
  // queues behind the kept input. A PONG and a CLOSE that ReadApp decodes
  // wait in the wire output for the next flush.
  void OnWireInput(std::string_view bytes);
  bool has_app_data() const { return app_read_ < app_.size(); }
  std::size_t ReadApp(char* out, std::size_t size);
  void EncodeApp(std::string_view bytes, std::string& wire);
  bool has_wire_output() const { return has_pong_ || !wire_out_.empty(); }
  // The latest PONG owed (only the latest: RFC 6455 §5.5.3), then wire_out_.
  void TakeWireOutput(std::string& wire);
  boost::system::error_code error() const { return error_; }
  // Appends a CLOSE frame with `code` and `reason` (cut to 123 bytes ending
  // in "...") unless a CLOSE was sent already.
  void EncodeClose(int code, std::string_view reason, std::string& wire);

  // The status of the CLOSE this codec queued or encoded (0: none yet).
  int sent_close_code() const { return sent_close_code_; }
  // The status the peer's CLOSE carried (0: none received, 1005: no status).
  int received_close_code() const { return received_close_code_; }
  // Heap bytes the codec holds right now (buffers and an inflater): 0 when
  // idle, i.e. between messages with everything read and taken.
  std::size_t heap_bytes() const;

 private:
  struct Inflater;
  enum class Phase : std::uint8_t { kHeader, kPayload };

  // Decodes from `data` until it ends, an error, or the budget is reached;
  // returns the bytes used.
  std::size_t Decode(const char* data, std::size_t size);
  // Decodes the kept input (and the inflater's held output).
  void ResumeInput();
  std::size_t unread_app_bytes() const { return app_.size() - app_read_; }
  std::size_t ConsumeHeader(const char* data, std::size_t size);
  bool StartFrame();
  std::size_t ConsumePayload(const char* data, std::size_t count);
  // Inflates `count` bytes; returns how many it used. With `budgeted`, stops
  // once kAppBudgetBytes wait unread (inflate_pending_ then tells whether the
  // inflater may still hold output).
  std::size_t InflateInto(const char* data, std::size_t count, bool budgeted);
  void EndFrame();
  void HandleControlFrame();
  void Fail(WsError error, int close_code, std::string_view reason);
  void AppendFrame(std::string& wire, std::uint8_t first_byte, std::string_view payload) const;
  void QueueClose(int code, std::string_view reason);
  void AppendPendingPong(std::string& wire);
  void AppendClose(std::string& wire, int code, std::string_view reason);
  void ReleaseInflater();
  // One idle inflater per thread, reused by the next compressed message.
  static std::unique_ptr<Inflater>& SpareInflater();

  WsCodecOptions options_;

  // Input: frame parser.
  Phase phase_ = Phase::kHeader;
  std::array<std::uint8_t, 14> header_{};
  std::size_t header_size_ = 0;
  std::uint8_t opcode_ = 0;
  bool fin_ = false;
  bool masked_ = false;
  std::array<std::uint8_t, 4> mask_{};
  std::size_t mask_offset_ = 0;
  std::uint64_t payload_left_ = 0;
  bool in_message_ = false;          // a data message is in progress (awaiting FIN)
  bool message_compressed_ = false;  // RSV1 on its first frame
  std::uint64_t message_wire_bytes_ = 0;
  std::uint64_t message_app_bytes_ = 0;
  std::array<char, kMaxControlPayloadBytes> control_{};
  std::size_t control_size_ = 0;
  std::unique_ptr<Inflater> inflater_;  // only while a compressed message is in progress
  bool inflate_pending_ = false;  // the inflater stopped at the budget with output maybe left

  // Wire input not decoded yet because the budget was reached.
  std::string stash_;

  // Decoded application bytes not read yet.
  std::string app_;
  std::size_t app_read_ = 0;

  // The PONG owed for the latest PING (payload), sent by TakeWireOutput.
  std::array<char, kMaxControlPayloadBytes> pong_{};
  std::size_t pong_size_ = 0;
  bool has_pong_ = false;

  // Frames the codec sends on its own besides that PONG: only a CLOSE
  // (preceded by the PONG owed then), so never above kMaxWireOutputBytes.
  std::string wire_out_;

  boost::system::error_code error_;
  bool close_sent_ = false;
  int sent_close_code_ = 0;
  int received_close_code_ = 0;
};

}  // namespace embed::net

template <>
struct boost::system::is_error_code_enum<embed::net::WsError> : std::true_type {};
