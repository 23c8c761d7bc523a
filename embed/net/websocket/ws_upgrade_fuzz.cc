// libFuzzer target for the upgrade handshake parsers: AcceptUpgrade and
// ParseUpgradeResponse on arbitrary bytes never crash; an accepted request
// gives a well-formed 101 that the client side accepts for the same key.

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "embed/net/websocket/ws_handshake.h"

namespace {

void Check(bool condition) {
  if (!condition) __builtin_trap();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace embed::net;
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  WsServerOptions options;
  options.compression = size % 2 == 0;
  auto accepted = AcceptUpgrade(input, options);
  if (accepted.ok()) {
    const std::string& response = accepted->response;
    Check(response.rfind("HTTP/1.1 101 Switching Protocols\r\n", 0) == 0);
    Check(response.size() >= 4 && response.compare(response.size() - 4, 4, "\r\n\r\n") == 0);
    Check(accepted->codec.role == WsRole::kServer);
    Check(!accepted->codec.compression || options.compression);
  } else {
    const int status = WsRejectStatusFor(accepted.status());
    Check(status == 400 || status == 403 || status == 405);
    const std::string reject = WsRejectResponse(status, accepted.status().message());
    Check(reject.rfind("HTTP/1.1 4", 0) == 0);
    const std::size_t head_end = reject.find("\r\n\r\n");
    Check(head_end != std::string::npos);
    Check(reject.find('\n', head_end + 4) == std::string::npos);  // body has no line breaks
  }
  // The same bytes as a server response.
  auto parsed = ParseUpgradeResponse(input, "dGhlIHNhbXBsZSBub25jZQ==", size % 2 == 0);
  if (parsed.ok()) {
    Check(parsed->role == WsRole::kClient);
    Check(!parsed->compression || size % 2 == 0);  // only when offered
  }
  if (accepted.ok()) {
    Check(!accepted->codec.no_fragmenting_compressed || accepted->codec.browser_framing);
  }
  return 0;
}
