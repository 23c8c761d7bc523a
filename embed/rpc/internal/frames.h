#pragma once
// The Embed RPC wire format over NATS messages, and the flow-control
// arithmetic of streams. Pure: no connection, threads or clocks.
//
// Unary call: a NATS request to "<package>.<Service>.<Method>" whose payload
// is the request; the reply's payload is the response, or, on failure, the
// reply carries only the service-API error headers. Optional request
// header: Embed-Timeout (ms left to the caller's deadline).
//
// Streaming call: frames, each a NATS message whose Embed-Rpc header names
// its type and whose reply subject is the sender's stream inbox:
//   open      client -> method subject. Embed-Kind, Embed-Window (messages
//             the client accepts ahead), Embed-Keepalive (ms), optional
//             Embed-Timeout, call metadata; payload = the request of a
//             server-streaming call.
//   accept    server -> client inbox. Embed-Window (messages the server
//             accepts ahead). Its reply subject is the server's inbox for
//             the call.
//   data      either way. Embed-Seq: 1, 2, ... per direction; payload = one
//             message. A receiver refuses a gap or more than it granted.
//   credit    either way. Embed-Credit: the total number of data frames the
//             sender may have sent so far (the window plus every grant since),
//             so a lost credit frame is repaired by the next one.
//   end       client: no more messages (half-close). server: the call is
//             over; the status in the error headers (none = OK); payload =
//             the response of a client-streaming call. Embed-Seq = the
//             number of data frames the sender sent, so a loss shows.
//   cancel    client -> server: the caller gave up.
//   keepalive either way when the sender had nothing to send for an
//             interval; 3 silent intervals mean the peer is gone. A side
//             that receives data repeats its Embed-Credit total in it; a
//             caller that half-closed repeats its end as Embed-Ended: <count>.
// A NATS "no responders" status (503) arriving at a stream inbox means the
// peer's inbox is gone.

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "embed/base/result.h"
#include "embed/client/message.h"
#include "embed/rpc/rpc_status.h"
#include "embed/rpc/service.h"

