#include "embed/client/server_url.h"

#include <charconv>

namespace embed::client {
namespace {

struct SchemeEntry {
  std::string_view name;
  UrlScheme scheme;
  std::uint16_t default_port;
};

constexpr SchemeEntry kSchemes[] = {
    {"nats", UrlScheme::kNats, kDefaultNatsPort}, {"tls", UrlScheme::kTls, kDefaultNatsPort},
    {"ws", UrlScheme::kWs, kDefaultWsPort},       {"wss", UrlScheme::kWss, kDefaultWssPort},
    {"inproc", UrlScheme::kInproc, 0},
};

bool IsValidInprocName(std::string_view name) {
  if (name.empty()) return false;
  for (const char c : name) {
    if (static_cast<unsigned char>(c) <= ' ' || c == 0x7f || c == '/' || c == '@' || c == '?' ||
        c == '#') {
      return false;
    }
  }
  return true;
}

}  // namespace

std::string_view UrlSchemeName(UrlScheme scheme) {
  for (const SchemeEntry& entry : kSchemes) {
    if (entry.scheme == scheme) return entry.name;
  }
  return "nats";
}

std::string ServerUrl::ToString() const {
  std::string out(UrlSchemeName(scheme));
  out += "://";
  if (scheme == UrlScheme::kInproc) {
    out += host;
    return out;
  }
  if (host.find(':') != std::string::npos) {
    out += '[';
    out += host;
    out += ']';
  } else {
    out += host;
  }
  out += ':';
  out += std::to_string(port);
  if (is_websocket() && !path.empty() && path != "/") out += path;
  return out;
}

Result<ServerUrl> ParseServerUrl(std::string_view url) {
  ServerUrl result;
  std::string_view rest = url;
  if (const auto scheme_end = rest.find("://"); scheme_end != std::string_view::npos) {
    // Schemes are case-insensitive (RFC 3986).
    std::string scheme(rest.substr(0, scheme_end));
    for (char& c : scheme) {
      if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
    }
    const SchemeEntry* found = nullptr;
    for (const SchemeEntry& entry : kSchemes) {
      if (entry.name == scheme) found = &entry;
    }
    if (found == nullptr) {
      return InvalidArgumentError(
          "unsupported URL scheme (nats://, tls://, ws://, wss:// or inproc://)");
    }
    result.scheme = found->scheme;
    result.port = found->default_port;
    rest.remove_prefix(scheme_end + 3);
  }
  if (result.scheme == UrlScheme::kInproc) {
    // "inproc://<name>": a registry name, no port, path or credentials.
    if (!rest.empty() && rest.back() == '/') rest.remove_suffix(1);
    if (rest.find(':') != std::string_view::npos) {
      return InvalidArgumentError("inproc:// URLs take a name, not a port");
    }
    if (!IsValidInprocName(rest)) {
      return InvalidArgumentError(
          "inproc:// URL needs a name without spaces, '/', '@', '?' or '#'");
    }
    result.host = std::string(rest);
    return result;
  }
  // After a '/' comes a path: the WebSocket request path; NATS URLs use none.
  if (const auto slash = rest.find('/'); slash != std::string_view::npos) {
    if (result.is_websocket()) result.path = std::string(rest.substr(slash));
    rest = rest.substr(0, slash);
  }
  if (result.is_websocket() && result.path.empty()) result.path = "/";
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
