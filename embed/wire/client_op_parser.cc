#include "embed/wire/client_op_parser.h"

#include <string_view>

namespace embed::wire {
namespace {

using internal::LineScan;
using internal::Step;

enum class OpKind { kPub, kHPub, kSub, kUnsub, kConnect, kInfo, kPing, kPong, kOk, kErr };

struct OpName {
  std::string_view name;  // upper case
  OpKind kind;
  bool needs_blank;  // NATS: PUB, HPUB, SUB, UNSUB, -ERR need SP/TAB after the name.
};

constexpr OpName kPubName{"PUB", OpKind::kPub, true};
constexpr OpName kHPubName{"HPUB", OpKind::kHPub, true};
constexpr OpName kSubName{"SUB", OpKind::kSub, true};
constexpr OpName kUnsubName{"UNSUB", OpKind::kUnsub, true};
constexpr OpName kConnectName{"CONNECT", OpKind::kConnect, false};
constexpr OpName kInfoName{"INFO", OpKind::kInfo, false};
constexpr OpName kPingName{"PING", OpKind::kPing, false};
constexpr OpName kPongName{"PONG", OpKind::kPong, false};
constexpr OpName kOkName{"+OK", OpKind::kOk, false};
constexpr OpName kErrName{"-ERR", OpKind::kErr, true};

// Enough bytes to tell every op name apart.
constexpr std::size_t kNameWindow = 16;

// Picks the op from its first one or two bytes; nullptr with `need_more`
// when two bytes are needed but only one arrived.
const OpName* ClassifyOp(ByteView in, bool& need_more) {
  need_more = false;
  switch (in[0] | 0x20) {
    case 'p':
      if (in.size() < 2) {
        need_more = true;
        return nullptr;
      }
      switch (in[1] | 0x20) {
        case 'u':
          return &kPubName;
        case 'i':
          return &kPingName;
        case 'o':
          return &kPongName;
        default:
          return nullptr;
      }
    case 'h':
      return &kHPubName;
    case 's':
      return &kSubName;
    case 'u':
      return &kUnsubName;
    case 'c':
      return &kConnectName;
    case 'i':
      return &kInfoName;
    default:
      break;
  }
  if (in[0] == '+') return &kOkName;
  if (in[0] == '-') return &kErrName;
  return nullptr;
}

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
  if (violation_ != Violation::kNone) return error_;
  ClientOp op;
  const Step::Kind kind =
      input_.Next(op, [this](ByteView in, ClientOp& out) { return ParseOne(in, out); });
  if (kind == Step::kOp) return std::optional<ClientOp>(op);
  if (kind == Step::kError) return error_;
  return std::optional<ClientOp>();
}

Step ClientOpParser::Fail(Violation violation, Status status) {
  violation_ = violation;
  error_ = std::move(status);
  return Step{Step::kError, 0};
}

Step ClientOpParser::ParseOne(ByteView in, ClientOp& op) {
  if (in.empty()) return Step{Step::kNeedLine, kNameWindow};
  bool need_more = false;
  const OpName* name = ClassifyOp(in, need_more);
  if (name == nullptr) {
    if (need_more) return Step{Step::kNeedLine, kNameWindow};
    return Fail(Violation::kUnknownOperation, ProtocolError("unknown protocol operation"));
  }
  const std::size_t matched = internal::MatchOpName(in, name->name);
  if (matched == ByteView::npos) {
    return Fail(Violation::kUnknownOperation, ProtocolError("unknown protocol operation"));
  }
  const std::size_t name_bytes = name->name.size();
  if (matched < name_bytes) return Step{Step::kNeedLine, kNameWindow};
  if (name->needs_blank) {
    if (in.size() == name_bytes) return Step{Step::kNeedLine, kNameWindow};
    if (!internal::IsBlank(in[name_bytes])) {
      return Fail(Violation::kUnknownOperation, ProtocolError("unknown protocol operation"));
    }
  }

  // NATS: max_control_line covers the arguments; we also count the one
  // separator after the op name so the bound holds before LF arrives.
  const std::size_t max_rest = limits_.max_control_line_bytes + 1;
  ByteView rest;
  std::size_t line_bytes = 0;
  switch (internal::ScanLine(in, name_bytes, max_rest, rest, line_bytes)) {
    case LineScan::kNeedMore:
      return Step{Step::kNeedLine, name_bytes + max_rest + 2};
    case LineScan::kTooLong:
      return Fail(Violation::kControlLineTooLong,
                  ResourceExhaustedError("maximum control line exceeded"));
    case LineScan::kComplete:
      break;
  }

  ByteView args[5];
  switch (name->kind) {
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
        return Fail(Violation::kMalformed, ProtocolError("SUB needs 2 or 3 arguments"));
      }
      if (!SubjectWithinLimits(args[0], limits_)) {
        return Fail(Violation::kMalformed, ResourceExhaustedError("SUB subject over limits"));
      }
      op = Sub{args[0], count == 3 ? args[1] : ByteView(), args[count - 1]};
      return Step{Step::kOp, line_bytes};
    }
    case OpKind::kUnsub: {
      // NATS: "UNSUB <sid> [max_msgs]"; a non-numeric max means no max.
      const int count = internal::SplitArgs(rest, args, 2, true);
      if (count != 1 && count != 2) {
        return Fail(Violation::kMalformed, ProtocolError("UNSUB needs 1 or 2 arguments"));
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

  const bool has_headers = name->kind == OpKind::kHPub;
  // NATS: "PUB <subject> [reply-to] <#bytes>",
  //       "HPUB <subject> [reply-to] <#header bytes> <#total bytes>"
  const int min_args = has_headers ? 3 : 2;
  const int count = internal::SplitArgs(rest, args, min_args + 1, false);
  if (count != min_args && count != min_args + 1) {
    return Fail(Violation::kMalformed, ProtocolError(has_headers ? "HPUB needs 3 or 4 arguments"
                                                                 : "PUB needs 2 or 3 arguments"));
  }
  const long total = internal::ParseSize(args[count - 1]);
  long header_bytes = 0;
  if (has_headers) header_bytes = internal::ParseSize(args[count - 2]);
  if (total < 0 || header_bytes < 0) {
    return Fail(Violation::kMalformed, ProtocolError("bad or missing size"));
  }
  if (header_bytes > total) {
    return Fail(Violation::kMalformed, ProtocolError("header size larger than total size"));
  }
  const auto total_bytes = static_cast<std::size_t>(total);
  const auto header_size = static_cast<std::size_t>(header_bytes);
  if (total_bytes > limits_.max_payload_bytes) {
    return Fail(Violation::kPayloadTooLarge, ResourceExhaustedError("maximum payload violation"));
  }
  if (header_size > limits_.max_header_bytes) {
    return Fail(Violation::kPayloadTooLarge,
                ResourceExhaustedError("header block larger than max_header_bytes"));
  }
  if (!SubjectWithinLimits(args[0], limits_)) {
    return Fail(Violation::kMalformed, ResourceExhaustedError("PUB subject over limits"));
  }
  const ByteView reply_to = count == min_args + 1 ? args[1] : ByteView();

  // NATS: the payload is followed by exactly CR LF, else 'Unknown Protocol Operation'.
  if (!internal::TrailerSoFarIsValid(in, line_bytes, total_bytes)) {
    return Fail(Violation::kUnknownOperation, ProtocolError("payload not followed by CRLF"));
  }
  const std::size_t op_bytes = line_bytes + total_bytes + 2;
  if (in.size() < op_bytes) return Step{Step::kNeedBytes, op_bytes};
  const ByteView body = in.substr(line_bytes, total_bytes);
  if (has_headers) {
    op = HPub{args[0], reply_to, body.substr(0, header_size), body.substr(header_size)};
  } else {
    op = Pub{args[0], reply_to, body};
  }
  return Step{Step::kOp, op_bytes};
}

}  // namespace embed::wire
