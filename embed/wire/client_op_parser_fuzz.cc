// libFuzzer target for ClientOpParser: the same bytes fed whole, in chunks
// and byte by byte give the same ops and the same error; every parsed op
// encodes back to bytes that parse to the same op.

#include <cstddef>
#include <cstdint>
#include <string>

#include "embed/wire/client_op_parser.h"
#include "embed/wire/encoder.h"
#include "embed/wire/headers.h"
#include "embed/wire/internal/fuzz_support.h"

namespace embed::wire {
namespace {

// Encodes `op`; false when re-encoding could legitimately exceed the line
// limit (a JSON or -ERR text that was written without separator or quotes).
bool Encode(const ClientOp& op, const Limits& limits, std::string& out, ClientOp& expected) {
  if (const auto* pub = std::get_if<Pub>(&op)) {
    EncodePub(out, pub->subject, pub->reply_to, pub->payload);
  } else if (const auto* hpub = std::get_if<HPub>(&op)) {
    EncodeHPub(out, hpub->subject, hpub->reply_to, hpub->headers, hpub->payload);
    (void)ParseHeaders(hpub->headers, limits.max_header_bytes).ok();
  } else if (const auto* sub = std::get_if<Sub>(&op)) {
    EncodeSub(out, sub->subject, sub->queue_group, sub->sid);
  } else if (const auto* unsub = std::get_if<Unsub>(&op)) {
    EncodeUnsub(out, unsub->sid, unsub->max_msgs.value_or(0));
    // The encoder writes max 0 as "no max".
    if (unsub->max_msgs == 0u) expected = Unsub{unsub->sid, std::nullopt};
  } else if (std::holds_alternative<Ping>(op)) {
    EncodePing(out);
  } else if (std::holds_alternative<Pong>(op)) {
    EncodePong(out);
  } else if (std::holds_alternative<ClientOk>(op)) {
    EncodeOk(out);
  } else if (const auto* connect = std::get_if<Connect>(&op)) {
    if (connect->json.size() > limits.max_control_line_bytes) return false;
    EncodeConnect(out, connect->json);
  } else if (const auto* info = std::get_if<ClientInfo>(&op)) {
    if (info->json.size() + 1 > limits.max_control_line_bytes) return false;
    EncodeInfo(out, info->json);
  } else if (const auto* err = std::get_if<ClientErr>(&op)) {
    if (err->message.size() + 2 > limits.max_control_line_bytes) return false;
    EncodeErr(out, err->message);
  }
  return true;
}

}  // namespace
}  // namespace embed::wire

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  return embed::wire::internal::FuzzParser<embed::wire::ClientOpParser>(data, size,
                                                                        embed::wire::Encode);
}
