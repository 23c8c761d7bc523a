#include "embed/client/connection_options.h"

namespace embed::client {

std::string_view ConnectionEventName(ConnectionEvent event) {
  switch (event) {
    case ConnectionEvent::kConnected: return "connected";
    case ConnectionEvent::kDisconnected: return "disconnected";
    case ConnectionEvent::kReconnected: return "reconnected";
    case ConnectionEvent::kClosed: return "closed";
  }
  return "unknown";
}

}  // namespace embed::client
