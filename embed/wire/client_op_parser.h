#pragma once
// Incremental parser for the operations a client sends to the broker.
// Performs no I/O. Not thread-safe: one per connection.
//
//   ClientOpParser parser(limits);
//   parser.Feed(bytes_from_socket);
//   while (true) {
//     auto op = parser.Next();
//     if (!op.ok()) { /* parser.violation() says how to react */ }
//     if (!*op) break;  // need more bytes
//     std::visit(handler, **op);
//   }

#include <cstddef>
#include <optional>

#include "embed/base/buffer.h"
#include "embed/base/bytes.h"
#include "embed/base/result.h"
#include "embed/wire/client_ops.h"
#include "embed/wire/limits.h"

namespace embed::wire {

class ClientOpParser {
 public:
  explicit ClientOpParser(const Limits& limits = Limits{});

  // Appends bytes received from the peer. Limits are enforced by Next().
  void Feed(ByteView bytes);

  // Returns the next complete operation, or std::nullopt if more bytes are
  // needed. Returns kProtocolError / kResourceExhausted if the peer broke the
  // grammar or a limit; violation() then tells which, and every later call
  // returns the same error. Views inside the op stay valid until the next
  // Feed() or Next().
  Result<std::optional<ClientOp>> Next();

  // Why the last error happened; kNone while no error occurred.
  Violation violation() const { return violation_; }

  // The payload limit may change after CONNECT (per-connection limits).
  void set_max_payload_bytes(std::size_t bytes) { limits_.max_payload_bytes = bytes; }
  const Limits& limits() const { return limits_; }

  // Bytes buffered but not yet returned as ops (for memory accounting).
  std::size_t buffered_bytes() const { return buffer_.size(); }

 private:
  Result<std::optional<ClientOp>> Fail(Violation violation, Status status);

  Limits limits_;
  Buffer buffer_;
  std::size_t pending_consume_ = 0;  // bytes of the op returned last time
  Violation violation_ = Violation::kNone;
  Status error_;
};

}  // namespace embed::wire
