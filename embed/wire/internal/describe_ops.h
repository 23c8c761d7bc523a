#pragma once
// Unambiguous text forms of parsed ops, for tests and fuzzers that compare op
// sequences. Internal to embed/wire; not for production paths.

#include <string>
#include <string_view>
#include <variant>

#include "embed/wire/client_ops.h"
#include "embed/wire/server_ops.h"

namespace embed::wire::internal {

inline void AppendField(std::string& out, std::string_view field) {
  out.append(" ");
  out.append(std::to_string(field.size()));
  out.append(":");
  out.append(field);
}

inline std::string DescribeOp(const ClientOp& op) {
  std::string out;
  std::visit(
      [&out](const auto& value) {
        using T = std::decay_t<decltype(value)>;
        if constexpr (std::is_same_v<T, Connect>) {
          out = "CONNECT";
          AppendField(out, value.json);
        } else if constexpr (std::is_same_v<T, Pub>) {
          out = "PUB";
          AppendField(out, value.subject);
          AppendField(out, value.reply_to);
          AppendField(out, value.payload);
        } else if constexpr (std::is_same_v<T, HPub>) {
          out = "HPUB";
          AppendField(out, value.subject);
          AppendField(out, value.reply_to);
          AppendField(out, value.headers);
          AppendField(out, value.payload);
        } else if constexpr (std::is_same_v<T, Sub>) {
          out = "SUB";
          AppendField(out, value.subject);
          AppendField(out, value.queue_group);
          AppendField(out, value.sid);
        } else if constexpr (std::is_same_v<T, Unsub>) {
          out = "UNSUB";
          AppendField(out, value.sid);
          AppendField(out, value.max_msgs ? std::to_string(*value.max_msgs) : "none");
        } else if constexpr (std::is_same_v<T, Ping>) {
          out = "PING";
        } else if constexpr (std::is_same_v<T, Pong>) {
          out = "PONG";
        } else if constexpr (std::is_same_v<T, ClientInfo>) {
          out = "INFO";
          AppendField(out, value.json);
        } else if constexpr (std::is_same_v<T, ClientOk>) {
          out = "+OK";
        } else {
          out = "-ERR";
          AppendField(out, value.message);
        }
      },
      op);
  return out;
}

inline std::string DescribeOp(const ServerOp& op) {
  std::string out;
  std::visit(
      [&out](const auto& value) {
        using T = std::decay_t<decltype(value)>;
        if constexpr (std::is_same_v<T, Info>) {
          out = "INFO";
          AppendField(out, value.json);
        } else if constexpr (std::is_same_v<T, Msg>) {
          out = "MSG";
          AppendField(out, value.subject);
          AppendField(out, value.sid);
          AppendField(out, value.reply_to);
          AppendField(out, value.payload);
        } else if constexpr (std::is_same_v<T, HMsg>) {
          out = "HMSG";
          AppendField(out, value.subject);
          AppendField(out, value.sid);
          AppendField(out, value.reply_to);
          AppendField(out, value.headers);
          AppendField(out, value.payload);
        } else if constexpr (std::is_same_v<T, ServerPing>) {
          out = "PING";
        } else if constexpr (std::is_same_v<T, ServerPong>) {
          out = "PONG";
        } else if constexpr (std::is_same_v<T, Ok>) {
          out = "+OK";
        } else {
          out = "-ERR";
          AppendField(out, value.message);
        }
      },
      op);
  return out;
}

}  // namespace embed::wire::internal
