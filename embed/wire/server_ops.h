#pragma once
// The operations a server sends to a client (nats-wire.md §1).
// Plain structs; string views point into the bytes given to the parser's
// Feed() (or its internal buffer) and stay valid until the parser's next
// Feed(), FeedCopy() or Next() call, and only while those bytes do.

#include <string_view>
#include <variant>

namespace embed::wire {

// INFO {json} — decode with ParseServerInfo (server_info.h).
struct Info {
  std::string_view json;
};

// MSG <subject> <sid> [reply-to] <#bytes>
struct Msg {
  std::string_view subject;
  std::string_view sid;
  std::string_view reply_to;  // empty when absent
  std::string_view payload;
};

// HMSG <subject> <sid> [reply-to] <#header bytes> <#total bytes>
struct HMsg {
  std::string_view subject;
  std::string_view sid;
  std::string_view reply_to;
  std::string_view headers;  // whole header block
  std::string_view payload;
};

struct Ok {};
// -ERR '<text>': `message` is the text without the quotes.
struct Err {
  std::string_view message;
};
// Ping and Pong are shared with client_ops.h.
struct ServerPing {};
struct ServerPong {};

using ServerOp = std::variant<Info, Msg, HMsg, ServerPing, ServerPong, Ok, Err>;

}  // namespace embed::wire
