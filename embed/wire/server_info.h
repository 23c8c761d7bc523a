#pragma once
// INFO JSON (nats-wire.md §2.1): what a broker advertises and a client reads.

#include <cstdint>
#include <string>
#include <vector>

#include "embed/base/bytes.h"
#include "embed/base/result.h"

namespace embed::wire {

struct ServerInfo {
  std::string server_id;
  std::string server_name;
  std::string version = "2.10.0";
  int proto = 1;
  std::string go;  // nats-server reports its Go version; we report our build ("embed")
  std::string host;
  int port = 0;
  bool headers = true;
  bool auth_required = false;
  bool tls_required = false;
  bool tls_verify = false;
  bool tls_available = false;
  std::int64_t max_payload = 1024 * 1024;
  std::uint64_t client_id = 0;
  std::string client_ip;
  std::string nonce;
  std::vector<std::string> connect_urls;
  bool lame_duck_mode = false;  // "ldm"
};

// Decodes INFO JSON as nats.go does: keys case-insensitive, unknown keys
// ignored, absent fields zero/empty (not the defaults above). kProtocolError
// on malformed JSON or a field of the wrong type.
Result<ServerInfo> ParseServerInfo(ByteView json);

// Encodes INFO JSON (fields omitted when zero, as nats-server does, except
// the "always" ones).
std::string EncodeServerInfo(const ServerInfo& info);

}  // namespace embed::wire
