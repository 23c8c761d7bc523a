#pragma once
// The WebSocket opening handshake (RFC 6455 §4) under the NATS rules of
// nats-wire.md §7.2, §7.4 and §7.5, sans-I/O: the server side checks an
// upgrade request and builds the exact 101 (or the HTTP error) bytes; the
// client side builds the request and checks the 101. ws_connect.h drives
// these over a stream. No Asio or Beast in this header.

#include <cstddef>
#include <string>
#include <string_view>

#include "embed/base/result.h"
#include "embed/base/status.h"
#include "embed/net/websocket/ws_codec.h"

namespace embed::net {

struct WsServerOptions {
  bool compression = true;                      // answer a permessage-deflate offer
  std::size_t max_request_bytes = 8 * 1024;     // the whole request head
  std::size_t max_message_bytes = 64 * 1024 * 1024;  // copied into the codec options
};

struct WsAcceptResult {
  std::string response;  // the exact 101 response bytes
  WsCodecOptions codec;  // role kServer, negotiated compression / masking / framing
  bool is_browser = false;  // User-Agent starts with "Mozilla/"
  bool is_safari = false;   // a browser on WebKit without Chrome (see IsSafariUserAgent)
};

// Parses a complete HTTP upgrade request (all bytes up to and including the
// blank line) and checks it. On failure the Status message says why and
// WsRejectStatusFor() gives the HTTP status to answer with.
Result<WsAcceptResult> AcceptUpgrade(std::string_view request, const WsServerOptions& options);

// Whether a browser User-Agent is Safari (or another WebKit browser that
// says so), whose compressed output is not fragmented (nats-wire §7.3):
// it contains "Safari/" but not "Chrome", "Chromium" or "Android" (Chrome,
// Edge, Opera and Android browsers also claim "Safari/").
bool IsSafariUserAgent(std::string_view user_agent);

// The HTTP status for a failed AcceptUpgrade: 405 (method not GET, code
// kFailedPrecondition), 403 (kPermissionDenied), else 400.
int WsRejectStatusFor(const Status& status);

// "HTTP/1.1 <status> <standard reason phrase>" with Sec-Websocket-Version: 13,
// Content-Type, Content-Length and Connection: close; body = `reason`
// (CR and LF replaced by spaces).
std::string WsRejectResponse(int http_status, std::string_view reason);

// The Sec-WebSocket-Accept value for `key`: base64(SHA1(key + GUID)).
std::string WsAcceptKey(std::string_view key);

// Client side.
std::string NewWsKey();  // base64 of 16 random bytes
std::string BuildUpgradeRequest(std::string_view host_port, std::string_view path, std::string_view key,
                                bool offer_compression);
// Checks a 101 response head (up to and including the blank line) for
// `key` and for the request's `offered_compression`: an extension the
// request did not offer, or any Sec-WebSocket-Protocol (none is requested,
// nats-wire §7.2), fails it. Returns the client-role codec options.
Result<WsCodecOptions> ParseUpgradeResponse(std::string_view response, std::string_view key,
                                            bool offered_compression);

}  // namespace embed::net
