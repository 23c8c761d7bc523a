#include "embed/wire/connect_options.h"

#include <nlohmann/json.hpp>

#include "embed/wire/internal/json_fields.h"

namespace embed::wire {

using internal::KeyEquals;

namespace {

// Applies one CONNECT key; unknown keys are ignored (Go encoding/json).
Status ApplyConnectField(std::string_view key, const nlohmann::json& value,
                         ConnectOptions& options) {
  using internal::ReadBool;
  using internal::ReadInt;
  using internal::ReadString;
  if (KeyEquals(key, "verbose")) return ReadBool(value, key, options.verbose);
  if (KeyEquals(key, "pedantic")) return ReadBool(value, key, options.pedantic);
  if (KeyEquals(key, "tls_required")) return ReadBool(value, key, options.tls_required);
  if (KeyEquals(key, "auth_token")) return ReadString(value, key, options.auth_token);
  if (KeyEquals(key, "user")) return ReadString(value, key, options.user);
  if (KeyEquals(key, "pass")) return ReadString(value, key, options.pass);
  if (KeyEquals(key, "name")) return ReadString(value, key, options.name);
  if (KeyEquals(key, "lang")) return ReadString(value, key, options.lang);
  if (KeyEquals(key, "version")) return ReadString(value, key, options.version);
  if (KeyEquals(key, "protocol")) return ReadInt(value, key, options.protocol);
  if (KeyEquals(key, "echo")) return ReadBool(value, key, options.echo);
  if (KeyEquals(key, "headers")) return ReadBool(value, key, options.headers);
  if (KeyEquals(key, "no_responders")) return ReadBool(value, key, options.no_responders);
  if (KeyEquals(key, "sig")) return ReadString(value, key, options.sig);
  if (KeyEquals(key, "jwt")) return ReadString(value, key, options.jwt);
  if (KeyEquals(key, "nkey")) return ReadString(value, key, options.nkey);
  if (KeyEquals(key, "account")) {
    std::string account;
    EMBED_RETURN_IF_ERROR(ReadString(value, key, account));
    if (!value.is_null()) options.has_legacy_account = true;
    return Status::Ok();
  }
  if (KeyEquals(key, "new_account")) {
    bool new_account = false;
    EMBED_RETURN_IF_ERROR(ReadBool(value, key, new_account));
    if (!value.is_null()) options.has_legacy_account = true;
    return Status::Ok();
  }
  return Status::Ok();
}

}  // namespace

Result<ConnectOptions> ParseConnectOptions(ByteView json) {
  const auto document = nlohmann::json::parse(json.begin(), json.end(), nullptr,
                                              /*allow_exceptions=*/false);
  if (document.is_discarded()) return ProtocolError("CONNECT JSON is malformed");
  if (!document.is_object()) return ProtocolError("CONNECT JSON is not an object");
  ConnectOptions options;
  for (const auto& [key, value] : document.items()) {
    EMBED_RETURN_IF_ERROR(ApplyConnectField(key, value, options));
  }
  return options;
}

std::string EncodeConnectOptions(const ConnectOptions& options) {
  using internal::AppendBool;
  using internal::AppendStringField;
  // nats.go field order; credentials only when set.
  std::string out = "{";
  AppendBool(out, "verbose", options.verbose);
  AppendBool(out, "pedantic", options.pedantic);
  if (!options.jwt.empty()) AppendStringField(out, "jwt", options.jwt);
  if (!options.nkey.empty()) AppendStringField(out, "nkey", options.nkey);
  if (!options.sig.empty()) AppendStringField(out, "sig", options.sig);
  if (!options.user.empty()) AppendStringField(out, "user", options.user);
  if (!options.pass.empty()) AppendStringField(out, "pass", options.pass);
  if (!options.auth_token.empty()) AppendStringField(out, "auth_token", options.auth_token);
  AppendBool(out, "tls_required", options.tls_required);
  AppendStringField(out, "name", options.name);
  AppendStringField(out, "lang", options.lang);
  AppendStringField(out, "version", options.version);
  internal::AppendIntField(out, "protocol", options.protocol);
  AppendBool(out, "echo", options.echo);
  AppendBool(out, "headers", options.headers);
  AppendBool(out, "no_responders", options.no_responders);
  out.push_back('}');
  return out;
}

}  // namespace embed::wire
