#include "embed/net/websocket/ws_handshake.h"

#include <algorithm>
#include <array>
#include <cctype>
#include <cstdint>
#include <random>

#include <boost/asio/buffer.hpp>
// GCC 12 with sanitizers reports a false -Wmaybe-uninitialized inside
// Beast's parser (a boost::optional in basic_parser::do_field).
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#endif
#include <boost/beast/core/error.hpp>
#include <boost/beast/http/empty_body.hpp>
#include <boost/beast/http/field.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/status.hpp>
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic pop
#endif
#include <openssl/evp.h>
#include <openssl/rand.h>

namespace embed::net {
namespace {

namespace http = boost::beast::http;

constexpr std::string_view kWsGuid = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";
constexpr std::string_view kPmcExtension = "permessage-deflate";
constexpr std::string_view kPmcAnswer =
    "permessage-deflate; server_no_context_takeover; client_no_context_takeover";
constexpr std::size_t kMaxResponseBytes = 16 * 1024;

std::string Base64(const unsigned char* data, std::size_t size) {
  static constexpr char kAlphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  out.reserve((size + 2) / 3 * 4);
  std::size_t i = 0;
  for (; i + 3 <= size; i += 3) {
    const std::uint32_t v = (std::uint32_t{data[i]} << 16) | (std::uint32_t{data[i + 1]} << 8) | data[i + 2];
    out.push_back(kAlphabet[(v >> 18) & 63]);
    out.push_back(kAlphabet[(v >> 12) & 63]);
    out.push_back(kAlphabet[(v >> 6) & 63]);
    out.push_back(kAlphabet[v & 63]);
  }
  if (size - i == 1) {
    const std::uint32_t v = std::uint32_t{data[i]} << 16;
    out.push_back(kAlphabet[(v >> 18) & 63]);
    out.push_back(kAlphabet[(v >> 12) & 63]);
    out.append("==");
  } else if (size - i == 2) {
    const std::uint32_t v = (std::uint32_t{data[i]} << 16) | (std::uint32_t{data[i + 1]} << 8);
    out.push_back(kAlphabet[(v >> 18) & 63]);
    out.push_back(kAlphabet[(v >> 12) & 63]);
    out.push_back(kAlphabet[(v >> 6) & 63]);
    out.push_back('=');
  }
  return out;
}

std::string_view Trim(std::string_view text) {
  while (!text.empty() && (text.front() == ' ' || text.front() == '\t')) text.remove_prefix(1);
  while (!text.empty() && (text.back() == ' ' || text.back() == '\t')) text.remove_suffix(1);
  return text;
}

bool EqualsIgnoreCase(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::tolower(static_cast<unsigned char>(x)) == std::tolower(static_cast<unsigned char>(y));
         });
}

// Calls fn(part) for every `separator`-separated, trimmed part of `list`.
template <typename Fn>
bool AnyPart(std::string_view list, char separator, Fn&& fn) {
  while (true) {
    const std::size_t at = list.find(separator);
    if (fn(Trim(list.substr(0, at)))) return true;
    if (at == std::string_view::npos) return false;
    list.remove_prefix(at + 1);
  }
}

// Whether any value of `field` holds `token` in its comma list.
template <typename Fields>
bool HeaderHasToken(const Fields& fields, http::field field, std::string_view token) {
  auto range = fields.equal_range(field);
  for (auto it = range.first; it != range.second; ++it) {
    const std::string_view value(it->value().data(), it->value().size());
    if (AnyPart(value, ',', [&](std::string_view part) { return EqualsIgnoreCase(part, token); })) return true;
  }
  return false;
}

struct PmcOffer {
  bool present = false;
  bool no_context_takeover = false;  // both server_ and client_no_context_takeover
};

