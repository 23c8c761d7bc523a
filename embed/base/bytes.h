#pragma once
// Byte views. NATS is a text protocol with binary payloads; a ByteView is a
// non-owning view of bytes (it may hold any byte, including NUL). The viewed
// memory must outlive the view.

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace embed {

using ByteView = std::string_view;
using Bytes = std::string;

// Returns `text` made safe for a log line: at most `max_bytes` long, control
// and non-ASCII bytes escaped as \xNN. Use on anything that came from a peer.
std::string EscapeForLog(ByteView text, std::size_t max_bytes = 256);

}  // namespace embed
