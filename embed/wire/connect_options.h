#pragma once
// CONNECT JSON (nats-wire.md §2.2): decode as nats-server does (unknown keys
// ignored, case-insensitive keys, server defaults for absent fields) and
// encode as official clients do.

#include <optional>
#include <string>

#include "embed/base/bytes.h"
#include "embed/base/result.h"

namespace embed::wire {

struct ConnectOptions {
  bool verbose = true;   // server default when absent
  bool pedantic = true;  // server default when absent
  bool tls_required = false;
  std::string auth_token;
  std::string user;
  std::string pass;
  std::string name;
  std::string lang;
  std::string version;
  int protocol = 0;
  bool echo = true;
  bool headers = false;
  bool no_responders = false;
  std::string sig;
  std::string jwt;
  std::string nkey;
  // The legacy `account`/`new_account` keys were present (auth violation).
  bool has_legacy_account = false;
};

// Decodes CONNECT JSON. kProtocolError on malformed JSON or wrong types.
Result<ConnectOptions> ParseConnectOptions(ByteView json);

// Encodes the JSON the way nats.go orders it; credentials only when set.
std::string EncodeConnectOptions(const ConnectOptions& options);

}  // namespace embed::wire
