#pragma once
// Incremental parser for the operations a client sends to the broker
// (nats-wire.md §1), with the leniencies nats-server accepts. Performs no I/O
// and no heap allocation per op. Not thread-safe: one per connection.
//
// Zero-copy contract: Feed() does NOT copy. The bytes passed to Feed() must
// stay valid and unchanged until Next() returns std::nullopt or an error (the
// usual "feed one read, drain all ops" loop satisfies this). Ops are parsed
// in place from those bytes; only the tail of an op that is still incomplete
// when Next() returns std::nullopt is copied into an internal buffer. Callers
// that cannot keep the bytes alive use FeedCopy().
//
//   ClientOpParser parser(limits);
//   parser.Feed(bytes_from_socket);
//   while (true) {
//     auto op = parser.Next();
//     if (!op.ok()) { /* parser.violation() says how to react */ break; }
//     if (!*op) break;  // need more bytes
//     std::visit(handler, **op);
//   }

#include <cstddef>
#include <optional>
#include <string>
#include <type_traits>

#include "embed/base/buffer.h"
#include "embed/base/bytes.h"
#include "embed/base/result.h"
#include "embed/wire/client_ops.h"
#include "embed/wire/internal/op_parser_core.h"
#include "embed/wire/internal/parse_input.h"
#include "embed/wire/limits.h"

namespace embed::wire {

class ClientOpParser {
 public:
  explicit ClientOpParser(const Limits& limits = Limits{});

  // Appends bytes received from the peer without copying them: `bytes` must
  // stay valid until Next() returns std::nullopt or an error. Invalidates the
  // views of the op returned last. Limits are enforced by Next().
  void Feed(ByteView bytes);
  // Feeding a temporary std::string would leave the parser with dangling
  // views; it does not compile. Keep the string alive or use FeedCopy().
  template <typename String>
  requires std::is_same_v<String, std::string>
  void Feed(String&& temporary) = delete;
  // Like Feed() but copies `bytes`, so they may be released at once.
  void FeedCopy(ByteView bytes);

  // Returns the next complete operation, or std::nullopt if more bytes are
  // needed. Returns kProtocolError / kResourceExhausted if the peer broke the
  // grammar or a limit; violation() then tells which, and every later call
  // returns the same error. Views inside the op stay valid until the next
  // Feed(), FeedCopy() or Next() (and while the fed bytes stay valid).
  //
  // Errors: kUnknownOperation (unknown op name, op name without the required
  // SP/TAB, payload not followed by exactly CRLF), kControlLineTooLong (more
  // than max_control_line_bytes + 1 bytes after the op name, CR LF excluded;
  // detected as soon as that many bytes arrived without LF), kPayloadTooLarge
  // (PUB size or HPUB total > max_payload_bytes, or HPUB header size >
  // max_header_bytes; checked on the control line), kMalformed (wrong number
  // of arguments, a size that is not 1-9 digits, header size > total, subject
  // over max_subject_bytes / max_subject_tokens). Limit breaches carry
  // kResourceExhausted, grammar errors kProtocolError.
  //
  // Two deliberate differences from nats-server, both so that a peer that
  // never sends LF cannot make the parser buffer without bound: blanks after
  // the op name beyond the first count toward the control line limit, and
  // the bytes PING/PONG/+OK ignore up to LF count toward it too (nats-server
  // skips both without limit).
  Result<std::optional<ClientOp>> Next();

  // Why the last error happened; kNone while no error occurred.
  Violation violation() const { return failure_.violation(); }

  // The payload limit may change after CONNECT (per-connection limits).
  void set_max_payload_bytes(std::size_t bytes) { limits_.max_payload_bytes = bytes; }
  const Limits& limits() const { return limits_; }

  // Bytes fed but not yet returned as ops (for memory accounting).
  std::size_t buffered_bytes() const { return input_.buffered_bytes(); }

 private:
  internal::Step ParseOne(ByteView in, ClientOp& op);

  Limits limits_;
  internal::ParseInput input_;
  internal::ParseFailure failure_;
};

}  // namespace embed::wire