// nats-server's wsPMCExtensionSupport: looks for permessage-deflate in any
// Sec-WebSocket-Extensions value and for both no-context-takeover params.
template <typename Fields>
PmcOffer FindPmc(const Fields& fields) {
  PmcOffer offer;
  auto range = fields.equal_range(http::field::sec_websocket_extensions);
  for (auto it = range.first; it != range.second && !offer.present; ++it) {
    const std::string_view value(it->value().data(), it->value().size());
    AnyPart(value, ',', [&](std::string_view extension) {
      bool found = false, server_nct = false, client_nct = false;
      AnyPart(extension, ';', [&](std::string_view param) {
        if (!found) {
          found = EqualsIgnoreCase(param, kPmcExtension);
        } else if (EqualsIgnoreCase(param, "server_no_context_takeover")) {
          server_nct = true;
        } else if (EqualsIgnoreCase(param, "client_no_context_takeover")) {
          client_nct = true;
        }
        return false;
      });
      if (!found) return false;
      offer.present = true;
      offer.no_context_takeover = server_nct && client_nct;
      return true;
    });
  }
  return offer;
}

template <typename Fields>
std::string_view FirstValue(const Fields& fields, http::field field) {
  auto it = fields.find(field);
  if (it == fields.end()) return {};
  return std::string_view(it->value().data(), it->value().size());
}

std::string Sanitize(std::string_view text) {
  std::string out(text);
  for (char& c : out) {
    if (c == '\r' || c == '\n') c = ' ';
  }
  return out;
}

}  // namespace

std::string WsAcceptKey(std::string_view key) {
  std::string input(key);
  input.append(kWsGuid);
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int digest_size = 0;
  if (EVP_Digest(input.data(), input.size(), digest, &digest_size, EVP_sha1(), nullptr) != 1) return {};
  return Base64(digest, digest_size);
}

Result<WsAcceptResult> AcceptUpgrade(std::string_view request, const WsServerOptions& options) {
  if (request.size() > options.max_request_bytes) return ResourceExhaustedError("request too large");
  http::request_parser<http::empty_body> parser;
  parser.header_limit(static_cast<std::uint32_t>(std::min<std::size_t>(options.max_request_bytes, UINT32_MAX)));
  parser.body_limit(0);
  boost::beast::error_code error;
  const std::size_t used = parser.put(boost::asio::buffer(request.data(), request.size()), error);
  if (error || !parser.is_done() || used != request.size()) {
    return ProtocolError(error ? "malformed request: " + error.message() : std::string("malformed request"));
  }
  const auto& req = parser.get();
  if (req.method() != http::verb::get) return FailedPreconditionError("request method must be GET");
  if (Trim(FirstValue(req, http::field::host)).empty()) return ProtocolError("'Host' missing in request");
  if (!HeaderHasToken(req, http::field::upgrade, "websocket")) {
    return ProtocolError("invalid value for header 'Upgrade'");
  }
  if (!HeaderHasToken(req, http::field::connection, "Upgrade")) {
    return ProtocolError("invalid value for header 'Connection'");
  }
  const std::string_view key = Trim(FirstValue(req, http::field::sec_websocket_key));
  if (key.empty()) return ProtocolError("key missing");
  if (!HeaderHasToken(req, http::field::sec_websocket_version, "13")) return ProtocolError("invalid version");

  WsAcceptResult result;
  result.codec.role = WsRole::kServer;
  result.codec.max_message_bytes = options.max_message_bytes;
  result.codec.compression = options.compression && FindPmc(req).present;
  auto no_masking = req.find("Nats-No-Masking");
  result.codec.accept_unmasked =
      no_masking != req.end() &&
      EqualsIgnoreCase(Trim(std::string_view(no_masking->value().data(), no_masking->value().size())), "true");
  const std::string_view agent = FirstValue(req, http::field::user_agent);
  result.is_browser = agent.substr(0, 8) == "Mozilla/";
  result.codec.browser_framing = result.is_browser;
  result.is_safari = result.is_browser && IsSafariUserAgent(agent);
  result.codec.no_fragmenting_compressed = result.is_safari;

  std::string& out = result.response;
  out.append("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: ");
  out.append(WsAcceptKey(key));
  out.append("\r\n");
  if (result.codec.compression) {
    out.append("Sec-WebSocket-Extensions: ").append(kPmcAnswer).append("\r\n");
  }
  if (result.codec.accept_unmasked) out.append("Nats-No-Masking: true\r\n");
  out.append("\r\n");
  return result;
}

