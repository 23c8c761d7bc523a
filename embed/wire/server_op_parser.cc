#include "embed/wire/server_op_parser.h"

#include <string_view>

namespace embed::wire {
namespace {

using internal::LineScan;
using internal::Step;

enum class OpKind { kInfo, kMsg, kHMsg, kPing, kPong, kOk, kErr };

struct OpName {
  std::string_view name;  // upper case
  OpKind kind;
  bool needs_blank;  // MSG and HMSG need SP/TAB after the name.
};

constexpr OpName kInfoName{"INFO", OpKind::kInfo, false};
constexpr OpName kMsgName{"MSG", OpKind::kMsg, true};
constexpr OpName kHMsgName{"HMSG", OpKind::kHMsg, true};
constexpr OpName kPingName{"PING", OpKind::kPing, false};
constexpr OpName kPongName{"PONG", OpKind::kPong, false};
constexpr OpName kOkName{"+OK", OpKind::kOk, false};
constexpr OpName kErrName{"-ERR", OpKind::kErr, false};

constexpr std::size_t kNameWindow = 16;

const OpName* ClassifyOp(ByteView in, bool& need_more) {
  need_more = false;
  switch (in[0] | 0x20) {
    case 'p':
      if (in.size() < 2) {
        need_more = true;
        return nullptr;
      }
      switch (in[1] | 0x20) {
        case 'i':
          return &kPingName;
        case 'o':
          return &kPongName;
        default:
          return nullptr;
      }
    case 'm':
      return &kMsgName;
    case 'h':
      return &kHMsgName;
    case 'i':
      return &kInfoName;
    default:
      break;
  }
  if (in[0] == '+') return &kOkName;
  if (in[0] == '-') return &kErrName;
  return nullptr;
}

}  // namespace

ServerOpParser::ServerOpParser(const Limits& limits) : limits_(limits) {}

void ServerOpParser::Feed(ByteView bytes) { input_.Feed(bytes); }

void ServerOpParser::FeedCopy(ByteView bytes) { input_.FeedCopy(bytes); }

Result<std::optional<ServerOp>> ServerOpParser::Next() {
  if (violation_ != Violation::kNone) return error_;
  ServerOp op;
  const Step::Kind kind =
      input_.Next(op, [this](ByteView in, ServerOp& out) { return ParseOne(in, out); });
  if (kind == Step::kOp) return std::optional<ServerOp>(op);
  if (kind == Step::kError) return error_;
  return std::optional<ServerOp>();
}

Step ServerOpParser::Fail(Violation violation, Status status) {
  violation_ = violation;
  error_ = std::move(status);
  return Step{Step::kError, 0};
}

Step ServerOpParser::ParseOne(ByteView in, ServerOp& op) {
  if (in.empty()) return Step{Step::kNeedLine, kNameWindow};
  bool need_more = false;
  const OpName* name = ClassifyOp(in, need_more);
  if (name == nullptr) {
    if (need_more) return Step{Step::kNeedLine, kNameWindow};
    return Fail(Violation::kUnknownOperation, ProtocolError("unknown server operation"));
  }
  const std::size_t matched = internal::MatchOpName(in, name->name);
  if (matched == ByteView::npos) {
    return Fail(Violation::kUnknownOperation, ProtocolError("unknown server operation"));
  }
  const std::size_t name_bytes = name->name.size();
  if (matched < name_bytes) return Step{Step::kNeedLine, kNameWindow};
  if (name->needs_blank) {
    if (in.size() == name_bytes) return Step{Step::kNeedLine, kNameWindow};
    if (!internal::IsBlank(in[name_bytes])) {
      return Fail(Violation::kUnknownOperation, ProtocolError("unknown server operation"));
    }
  }

  const std::size_t max_rest = (name->kind == OpKind::kInfo ? limits_.max_info_bytes
                                                            : 2 * limits_.max_control_line_bytes) +
                               1;
  ByteView rest;
  std::size_t line_bytes = 0;
  switch (internal::ScanLine(in, name_bytes, max_rest, rest, line_bytes)) {
    case LineScan::kNeedMore:
      return Step{Step::kNeedLine, name_bytes + max_rest + 2};
    case LineScan::kTooLong:
      return Fail(Violation::kControlLineTooLong,
                  ResourceExhaustedError("server control line too long"));
    case LineScan::kComplete:
      break;
  }

  switch (name->kind) {
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
  const bool has_headers = name->kind == OpKind::kHMsg;
  const int min_args = has_headers ? 4 : 3;
  ByteView args[6];
  const int count = internal::SplitArgs(rest, args, min_args + 1, false);
  if (count != min_args && count != min_args + 1) {
    return Fail(Violation::kMalformed, ProtocolError(has_headers ? "HMSG needs 4 or 5 arguments"
                                                                 : "MSG needs 3 or 4 arguments"));
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
    return Fail(Violation::kPayloadTooLarge, ResourceExhaustedError("message over max_payload"));
  }
  if (header_size > limits_.max_header_bytes) {
    return Fail(Violation::kPayloadTooLarge,
                ResourceExhaustedError("header block larger than max_header_bytes"));
  }
  const ByteView reply_to = count == min_args + 1 ? args[2] : ByteView();

  if (!internal::TrailerSoFarIsValid(in, line_bytes, total_bytes)) {
    return Fail(Violation::kUnknownOperation, ProtocolError("payload not followed by CRLF"));
  }
  const std::size_t op_bytes = line_bytes + total_bytes + 2;
  if (in.size() < op_bytes) return Step{Step::kNeedBytes, op_bytes};
  const ByteView body = in.substr(line_bytes, total_bytes);
  if (has_headers) {
    op = HMsg{args[0], args[1], reply_to, body.substr(0, header_size), body.substr(header_size)};
  } else {
    op = Msg{args[0], args[1], reply_to, body};
  }
  return Step{Step::kOp, op_bytes};
}

}  // namespace embed::wire
