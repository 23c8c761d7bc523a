// libFuzzer target for the RPC frame reader: a header block from the network
// (then a payload) through DecodeFrame and StatusOf. Nothing may crash; a
// frame that decodes has values within the protocol's bounds; an end frame
// rebuilt from what was decoded decodes to the same sequence and status code.

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>

#include "embed/rpc/internal/frames.h"
#include "embed/wire/headers.h"

namespace {

void Check(bool condition, const char* what) {
  if (!condition) {
    std::fprintf(stderr, "rpc_frames fuzz check failed: %s\n", what);
    std::abort();
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace embed::rpc::internal;
  const embed::ByteView input(reinterpret_cast<const char*>(data), size);
  // The header block ends at the first blank line; the rest is the payload.
  std::size_t end = input.find("\r\n\r\n");
  if (end == embed::ByteView::npos) return 0;
  auto headers = embed::wire::ParseHeaders(input.substr(0, end + 4), 4096);
  if (!headers.ok()) return 0;
  embed::client::Message message;
  message.subject = "svc.v1.Fuzz.Method";
  message.reply_to = "_INBOX.fuzz.1";
  message.has_headers = true;
  message.headers = *headers;
  message.payload = std::string(input.substr(end + 4));

  embed::rpc::RpcStatus status = StatusOf(message);
  Check(status.message().size() <= kMaxErrorMessageBytes, "status message bounded");
  auto frame = DecodeFrame(message);
  if (!frame.ok()) return 0;
  switch (frame->type) {
    case FrameType::kOpen:
      Check(frame->window >= 1 && frame->window <= kMaxWindow, "open window in range");
      Check(!frame->keepalive || (*frame->keepalive >= kMinKeepalive &&
                                  *frame->keepalive <= kMaxKeepalive),
            "keepalive in range");
      break;
    case FrameType::kAccept:
      Check(frame->window <= kMaxWindow, "accept window in range");
      break;
    case FrameType::kCredit:
      Check(frame->granted >= 1, "a credit frame grants something");
      break;
    case FrameType::kEnd: {
      auto again = DecodeFrame(MakeEnd("to", "from", frame->seq, frame->status, {}));
      Check(again.ok(), "rebuilt end frame decodes");
      Check(again->seq == frame->seq, "end frame keeps its count");
      Check(again->status.code() == frame->status.code(), "end frame keeps its status code");
      break;
    }
    default:
      break;
  }
  if (frame->timeout) Check(*frame->timeout <= kMaxTimeout, "timeout in range");
  // The receive window never accepts beyond its grant, whatever sequence arrives.
  ReceiveWindow window(4);
  std::uint64_t accepted = 0;
  for (std::size_t i = 0; i < message.payload.size() && i < 64; ++i) {
    if (window.OnData(static_cast<std::uint8_t>(message.payload[i])).ok()) ++accepted;
  }
  Check(accepted <= 4, "no more than the window without consuming");
  return 0;
}
