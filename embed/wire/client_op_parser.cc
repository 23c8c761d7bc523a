#include "embed/wire/client_op_parser.h"

#include <optional>
#include <string_view>

namespace embed::wire {
namespace {

using internal::Step;

enum class OpKind { kPub, kHPub, kSub, kUnsub, kConnect, kInfo, kPing, kPong, kOk, kErr };
using OpName = internal::OpName<OpKind>;

// NATS: PUB, HPUB, SUB, UNSUB, -ERR need SP/TAB after the name.
constexpr internal::OpTable<OpKind, 10> kOps({{
    {"PUB", OpKind::kPub, true},
    {"HPUB", OpKind::kHPub, true},
    {"SUB", OpKind::kSub, true},
    {"UNSUB", OpKind::kUnsub, true},
    {"CONNECT", OpKind::kConnect, false},
    {"INFO", OpKind::kInfo, false},
    {"PING", OpKind::kPing, false},
    {"PONG", OpKind::kPong, false},
    {"+OK", OpKind::kOk, false},
    {"-ERR", OpKind::kErr, true},
}});

constexpr internal::LineErrors kLineErrors{"unknown protocol operation",
                                           "maximum control line exceeded"};

// Counts '.'-separated tokens, stopping once `limit` is exceeded.
bool SubjectWithinLimits(ByteView subject, const Limits& limits) {
  if (subject.size() > limits.max_subject_bytes) return false;
  if (subject.size() / 2 + 1 <= limits.max_subject_tokens) return true;
  std::size_t tokens = 1;
  for (char c : subject) {
    if (c == '.' && ++tokens > limits.max_subject_tokens) return false;
  }
  return true;
}

}  // namespace

ClientOpParser::ClientOpParser(const Limits& limits) : limits_(limits) {}

void ClientOpParser::Feed(ByteView bytes) { input_.Feed(bytes); }

void ClientOpParser::FeedCopy(ByteView bytes) { input_.FeedCopy(bytes); }

Result<std::optional<ClientOp>> ClientOpParser::Next() {
  return internal::NextOp<ClientOp>(
      input_, failure_, [this](ByteView in, ClientOp& out) { return ParseOne(in, out); });
}

Step ClientOpParser::ParseOne(ByteView in, ClientOp& op) {
  // NATS: max_control_line covers the arguments; we also count the one
  // separator after the op name so the bound holds before LF arrives.
  const std::size_t max_rest = limits_.max_control_line_bytes + 1;
  internal::ControlLine<OpKind> line;
  if (const std::optional<Step> step = internal::ReadControlLine(
          in, kOps, [max_rest](const OpName&) { return max_rest; }, kLineErrors, failure_, line)) {
    return *step;
  }
  const ByteView rest = line.rest;
  const std::size_t line_bytes = line.line_bytes;

  ByteView args[5];
  switch (line.name->kind) {
    case OpKind::kPing:
      op = Ping{};
      return Step{Step::kOp, line_bytes};
    case OpKind::kPong:
      op = Pong{};
      return Step{Step::kOp, line_bytes};
    case OpKind::kOk:
      op = ClientOk{};
      return Step{Step::kOp, line_bytes};
    case OpKind::kConnect:
      op = Connect{internal::TrimBlanks(rest)};
      return Step{Step::kOp, line_bytes};
    case OpKind::kInfo:
      op = ClientInfo{internal::TrimBlanks(rest)};
      return Step{Step::kOp, line_bytes};
    case OpKind::kErr:
      op = ClientErr{internal::StripQuotes(rest)};
      return Step{Step::kOp, line_bytes};

    case OpKind::kSub: {
      // NATS: "SUB <subject> [queue group] <sid>"
      const int count = internal::SplitArgs(rest, args, 3, true);
      if (count != 2 && count != 3) {
        return failure_.Fail(Violation::kMalformed, ProtocolError("SUB needs 2 or 3 arguments"));
      }
      if (!SubjectWithinLimits(args[0], limits_)) {
        return failure_.Fail(Violation::kMalformed,
                             ResourceExhaustedError("SUB subject over limits"));
      }
      op = Sub{args[0], count == 3 ? args[1] : ByteView(), args[count - 1]};
      return Step{Step::kOp, line_bytes};
    }
    case OpKind::kUnsub: {
      // NATS: "UNSUB <sid> [max_msgs]"; a non-numeric max means no max.
      const int count = internal::SplitArgs(rest, args, 2, true);
      if (count != 1 && count != 2) {
        return failure_.Fail(Violation::kMalformed, ProtocolError("UNSUB needs 1 or 2 arguments"));
      }
      Unsub unsub{args[0], std::nullopt};
      if (count == 2) {
        const long max_msgs = internal::ParseSize(args[1]);
        if (max_msgs >= 0) unsub.max_msgs = static_cast<std::uint64_t>(max_msgs);
      }
      op = unsub;
      return Step{Step::kOp, line_bytes};
    }
    case OpKind::kPub:
    case OpKind::kHPub:
      break;
  }

  const bool has_headers = line.name->kind == OpKind::kHPub;
  // NATS: "PUB <subject> [reply-to] <#bytes>",
  //       "HPUB <subject> [reply-to] <#header bytes> <#total bytes>"
  const int min_args = has_headers ? 3 : 2;
  const int count = internal::SplitArgs(rest, args, min_args + 1, false);
  if (count != min_args && count != min_args + 1) {
    return failure_.Fail(
        Violation::kMalformed,
        ProtocolError(has_headers ? "HPUB needs 3 or 4 arguments" : "PUB needs 2 or 3 arguments"));
  }
  internal::PayloadSizes sizes;
  if (const std::optional<Step> step =
          internal::CheckPayloadSizes(args[count - 1], has_headers ? &args[count - 2] : nullptr,
                                      limits_, "maximum payload violation", failure_, sizes)) {
    return *step;
  }
  if (!SubjectWithinLimits(args[0], limits_)) {
    return failure_.Fail(Violation::kMalformed, ResourceExhaustedError("PUB subject over limits"));
  }
  const ByteView reply_to = count == min_args + 1 ? args[1] : ByteView();

  internal::Payload payload;
  if (const std::optional<Step> step =
          internal::ReadPayload(in, line_bytes, sizes, failure_, payload)) {
    return *step;
  }
  if (has_headers) {
    op = HPub{args[0], reply_to, payload.headers, payload.body};
  } else {
    op = Pub{args[0], reply_to, payload.body};
  }
  return Step{Step::kOp, payload.op_bytes};
}

}  // namespace embed::wire
