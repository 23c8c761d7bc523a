#pragma once
// Per-call options of a client call.

#include <chrono>

#include "embed/wire/headers.h"

namespace embed::rpc {

struct CallOptions {
  // The call's deadline, relative to now. It travels with the call
  // (Embed-Timeout header), so the server stops work when it passes and the
  // caller gets DEADLINE_EXCEEDED. 0 = unary calls use
  // ChannelOptions::default_timeout; streams have no deadline.
  std::chrono::milliseconds timeout{0};
  // Call metadata: headers the server's handler reads through
  // ServerContext::metadata(). Keys starting with "Embed-" or "Nats-" are
  // reserved: a call carrying one fails with INVALID_ARGUMENT.
  wire::Headers metadata;
};

}  // namespace embed::rpc
