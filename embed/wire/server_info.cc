#include "embed/wire/server_info.h"

#include <nlohmann/json.hpp>

#include "embed/wire/internal/json_fields.h"

namespace embed::wire {

using internal::KeyEquals;

namespace {

// Applies one INFO key; unknown keys are ignored (as nats.go does).
Status ApplyInfoField(std::string_view key, const nlohmann::json& value, ServerInfo& info) {
  using internal::ReadBool;
  using internal::ReadInt;
  using internal::ReadString;
  if (KeyEquals(key, "server_id")) return ReadString(value, key, info.server_id);
  if (KeyEquals(key, "server_name")) return ReadString(value, key, info.server_name);
  if (KeyEquals(key, "version")) return ReadString(value, key, info.version);
  if (KeyEquals(key, "proto")) return ReadInt(value, key, info.proto);
  if (KeyEquals(key, "go")) return ReadString(value, key, info.go);
  if (KeyEquals(key, "host")) return ReadString(value, key, info.host);
  if (KeyEquals(key, "port")) return ReadInt(value, key, info.port);
  if (KeyEquals(key, "headers")) return ReadBool(value, key, info.headers);
  if (KeyEquals(key, "auth_required")) return ReadBool(value, key, info.auth_required);
  if (KeyEquals(key, "tls_required")) return ReadBool(value, key, info.tls_required);
  if (KeyEquals(key, "tls_verify")) return ReadBool(value, key, info.tls_verify);
  if (KeyEquals(key, "tls_available")) return ReadBool(value, key, info.tls_available);
  if (KeyEquals(key, "max_payload")) return ReadInt(value, key, info.max_payload);
  if (KeyEquals(key, "client_id")) return ReadInt(value, key, info.client_id);
  if (KeyEquals(key, "client_ip")) return ReadString(value, key, info.client_ip);
  if (KeyEquals(key, "nonce")) return ReadString(value, key, info.nonce);
  if (KeyEquals(key, "connect_urls")) return internal::ReadStrings(value, key, info.connect_urls);
  if (KeyEquals(key, "ldm")) return ReadBool(value, key, info.lame_duck_mode);
  return Status::Ok();
}

}  // namespace

Result<ServerInfo> ParseServerInfo(ByteView json) {
  const auto document = nlohmann::json::parse(json.begin(), json.end(), nullptr,
                                              /*allow_exceptions=*/false);
  if (document.is_discarded()) return ProtocolError("INFO JSON is malformed");
  if (!document.is_object()) return ProtocolError("INFO JSON is not an object");
  // Absent fields are zero, as in Go, not this struct's broker-side defaults.
  ServerInfo info;
  info.version.clear();
  info.proto = 0;
  info.headers = false;
  info.max_payload = 0;
  for (const auto& [key, value] : document.items()) {
    EMBED_RETURN_IF_ERROR(ApplyInfoField(key, value, info));
  }
  return info;
}

std::string EncodeServerInfo(const ServerInfo& info) {
  using internal::AppendBool;
  using internal::AppendIntField;
  using internal::AppendStringField;
  // nats-server struct order; optional fields omitted when zero.
  std::string out = "{";
  AppendStringField(out, "server_id", info.server_id);
  AppendStringField(out, "server_name", info.server_name);
  AppendStringField(out, "version", info.version);
  AppendIntField(out, "proto", info.proto);
  AppendStringField(out, "go", info.go);
  AppendStringField(out, "host", info.host);
  AppendIntField(out, "port", info.port);
  AppendBool(out, "headers", info.headers);
  if (info.auth_required) AppendBool(out, "auth_required", true);
  if (info.tls_required) AppendBool(out, "tls_required", true);
  if (info.tls_verify) AppendBool(out, "tls_verify", true);
  if (info.tls_available) AppendBool(out, "tls_available", true);
  AppendIntField(out, "max_payload", info.max_payload);
  if (info.client_id != 0) AppendIntField(out, "client_id", info.client_id);
  if (!info.client_ip.empty()) AppendStringField(out, "client_ip", info.client_ip);
  if (!info.nonce.empty()) AppendStringField(out, "nonce", info.nonce);
  if (!info.connect_urls.empty()) {
    internal::AppendKey(out, "connect_urls");
    out.push_back('[');
    for (std::size_t i = 0; i < info.connect_urls.size(); ++i) {
      if (i != 0) out.push_back(',');
      internal::AppendString(out, info.connect_urls[i]);
    }
    out.push_back(']');
  }
  if (info.lame_duck_mode) AppendBool(out, "ldm", true);
  out.push_back('}');
  return out;
}

}  // namespace embed::wire
