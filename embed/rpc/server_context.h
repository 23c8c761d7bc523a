#pragma once
// What a server handler knows about its call. Thread-safe.

#include <chrono>
#include <string>
#include <string_view>

#include "embed/rpc/rpc_status.h"
#include "embed/wire/headers.h"

namespace embed::rpc {

class ServerContext {
 public:
  virtual ~ServerContext() = default;

  // "<package>.<Service>.<Method>".
  virtual std::string_view method() const = 0;
  // The headers the caller sent, including CallOptions::metadata (and the
  // protocol's own Embed-* headers).
  virtual const wire::Headers& metadata() const = 0;
  // When the caller stops waiting; time_point::max() when it set no deadline.
  virtual std::chrono::steady_clock::time_point deadline() const = 0;

  // True once the call is over for the caller: its deadline passed, it
  // cancelled, it vanished (a stream's keepalives stopped) or the host is
  // stopping. A handler doing long work should check it and return; what it
  // returns then is not sent (the caller already has its status).
  virtual bool IsCancelled() const = 0;
  // Why the call was cancelled (OK while it is not).
  virtual RpcStatus cancellation() const = 0;
  // Sleeps until the call is cancelled or `timeout` passes; true if cancelled.
  virtual bool WaitForCancellation(std::chrono::milliseconds timeout) const = 0;
};

}  // namespace embed::rpc
