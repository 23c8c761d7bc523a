#pragma once
// The operations a client sends to the broker (nats-wire.md §1).
// Plain structs; string views point into the bytes given to the parser's
// Feed() (or its internal buffer) and stay valid until the parser's next
// Feed(), FeedCopy() or Next() call, and only while those bytes do.

#include <cstdint>
#include <optional>
#include <string_view>
#include <variant>

namespace embed::wire {

// CONNECT {json}. Decode the JSON with ParseConnectOptions (connect_options.h).
struct Connect {
  std::string_view json;
};

// PUB <subject> [reply-to] <#bytes>
struct Pub {
  std::string_view subject;
  std::string_view reply_to;  // empty when absent
  std::string_view payload;
};

// HPUB <subject> [reply-to] <#header bytes> <#total bytes>
struct HPub {
  std::string_view subject;
  std::string_view reply_to;  // empty when absent
  std::string_view headers;   // the whole header block, "NATS/1.0..." through the blank line
  std::string_view payload;   // bytes after the header block
};

// SUB <subject> [queue group] <sid>
struct Sub {
  std::string_view subject;
  std::string_view queue_group;  // empty when absent
  std::string_view sid;
};

// UNSUB <sid> [max_msgs]. A non-numeric max is "no max" (as nats-server).
struct Unsub {
  std::string_view sid;
  std::optional<std::uint64_t> max_msgs;
};

struct Ping {};
struct Pong {};

// INFO, +OK and -ERR sent by a client are tolerated by nats-server; the
// parser reports them so the broker can ignore them (INFO/+OK) or close (-ERR).
struct ClientInfo {
  std::string_view json;
};
struct ClientOk {};
struct ClientErr {
  std::string_view message;
};

using ClientOp =
    std::variant<Connect, Pub, HPub, Sub, Unsub, Ping, Pong, ClientInfo, ClientOk, ClientErr>;

}  // namespace embed::wire
