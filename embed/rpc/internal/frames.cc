#include "embed/rpc/internal/frames.h"

#include <charconv>
#include <string>

namespace embed::rpc::internal {
namespace {

constexpr std::string_view kTypeNames[] = {"unary",  "open", "accept", "data",
                                           "credit", "end",  "cancel", "keepalive"};

bool ParseUnsigned(std::string_view text, std::uint64_t max, std::uint64_t* value) {
  if (text.empty() || text.size() > 20) return false;
  std::uint64_t parsed = 0;
  auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), parsed);
  if (error != std::errc() || end != text.data() + text.size() || parsed > max) return false;
  *value = parsed;
  return true;
}

Status BadHeader(std::string_view key, std::string_view value) {
  return ProtocolError("bad " + std::string(key) + " header: '" + EscapeForLog(value, 64) + "'");
}

// Reads an optional numeric header into `out`; kProtocolError when malformed.
Status ReadNumber(const wire::Headers& headers, std::string_view key, std::uint64_t min,
                  std::uint64_t max, std::optional<std::uint64_t>* out) {
  if (!headers.Has(key)) return Status::Ok();
  std::string_view text = headers.Get(key);
  std::uint64_t value = 0;
  if (!ParseUnsigned(text, max, &value) || value < min) return BadHeader(key, text);
  *out = value;
  return Status::Ok();
}

Result<MethodKind> ParseKind(std::string_view text) {
  for (MethodKind kind :
       {MethodKind::kServerStreaming, MethodKind::kClientStreaming, MethodKind::kBidiStreaming}) {
    if (text == MethodKindName(kind)) return kind;
  }
  return BadHeader(kKindHeader, text);
}

client::Message MakeFrame(FrameType type, std::string_view to, std::string_view reply_to) {
  client::Message message;
  message.subject = std::string(to);
  message.reply_to = std::string(reply_to);
  message.has_headers = true;
  message.headers.Add(kFrameHeader, FrameTypeName(type));
  return message;
}

}  // namespace

std::string_view FrameTypeName(FrameType type) { return kTypeNames[static_cast<int>(type)]; }

std::string DescribeDuration(std::chrono::steady_clock::duration duration) {
  return std::to_string(std::chrono::duration_cast<std::chrono::milliseconds>(duration).count()) +
         " ms";
}

RpcStatus WithMethod(std::string_view method, const RpcStatus& status) {
  return RpcStatus(status.code(), std::string(method) + ": " + status.message());
}

Result<Frame> DecodeFrame(const client::Message& message) {
  Frame frame;
  const wire::Headers& headers = message.headers;
  if (headers.status() == 503 && message.payload.empty()) {
    frame.is_no_responders = true;
    frame.status = RpcStatus(RpcCode::kUnavailable, "no responders");
    return frame;
  }
  if (headers.Has(kFrameHeader)) {
    std::string_view name = headers.Get(kFrameHeader);
    bool known = false;
    for (int i = 1; i < static_cast<int>(std::size(kTypeNames)); ++i) {
      if (name == kTypeNames[i]) {
        frame.type = static_cast<FrameType>(i);
        known = true;
        break;
      }
    }
    if (!known) return BadHeader(kFrameHeader, name);
  }
  std::optional<std::uint64_t> value;
  switch (frame.type) {
    case FrameType::kOpen:
      if (!headers.Has(kKindHeader)) return ProtocolError("open frame without Embed-Kind");
      {
        Result<MethodKind> kind = ParseKind(headers.Get(kKindHeader));
        if (!kind.ok()) return kind.status();
        frame.kind = *kind;
      }
      EMBED_RETURN_IF_ERROR(ReadNumber(headers, kWindowHeader, 1, kMaxWindow, &value));
      if (!value) return ProtocolError("open frame without Embed-Window");
      frame.window = static_cast<std::uint32_t>(*value);
      value.reset();
      EMBED_RETURN_IF_ERROR(ReadNumber(headers, kKeepaliveHeader,
                                       static_cast<std::uint64_t>(kMinKeepalive.count()),
                                       static_cast<std::uint64_t>(kMaxKeepalive.count()), &value));
      if (value) frame.keepalive = std::chrono::milliseconds(*value);
      break;
    case FrameType::kAccept:
      EMBED_RETURN_IF_ERROR(ReadNumber(headers, kWindowHeader, 0, kMaxWindow, &value));
      frame.window = value ? static_cast<std::uint32_t>(*value) : 0;
      break;
    case FrameType::kData:
    case FrameType::kEnd:
      EMBED_RETURN_IF_ERROR(ReadNumber(headers, kSeqHeader, 0, UINT64_MAX, &value));
      if (!value) {
        return ProtocolError(std::string(FrameTypeName(frame.type)) + " frame without Embed-Seq");
      }
      frame.seq = *value;
      if (frame.type == FrameType::kEnd) frame.status = StatusOf(message);
      break;
    case FrameType::kCredit:
      EMBED_RETURN_IF_ERROR(ReadNumber(headers, kCreditHeader, 1, UINT64_MAX, &value));
      if (!value) return ProtocolError("credit frame without Embed-Credit");
      frame.granted = *value;
      break;
    case FrameType::kKeepalive:
      EMBED_RETURN_IF_ERROR(ReadNumber(headers, kCreditHeader, 1, UINT64_MAX, &value));
      if (value) frame.granted = *value;
      value.reset();
      EMBED_RETURN_IF_ERROR(ReadNumber(headers, kEndedHeader, 0, UINT64_MAX, &value));
      frame.ended = value;
      break;
    case FrameType::kUnary:
      frame.status = StatusOf(message);
      break;
    case FrameType::kCancel:
      break;
  }
  if (frame.type == FrameType::kUnary || frame.type == FrameType::kOpen) {
    value.reset();
    EMBED_RETURN_IF_ERROR(ReadNumber(headers, kTimeoutHeader, 0,
                                     static_cast<std::uint64_t>(kMaxTimeout.count()), &value));
    if (value) frame.timeout = std::chrono::milliseconds(*value);
  }
  return frame;
}

