#include "embed/client/server_url.h"

#include <charconv>

namespace embed::client {

std::string ServerUrl::ToString() const {
  std::string out = "nats://";
  if (host.find(':') != std::string::npos) {
    out += '[';
    out += host;
    out += ']';
  } else {
    out += host;
  }
  out += ':';
  out += std::to_string(port);
  return out;
}

Result<ServerUrl> ParseServerUrl(std::string_view url) {
  ServerUrl result;
  std::string_view rest = url;
  if (const auto scheme_end = rest.find("://"); scheme_end != std::string_view::npos) {
    const std::string_view scheme = rest.substr(0, scheme_end);
    if (scheme != "nats") return InvalidArgumentError("unsupported URL scheme (only nats://)");
    rest.remove_prefix(scheme_end + 3);
  }
  // Anything after a '/' is a path, which NATS URLs do not use.
  if (const auto slash = rest.find('/'); slash != std::string_view::npos) {
    rest = rest.substr(0, slash);
  }
  if (const auto at = rest.rfind('@'); at != std::string_view::npos) {
    const std::string_view user_info = rest.substr(0, at);
    rest.remove_prefix(at + 1);
    if (const auto colon = user_info.find(':'); colon != std::string_view::npos) {
      result.user = std::string(user_info.substr(0, colon));
      result.password = std::string(user_info.substr(colon + 1));
    } else {
      // NATS: a user info without ':' is a token.
      result.token = std::string(user_info);
    }
  }
  std::string_view port_text;
  if (!rest.empty() && rest.front() == '[') {
    const auto close = rest.find(']');
    if (close == std::string_view::npos) return InvalidArgumentError("unterminated IPv6 host in URL");
    result.host = std::string(rest.substr(1, close - 1));
    rest.remove_prefix(close + 1);
    if (!rest.empty()) {
      if (rest.front() != ':') return InvalidArgumentError("unexpected text after IPv6 host");
      port_text = rest.substr(1);
      if (port_text.empty()) return InvalidArgumentError("empty port in URL");
    }
  } else {
    const auto colon = rest.rfind(':');
    if (colon != std::string_view::npos) {
      port_text = rest.substr(colon + 1);
      rest = rest.substr(0, colon);
      if (port_text.empty()) return InvalidArgumentError("empty port in URL");
    }
    result.host = std::string(rest);
  }
  if (result.host.empty()) return InvalidArgumentError("empty host in URL");
  if (!port_text.empty()) {
    unsigned value = 0;
    const auto [end, error] =
        std::from_chars(port_text.data(), port_text.data() + port_text.size(), value);
    if (error != std::errc() || end != port_text.data() + port_text.size() || value == 0 ||
        value > 65535) {
      return InvalidArgumentError("bad port in URL");
    }
    result.port = static_cast<std::uint16_t>(value);
  }
  return result;
}

}  // namespace embed::client
