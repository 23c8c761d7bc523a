// libFuzzer target for ServerOpParser: the same bytes fed whole, in chunks
// and byte by byte give the same ops and the same error; every parsed op
// encodes back to bytes that parse to the same op.

#include <cstddef>
#include <cstdint>
#include <string>

#include "embed/wire/encoder.h"
#include "embed/wire/headers.h"
#include "embed/wire/internal/fuzz_support.h"
#include "embed/wire/server_op_parser.h"

namespace embed::wire {
namespace {

// Encodes `op`; false when re-encoding could legitimately exceed the line
// limit. Server ops encode without loss, so `expected` stays `op`.
bool Encode(const ServerOp& op, const Limits& limits, std::string& out, ServerOp& /*expected*/) {
  if (const auto* msg = std::get_if<Msg>(&op)) {
    EncodeMsg(out, msg->subject, msg->sid, msg->reply_to, msg->payload);
  } else if (const auto* hmsg = std::get_if<HMsg>(&op)) {
    EncodeHMsg(out, hmsg->subject, hmsg->sid, hmsg->reply_to, hmsg->headers, hmsg->payload);
    (void)ParseHeaders(hmsg->headers, limits.max_header_bytes).ok();
  } else if (std::holds_alternative<ServerPing>(op)) {
    EncodePing(out);
  } else if (std::holds_alternative<ServerPong>(op)) {
    EncodePong(out);
  } else if (std::holds_alternative<Ok>(op)) {
    EncodeOk(out);
  } else if (const auto* info = std::get_if<Info>(&op)) {
    if (info->json.size() + 1 > limits.max_info_bytes) return false;
    EncodeInfo(out, info->json);
  } else if (const auto* err = std::get_if<Err>(&op)) {
    if (err->message.size() + 2 > 2 * limits.max_control_line_bytes) return false;
    EncodeErr(out, err->message);
  }
  return true;
}

}  // namespace
}  // namespace embed::wire

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  return embed::wire::internal::FuzzParser<embed::wire::ServerOpParser>(data, size,
                                                                        embed::wire::Encode);
}