RpcStatus StatusOf(const client::Message& message) {
  const wire::Headers& headers = message.headers;
  if (headers.Has(kErrorCodeHeader) || headers.Has(kErrorHeader)) {
    RpcCode code = RpcCodeFromServiceErrorCode(headers.Get(kErrorCodeHeader));
    if (code == RpcCode::kOk) code = RpcCode::kUnknown;
    std::string_view text = headers.Get(kErrorHeader);
    if (text.size() > kMaxErrorMessageBytes) text = text.substr(0, kMaxErrorMessageBytes);
    return RpcStatus(code, std::string(text));
  }
  if (headers.status() == 503 && message.payload.empty()) {
    return RpcStatus(RpcCode::kUnavailable, "no responders");
  }
  return RpcStatus::Ok();
}

void AddStatusHeaders(const RpcStatus& status, wire::Headers& headers) {
  if (status.ok()) return;
  std::string_view text = status.message();
  if (text.size() > kMaxErrorMessageBytes) text = text.substr(0, kMaxErrorMessageBytes);
  if (text.empty()) text = RpcCodeName(status.code());
  headers.Set(kErrorHeader, text);
  headers.Set(kErrorCodeHeader, std::to_string(static_cast<int>(status.code())));
}

client::Message MakeOpen(std::string_view method, std::string_view reply_to, MethodKind kind,
                         std::uint32_t window, std::chrono::milliseconds keepalive,
                         std::optional<std::chrono::milliseconds> timeout,
                         const wire::Headers& metadata, std::string_view request) {
  client::Message message;
  message.subject = std::string(method);
  message.reply_to = std::string(reply_to);
  message.has_headers = true;
  message.headers = metadata;
  message.headers.Set(kFrameHeader, FrameTypeName(FrameType::kOpen));
  message.headers.Set(kKindHeader, MethodKindName(kind));
  message.headers.Set(kWindowHeader, std::to_string(window));
  message.headers.Set(kKeepaliveHeader, std::to_string(keepalive.count()));
  if (timeout) message.headers.Set(kTimeoutHeader, std::to_string(timeout->count()));
  message.payload = std::string(request);
  return message;
}

client::Message MakeAccept(std::string_view to, std::string_view reply_to, std::uint32_t window) {
  client::Message message = MakeFrame(FrameType::kAccept, to, reply_to);
  message.headers.Add(kWindowHeader, std::to_string(window));
  return message;
}

client::Message MakeData(std::string_view to, std::string_view reply_to, std::uint64_t seq,
                         std::string payload) {
  client::Message message = MakeFrame(FrameType::kData, to, reply_to);
  message.headers.Add(kSeqHeader, std::to_string(seq));
  message.payload = std::move(payload);
  return message;
}

client::Message MakeCredit(std::string_view to, std::string_view reply_to, std::uint64_t granted) {
  client::Message message = MakeFrame(FrameType::kCredit, to, reply_to);
  message.headers.Add(kCreditHeader, std::to_string(granted));
  return message;
}

client::Message MakeKeepalive(std::string_view to, std::string_view reply_to,
                              std::uint64_t granted, std::optional<std::uint64_t> ended) {
  client::Message message = MakeFrame(FrameType::kKeepalive, to, reply_to);
  if (granted > 0) message.headers.Add(kCreditHeader, std::to_string(granted));
  if (ended) message.headers.Add(kEndedHeader, std::to_string(*ended));
  return message;
}

client::Message MakeEnd(std::string_view to, std::string_view reply_to, std::uint64_t sent,
                        const RpcStatus& status, std::string_view payload) {
  client::Message message = MakeFrame(FrameType::kEnd, to, reply_to);
  message.headers.Add(kSeqHeader, std::to_string(sent));
  AddStatusHeaders(status, message.headers);
  message.payload = std::string(payload);
  return message;
}

client::Message MakeControl(FrameType type, std::string_view to, std::string_view reply_to) {
  return MakeFrame(type, to, reply_to);
}

client::Message MakeUnaryReply(std::string_view to, const RpcStatus& status, std::string payload) {
  client::Message message;
  message.subject = std::string(to);
  if (status.ok()) {
    message.payload = std::move(payload);
  } else {
    message.has_headers = true;
    AddStatusHeaders(status, message.headers);
  }
  return message;
}

RpcStatus ReceiveWindow::OnData(std::uint64_t seq) {
  if (seq != received_ + 1) {
    return RpcStatus(RpcCode::kDataLoss, "stream message " + std::to_string(received_ + 1) +
                                             " expected, " + std::to_string(seq) + " arrived");
  }
  if (seq > granted_) {
    return RpcStatus(
        RpcCode::kResourceExhausted,
        "the peer sent beyond its flow-control window of " + std::to_string(window_) + " messages");
  }
  received_ = seq;
  return RpcStatus::Ok();
}

RpcStatus ReceiveWindow::OnEnd(std::uint64_t sent) const {
  if (sent != received_) {
    return RpcStatus(RpcCode::kDataLoss, "the peer sent " + std::to_string(sent) +
                                             " stream messages, " + std::to_string(received_) +
                                             " arrived");
  }
  return RpcStatus::Ok();
}

bool ReceiveWindow::OnConsumed() {
  ++consumed_;
  std::uint64_t since = consumed_ - consumed_at_last_grant_;
  if (since * 2 < window_) return false;
  consumed_at_last_grant_ = consumed_;
  granted_ += since;
  return true;
}

}  // namespace embed::rpc::internal
