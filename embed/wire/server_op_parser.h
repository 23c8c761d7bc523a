#pragma once
// Incremental parser for the operations a server sends to a client
// (nats-wire.md §1): INFO (with or without the space nats-server puts before
// CR LF), MSG, HMSG, PING, PONG, +OK, -ERR (text returned without the single
// quotes). Op names are case-insensitive, SP/TAB runs collapse, bare LF ends
// a line. Performs no I/O and no heap allocation per op. Not thread-safe.
//
// Zero-copy contract (as ClientOpParser): Feed() does NOT copy; the bytes
// passed to Feed() must stay valid until Next() returns std::nullopt or an
// error. Only the tail of an incomplete op is copied. FeedCopy() copies.
//
// Limits: INFO lines may take max_info_bytes; other lines twice
// max_control_line_bytes (a MSG line repeats the publisher's subject and
// reply and adds a sid); MSG size / HMSG total over max_payload_bytes ->
// kPayloadTooLarge. Subjects are not checked (the server relays them).

#include <cstddef>
#include <optional>
#include <string>
#include <type_traits>

#include "embed/base/buffer.h"
#include "embed/base/bytes.h"
#include "embed/base/result.h"
#include "embed/wire/internal/op_parser_core.h"
#include "embed/wire/internal/parse_input.h"
#include "embed/wire/limits.h"
#include "embed/wire/server_ops.h"

namespace embed::wire {

class ServerOpParser {
 public:
  explicit ServerOpParser(const Limits& limits = Limits{});

  // Appends bytes received from the server without copying: `bytes` must
  // stay valid until Next() returns std::nullopt or an error.
  void Feed(ByteView bytes);
  // Feeding a temporary std::string would leave the parser with dangling
  // views; it does not compile. Keep the string alive or use FeedCopy().
  template <typename String>
  requires std::is_same_v<String, std::string>
  void Feed(String&& temporary) = delete;
  // Like Feed() but copies `bytes`.
  void FeedCopy(ByteView bytes);

  // Returns the next complete operation, or std::nullopt if more bytes are
  // needed; kProtocolError / kResourceExhausted when the server broke the
  // grammar or a limit (then every later call returns the same error).
  // Views inside the op stay valid until the next Feed(), FeedCopy() or
  // Next(). Violations as ClientOpParser::Next().
  Result<std::optional<ServerOp>> Next();

  Violation violation() const { return failure_.violation(); }
  // The client learns max_payload from INFO.
  void set_max_payload_bytes(std::size_t bytes) { limits_.max_payload_bytes = bytes; }
  const Limits& limits() const { return limits_; }
  std::size_t buffered_bytes() const { return input_.buffered_bytes(); }

 private:
  internal::Step ParseOne(ByteView in, ServerOp& op);

  Limits limits_;
  internal::ParseInput input_;
  internal::ParseFailure failure_;
};

}  // namespace embed::wire