bool IsSafariUserAgent(std::string_view user_agent) {
  const auto has = [user_agent](std::string_view part) { return user_agent.find(part) != std::string_view::npos; };
  return has("Safari/") && !has("Chrome") && !has("Chromium") && !has("Android");
}

int WsRejectStatusFor(const Status& status) {
  switch (status.code()) {
    case StatusCode::kFailedPrecondition: return 405;
    case StatusCode::kPermissionDenied: return 403;
    default: return 400;
  }
}

std::string WsRejectResponse(int http_status, std::string_view reason) {
  const std::string body = Sanitize(reason);
  const auto phrase = http::obsolete_reason(static_cast<http::status>(http_status));
  std::string out = "HTTP/1.1 " + std::to_string(http_status) + " ";
  out.append(phrase.empty() ? std::string_view("Error") : std::string_view(phrase.data(), phrase.size()));
  out.append("\r\nSec-Websocket-Version: 13\r\nContent-Type: text/plain; charset=utf-8\r\nConnection: close\r\n");
  out.append("Content-Length: ").append(std::to_string(body.size())).append("\r\n\r\n");
  out.append(body);
  return out;
}

std::string NewWsKey() {
  std::array<unsigned char, 16> bytes{};
  if (RAND_bytes(bytes.data(), static_cast<int>(bytes.size())) != 1) {
    std::random_device device;
    for (auto& b : bytes) b = static_cast<unsigned char>(device());
  }
  return Base64(bytes.data(), bytes.size());
}

std::string BuildUpgradeRequest(std::string_view host_port, std::string_view path, std::string_view key,
                                bool offer_compression) {
  std::string out = "GET ";
  out.append(path.empty() ? std::string_view("/") : path);
  out.append(" HTTP/1.1\r\nHost: ").append(host_port);
  out.append("\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: ").append(key);
  out.append("\r\nSec-WebSocket-Version: 13\r\n");
  if (offer_compression) out.append("Sec-WebSocket-Extensions: ").append(kPmcAnswer).append("\r\n");
  out.append("\r\n");
  return out;
}

Result<WsCodecOptions> ParseUpgradeResponse(std::string_view response, std::string_view key,
                                            bool offered_compression) {
  if (response.size() > kMaxResponseBytes) return ProtocolError("websocket upgrade response too large");
  http::response_parser<http::empty_body> parser;
  parser.header_limit(static_cast<std::uint32_t>(kMaxResponseBytes));
  boost::beast::error_code error;
  parser.put(boost::asio::buffer(response.data(), response.size()), error);
  if (!parser.is_header_done()) {
    return ProtocolError(error ? "malformed websocket upgrade response: " + error.message()
                               : std::string("malformed websocket upgrade response"));
  }
  const auto& res = parser.get();
  if (res.result_int() != 101) {
    return ProtocolError("websocket upgrade failed: HTTP " + std::to_string(res.result_int()));
  }
  if (!EqualsIgnoreCase(Trim(FirstValue(res, http::field::upgrade)), "websocket") ||
      !EqualsIgnoreCase(Trim(FirstValue(res, http::field::connection)), "upgrade") ||
      Trim(FirstValue(res, http::field::sec_websocket_accept)) != WsAcceptKey(key)) {
    return ProtocolError("invalid websocket connection");
  }
  // RFC 6455 §4.1: the client fails on a subprotocol or an extension it did
  // not ask for.
  if (res.find(http::field::sec_websocket_protocol) != res.end()) {
    return ProtocolError("websocket upgrade: unexpected subprotocol in response");
  }
  WsCodecOptions codec;
  codec.role = WsRole::kClient;
  const PmcOffer answer = FindPmc(res);
  if (answer.present && !offered_compression) {
    return ProtocolError("compression negotiation error: permessage-deflate was not offered");
  }
  if (answer.present && !answer.no_context_takeover) return ProtocolError("compression negotiation error");
  codec.compression = answer.present;
  return codec;
}

}  // namespace embed::net