namespace embed::rpc::internal {

inline constexpr std::string_view kFrameHeader = "Embed-Rpc";
inline constexpr std::string_view kKindHeader = "Embed-Kind";
inline constexpr std::string_view kWindowHeader = "Embed-Window";
inline constexpr std::string_view kCreditHeader = "Embed-Credit";
inline constexpr std::string_view kSeqHeader = "Embed-Seq";
inline constexpr std::string_view kKeepaliveHeader = "Embed-Keepalive";
inline constexpr std::string_view kTimeoutHeader = "Embed-Timeout";
inline constexpr std::string_view kEndedHeader = "Embed-Ended";
inline constexpr std::string_view kErrorHeader = "Nats-Service-Error";
inline constexpr std::string_view kErrorCodeHeader = "Nats-Service-Error-Code";

// Bounds on values read from the wire.
inline constexpr std::uint32_t kMaxWindow = 65'536;
inline constexpr std::chrono::milliseconds kMinKeepalive{10};
inline constexpr std::chrono::milliseconds kMaxKeepalive{3'600'000};
inline constexpr std::chrono::milliseconds kMaxTimeout{365LL * 24 * 3'600'000};
inline constexpr std::size_t kMaxErrorMessageBytes = 1024;

enum class FrameType { kUnary, kOpen, kAccept, kData, kCredit, kEnd, kCancel, kKeepalive };
std::string_view FrameTypeName(FrameType type);

// A frame as read from a message's headers (the payload stays in the message).
struct Frame {
  FrameType type = FrameType::kUnary;
  MethodKind kind = MethodKind::kUnary;                // open
  std::uint32_t window = 0;                            // open, accept
  std::uint64_t granted = 0;  // credit, keepalive (0 = none): total data frames allowed
  std::optional<std::uint64_t> ended;  // keepalive: the caller half-closed after this many
  std::uint64_t seq = 0;                               // data, end
  std::optional<std::chrono::milliseconds> timeout;    // unary, open
  std::optional<std::chrono::milliseconds> keepalive;  // open
  RpcStatus status;                                    // end (and error replies)
  bool is_no_responders = false;                       // NATS 503 status
};

// Reads a frame. A message without Embed-Rpc is kUnary (a plain request or
// reply). kProtocolError for an unknown frame type or a malformed or
// out-of-range header value.
Result<Frame> DecodeFrame(const client::Message& message);

// The status a reply or end frame carries: the error headers, or a NATS 503
// (UNAVAILABLE), or OK.
RpcStatus StatusOf(const client::Message& message);
// Adds the error headers of `status` (nothing for OK). The message is cut to
// kMaxErrorMessageBytes.
void AddStatusHeaders(const RpcStatus& status, wire::Headers& headers);

// "250 ms": a duration in a status message.
std::string DescribeDuration(std::chrono::steady_clock::duration duration);
// `status` with "<method>: " in front of its message.
RpcStatus WithMethod(std::string_view method, const RpcStatus& status);

// Builders; `reply_to` is the sender's inbox.
client::Message MakeOpen(std::string_view method, std::string_view reply_to, MethodKind kind,
                         std::uint32_t window, std::chrono::milliseconds keepalive,
                         std::optional<std::chrono::milliseconds> timeout,
                         const wire::Headers& metadata, std::string_view request);
client::Message MakeAccept(std::string_view to, std::string_view reply_to, std::uint32_t window);
client::Message MakeData(std::string_view to, std::string_view reply_to, std::uint64_t seq,
                         std::string payload);
// `granted`: the total (window + every grant), not an increment.
client::Message MakeCredit(std::string_view to, std::string_view reply_to, std::uint64_t granted);
// `granted` > 0 repeats the receive grant (lost credit frames heal);
// `ended` repeats a caller's half-close (a lost end frame heals).
client::Message MakeKeepalive(std::string_view to, std::string_view reply_to,
                              std::uint64_t granted,
                              std::optional<std::uint64_t> ended = std::nullopt);
client::Message MakeEnd(std::string_view to, std::string_view reply_to, std::uint64_t sent,
                        const RpcStatus& status, std::string_view payload);
client::Message MakeControl(FrameType type, std::string_view to, std::string_view reply_to);
// A unary reply: the payload alone when OK, the error headers otherwise.
client::Message MakeUnaryReply(std::string_view to, const RpcStatus& status, std::string payload);

// The sender's side of a stream's flow control: what it may still send.
class SendWindow {
 public:
  bool CanSend() const { return sent_ < granted_; }
  std::uint64_t available() const { return granted_ - sent_; }
  // The peer allows `total` data frames in all (grants only grow; an older,
  // smaller total arriving late changes nothing).
  void GrantTotal(std::uint64_t total) {
    if (total > granted_) granted_ = total;
  }
  // Precondition: CanSend(). Returns the data frame's sequence number.
  std::uint64_t TakeSeq() { return ++sent_; }
  std::uint64_t sent() const { return sent_; }

 private:
  std::uint64_t granted_ = 0;
  std::uint64_t sent_ = 0;
};

// The receiver's side: checks arriving data frames against the grant and the
// sequence, and says when to grant more (after half the window is consumed,
// so the sender rarely waits).
class ReceiveWindow {
 public:
  enum class Start { kGranted, kClosed };
  // kClosed: nothing is granted until Open() (a server grants its window only
  // when a handler starts reading, so queued calls buffer nothing).
  explicit ReceiveWindow(std::uint32_t window, Start start = Start::kGranted)
      : window_(window), granted_(start == Start::kGranted ? window : 0) {}
  // Grants the window (after Start::kClosed); returns the new total.
  std::uint64_t Open() {
    if (granted_ < consumed_at_last_grant_ + window_) granted_ = consumed_at_last_grant_ + window_;
    return granted_;
  }
  // A data frame arrived: kDataLoss on a gap or repeat, kResourceExhausted
  // beyond the grant.
  RpcStatus OnData(std::uint64_t seq);
  // The end frame says `sent` frames were sent: kDataLoss unless all arrived.
  RpcStatus OnEnd(std::uint64_t sent) const;
  // The application took one message; true when a credit frame (with
  // granted()) should go out now.
  bool OnConsumed();
  std::uint64_t received() const { return received_; }
  // The total this side allows the peer to send.
  std::uint64_t granted() const { return granted_; }

 private:
  std::uint32_t window_;
  std::uint64_t granted_;
  std::uint64_t received_ = 0;
  std::uint64_t consumed_ = 0;
  std::uint64_t consumed_at_last_grant_ = 0;
};

}  // namespace embed::rpc::internal
