#pragma once
// Helpers for decoding JSON objects the way Go's encoding/json does
// (case-insensitive keys, null leaves a field alone, a wrong type is an
// error) and for encoding JSON strings. Internal to embed/wire.

#include <cstdint>
#include <limits>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "embed/base/status.h"

namespace embed::wire::internal {

// ASCII case-insensitive equality, as Go's encoding/json matches keys.
inline bool KeyEquals(std::string_view key, std::string_view name) {
  if (key.size() != name.size()) return false;
  for (std::size_t i = 0; i < key.size(); ++i) {
    char a = key[i];
    char b = name[i];
    if (a >= 'A' && a <= 'Z') a = static_cast<char>(a | 0x20);
    if (b >= 'A' && b <= 'Z') b = static_cast<char>(b | 0x20);
    if (a != b) return false;
  }
  return true;
}

inline Status WrongType(std::string_view key) {
  return ProtocolError(std::string("JSON field has the wrong type: ") + std::string(key));
}

inline Status ReadBool(const nlohmann::json& value, std::string_view key, bool& out) {
  if (value.is_null()) return Status::Ok();
  if (!value.is_boolean()) return WrongType(key);
  out = value.get<bool>();
  return Status::Ok();
}

inline Status ReadString(const nlohmann::json& value, std::string_view key, std::string& out) {
  if (value.is_null()) return Status::Ok();
  if (!value.is_string()) return WrongType(key);
  out = value.get_ref<const std::string&>();
  return Status::Ok();
}

// Integers only (Go rejects 1.5 and 1e3 for an int field), within range.
template <typename Int>
Status ReadInt(const nlohmann::json& value, std::string_view key, Int& out) {
  if (value.is_null()) return Status::Ok();
  if (value.is_number_unsigned()) {
    const auto number = value.get<std::uint64_t>();
    if (number > static_cast<std::uint64_t>(std::numeric_limits<Int>::max())) {
      return WrongType(key);
    }
    out = static_cast<Int>(number);
    return Status::Ok();
  }
  if (value.is_number_integer()) {
    const auto number = value.get<std::int64_t>();
    if constexpr (std::numeric_limits<Int>::is_signed) {
      if (number < static_cast<std::int64_t>(std::numeric_limits<Int>::min()) ||
          number > static_cast<std::int64_t>(std::numeric_limits<Int>::max())) {
        return WrongType(key);
      }
    } else {
      if (number < 0) return WrongType(key);
    }
    out = static_cast<Int>(number);
    return Status::Ok();
  }
  return WrongType(key);
}

inline Status ReadStrings(const nlohmann::json& value, std::string_view key,
                          std::vector<std::string>& out) {
  if (value.is_null()) return Status::Ok();
  if (!value.is_array()) return WrongType(key);
  out.clear();
  for (const auto& item : value) {
    if (!item.is_string()) return WrongType(key);
    out.push_back(item.get_ref<const std::string&>());
  }
  return Status::Ok();
}

// Appends `"key":` (key is ours, plain ASCII).
inline void AppendKey(std::string& out, std::string_view key) {
  if (out.size() > 1) out.push_back(',');
  out.push_back('"');
  out.append(key);
  out.append("\":");
}

// Appends a JSON string literal; invalid UTF-8 becomes U+FFFD, never an exception.
inline void AppendString(std::string& out, std::string_view text) {
  out.append(nlohmann::json(std::string(text))
                 .dump(-1, ' ', false, nlohmann::json::error_handler_t::replace));
}

inline void AppendBool(std::string& out, std::string_view key, bool value) {
  AppendKey(out, key);
  out.append(value ? "true" : "false");
}

inline void AppendStringField(std::string& out, std::string_view key, std::string_view value) {
  AppendKey(out, key);
  AppendString(out, value);
}

template <typename Int>
void AppendIntField(std::string& out, std::string_view key, Int value) {
  AppendKey(out, key);
  out.append(std::to_string(value));
}

}  // namespace embed::wire::internal
