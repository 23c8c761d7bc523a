#include "embed/wire/server_op_parser.h"

#include <optional>
#include <string_view>

namespace embed::wire {
namespace {

using internal::Step;

enum class OpKind { kInfo, kMsg, kHMsg, kPing, kPong, kOk, kErr };
using OpName = internal::OpName<OpKind>;

// MSG and HMSG need SP/TAB after the name.
constexpr internal::OpTable<OpKind, 7> kOps({{
    {"INFO", OpKind::kInfo, false},
    {"MSG", OpKind::kMsg, true},
    {"HMSG", OpKind::kHMsg, true},
    {"PING", OpKind::kPing, false},
    {"PONG", OpKind::kPong, false},
    {"+OK", OpKind::kOk, false},
    {"-ERR", OpKind::kErr, false},
}});

constexpr internal::LineErrors kLineErrors{"unknown server operation",
                                           "server control line too long"};

}  // namespace

ServerOpParser::ServerOpParser(const Limits& limits) : limits_(limits) {}

void ServerOpParser::Feed(ByteView bytes) { input_.Feed(bytes); }

void ServerOpParser::FeedCopy(ByteView bytes) { input_.FeedCopy(bytes); }

Result<std::optional<ServerOp>> ServerOpParser::Next() {
  return internal::NextOp<ServerOp>(
      input_, failure_, [this](ByteView in, ServerOp& out) { return ParseOne(in, out); });
}

Step ServerOpParser::ParseOne(ByteView in, ServerOp& op) {
  const auto max_rest = [this](const OpName& name) {
    return (name.kind == OpKind::kInfo ? limits_.max_info_bytes
                                       : 2 * limits_.max_control_line_bytes) +
           1;
  };
  internal::ControlLine<OpKind> line;
  if (const std::optional<Step> step =
          internal::ReadControlLine(in, kOps, max_rest, kLineErrors, failure_, line)) {
    return *step;
  }
  const ByteView rest = line.rest;
  const std::size_t line_bytes = line.line_bytes;

  switch (line.name->kind) {
    case OpKind::kPing:
      op = ServerPing{};
      return Step{Step::kOp, line_bytes};
    case OpKind::kPong:
      op = ServerPong{};
      return Step{Step::kOp, line_bytes};
    case OpKind::kOk:
      op = Ok{};
      return Step{Step::kOp, line_bytes};
    case OpKind::kInfo:
      // NATS: "INFO {json} \r\n" — the server puts a space before CR LF.
      op = Info{internal::TrimBlanks(rest)};
      return Step{Step::kOp, line_bytes};
    case OpKind::kErr:
      op = Err{internal::StripQuotes(rest)};
      return Step{Step::kOp, line_bytes};
    case OpKind::kMsg:
    case OpKind::kHMsg:
      break;
  }

  // NATS: "MSG <subject> <sid> [reply-to] <#bytes>",
  //       "HMSG <subject> <sid> [reply-to] <#header bytes> <#total bytes>"
  const bool has_headers = line.name->kind == OpKind::kHMsg;
  const int min_args = has_headers ? 4 : 3;
  ByteView args[6];
  const int count = internal::SplitArgs(rest, args, min_args + 1, false);
  if (count != min_args && count != min_args + 1) {
    return failure_.Fail(
        Violation::kMalformed,
        ProtocolError(has_headers ? "HMSG needs 4 or 5 arguments" : "MSG needs 3 or 4 arguments"));
  }
  internal::PayloadSizes sizes;
  if (const std::optional<Step> step =
          internal::CheckPayloadSizes(args[count - 1], has_headers ? &args[count - 2] : nullptr,
                                      limits_, "message over max_payload", failure_, sizes)) {
    return *step;
  }
  const ByteView reply_to = count == min_args + 1 ? args[2] : ByteView();

  internal::Payload payload;
  if (const std::optional<Step> step =
          internal::ReadPayload(in, line_bytes, sizes, failure_, payload)) {
    return *step;
  }
  if (has_headers) {
    op = HMsg{args[0], args[1], reply_to, payload.headers, payload.body};
  } else {
    op = Msg{args[0], args[1], reply_to, payload.body};
  }
  return Step{Step::kOp, payload.op_bytes};
}

}  // namespace embed::wire
