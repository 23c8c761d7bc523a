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

Status ValidateTlsOptions(const TlsOptions& tls) {
  if (!tls.cert_file.empty() && tls.key_file.empty()) {
    return InvalidArgumentError("tls.cert_file is set but tls.key_file is empty (both or neither)");
  }
  if (tls.cert_file.empty() && !tls.key_file.empty()) {
    return InvalidArgumentError("tls.key_file is set but tls.cert_file is empty (both or neither)");
  }
  return Status::Ok();
}

}  // namespace embed::client
