// In-process sessions: the broker's end of a pipe, no socket.

#include "embed/broker/internal/session_start.h"

namespace embed::broker::internal {

void StartPipeSession(IoWorker& worker, net::PipeStream stream, const SessionConfig& config) {
  StartSession(worker, std::move(stream), config);
}

}  // namespace embed::broker::internal
