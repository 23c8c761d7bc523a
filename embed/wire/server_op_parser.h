#pragma once
// Incremental parser for the operations a server sends to a client.
// Performs no I/O. Not thread-safe: one per connection.

#include <cstddef>
#include <optional>

#include "embed/base/buffer.h"
#include "embed/base/bytes.h"
#include "embed/base/result.h"
#include "embed/wire/limits.h"
#include "embed/wire/server_ops.h"

namespace embed::wire {

class ServerOpParser {
 public:
  explicit ServerOpParser(const Limits& limits = Limits{});

  // Appends bytes received from the server.
  void Feed(ByteView bytes);

  // Returns the next complete operation, or std::nullopt if more bytes are
  // needed; kProtocolError / kResourceExhausted when the server broke the
  // grammar or a limit (then every later call returns the same error).
  // Views inside the op stay valid until the next Feed() or Next().
  Result<std::optional<ServerOp>> Next();

  Violation violation() const { return violation_; }
  // The client learns max_payload from INFO.
  void set_max_payload_bytes(std::size_t bytes) { limits_.max_payload_bytes = bytes; }
  std::size_t buffered_bytes() const { return buffer_.size(); }

 private:
  Result<std::optional<ServerOp>> Fail(Violation violation, Status status);

  Limits limits_;
  Buffer buffer_;
  std::size_t pending_consume_ = 0;
  Violation violation_ = Violation::kNone;
  Status error_;
};

}  // namespace embed::wire
