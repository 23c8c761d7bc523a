#pragma once
// The grammar steps ClientOpParser and ServerOpParser share: the sticky
// error, one Next() over ParseInput, reading the op name and control line,
// and checking and slicing a payload. Each parser keeps its own op table and
// argument handling. Header-only templates, so the hot path stays free of
// virtual calls and allocations. Internal to embed/wire. Not thread-safe.

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string_view>
#include <utility>

#include "embed/base/bytes.h"
#include "embed/base/result.h"
#include "embed/base/status.h"
#include "embed/wire/internal/parse_input.h"
#include "embed/wire/limits.h"

namespace embed::wire::internal {

// The first violation a parser met; every later Next() returns it again.
class ParseFailure {
 public:
  bool has_failed() const { return violation_ != Violation::kNone; }
  Violation violation() const { return violation_; }
  const Status& status() const { return status_; }

  // Records the violation and returns the kError step.
  Step Fail(Violation violation, Status status) {
    violation_ = violation;
    status_ = std::move(status);
    return Step{Step::kError, 0};
  }

 private:
  Violation violation_ = Violation::kNone;
  Status status_;
};

// One Parser::Next(): runs `parse(ByteView, Op&) -> Step` over `input` and
// turns the outcome into the parser's result.
template <typename Op, typename ParseFn>
Result<std::optional<Op>> NextOp(ParseInput& input, const ParseFailure& failure, ParseFn&& parse) {
  if (failure.has_failed()) return failure.status();
  Op op;
  const Step::Kind kind = input.Next(op, std::forward<ParseFn>(parse));
  if (kind == Step::kOp) return std::optional<Op>(op);
  if (kind == Step::kError) return failure.status();
  return std::optional<Op>();
}

// One row of a parser's op table.
template <typename Kind>
struct OpName {
  std::string_view name;  // upper case
  Kind kind;
  bool needs_blank;  // SP/TAB must follow the name.
};

// A parser's op names, indexed at compile time by their first byte
// (either case for letters). Names that share their first byte are told
// apart by their second; no two names may share both.
template <typename Kind, std::size_t N>
class OpTable {
  static_assert(N <= 127, "op indexes must fit in std::int8_t");

 public:
  constexpr explicit OpTable(const std::array<OpName<Kind>, N>& names) : names_(names) {
    by_first_byte_.fill(kNoOp);
    for (std::size_t i = 0; i < N; ++i) {
      const char first = names_[i].name[0];
      Index(first, static_cast<std::int8_t>(i));
      if (first >= 'A' && first <= 'Z')
        Index(static_cast<char>(first | 0x20), static_cast<std::int8_t>(i));
    }
  }

  // Picks the op whose name starts as `in` (not empty) does; nullptr when
  // none does, with `need_more` set when the second byte is needed but has
  // not arrived. The caller still matches the whole name.
  const OpName<Kind>* Classify(ByteView in, bool& need_more) const {
    need_more = false;
    const std::int8_t index = by_first_byte_[static_cast<unsigned char>(in[0])];
    if (index >= 0) return &names_[static_cast<std::size_t>(index)];
    if (index == kNoOp) return nullptr;
    if (in.size() < 2) {
      need_more = true;
      return nullptr;
    }
    for (const OpName<Kind>& name : names_) {
      if (SameLetter(name.name[0], in[0]) && SameLetter(name.name[1], in[1])) return &name;
    }
    return nullptr;
  }

 private:
  static constexpr std::int8_t kNoOp = -1;
  static constexpr std::int8_t kSharedFirstByte = -2;

  // Whether `got` is the upper-case letter `want` in either case, or equals
  // `want` when that is not a letter.
  static constexpr bool SameLetter(char want, char got) {
    if (want >= 'A' && want <= 'Z') return got == want || got == static_cast<char>(want | 0x20);
    return got == want;
  }

  constexpr void Index(char first, std::int8_t index) {
    std::int8_t& slot = by_first_byte_[static_cast<unsigned char>(first)];
    slot = slot == kNoOp ? index : kSharedFirstByte;
  }

  std::array<OpName<Kind>, N> names_;
  std::array<std::int8_t, 256> by_first_byte_{};
};

// Enough bytes to tell every op name apart.
inline constexpr std::size_t kNameWindow = 16;

// The control line of an op.
template <typename Kind>
struct ControlLine {
  const OpName<Kind>* name = nullptr;
  ByteView rest;               // bytes after the name, CR LF excluded
  std::size_t line_bytes = 0;  // length including LF
};

// The messages a parser reports for the two line-level violations.
struct LineErrors {
  const char* unknown_operation;
  const char* line_too_long;
};

// Matches the op name at the start of `in` against `table` and finds the end
// of its control line, which may take `max_rest_bytes(const OpName<Kind>&)`
// bytes after the name. Fills `line` and returns std::nullopt when the line is complete;
// otherwise returns the step to return (more bytes needed, or a violation
// recorded in `failure`).
template <typename Kind, std::size_t N, typename MaxRestFn>
std::optional<Step> ReadControlLine(ByteView in, const OpTable<Kind, N>& table,
                                    MaxRestFn&& max_rest_bytes, const LineErrors& errors,
                                    ParseFailure& failure, ControlLine<Kind>& line) {
  if (in.empty()) return Step{Step::kNeedLine, kNameWindow};
  bool need_more = false;
  const OpName<Kind>* name = table.Classify(in, need_more);
  if (name == nullptr) {
    if (need_more) return Step{Step::kNeedLine, kNameWindow};
    return failure.Fail(Violation::kUnknownOperation, ProtocolError(errors.unknown_operation));
  }
  const std::size_t matched = MatchOpName(in, name->name);
  if (matched == ByteView::npos) {
    return failure.Fail(Violation::kUnknownOperation, ProtocolError(errors.unknown_operation));
  }
  const std::size_t name_bytes = name->name.size();
  if (matched < name_bytes) return Step{Step::kNeedLine, kNameWindow};
  if (name->needs_blank) {
    if (in.size() == name_bytes) return Step{Step::kNeedLine, kNameWindow};
    if (!IsBlank(in[name_bytes])) {
      return failure.Fail(Violation::kUnknownOperation, ProtocolError(errors.unknown_operation));
    }
  }

  const std::size_t max_rest = max_rest_bytes(*name);
  switch (ScanLine(in, name_bytes, max_rest, line.rest, line.line_bytes)) {
    case LineScan::kNeedMore:
      return Step{Step::kNeedLine, name_bytes + max_rest + 2};
    case LineScan::kTooLong:
      return failure.Fail(Violation::kControlLineTooLong,
                          ResourceExhaustedError(errors.line_too_long));
    case LineScan::kComplete:
      break;
  }
  line.name = name;
  return std::nullopt;
}

// The checked sizes of a payload-carrying op (PUB, HPUB, MSG, HMSG).
struct PayloadSizes {
  std::size_t total_bytes = 0;
  std::size_t header_bytes = 0;
};

// Checks the size arguments of a payload-carrying op: `total_arg` and, for
// ops with headers, `*header_arg` (nullptr otherwise). Fills `sizes` and
// returns std::nullopt when they are valid and within `limits`; otherwise
// records the violation (a payload over max_payload_bytes is reported with
// `too_large_message`) and returns the kError step.
inline std::optional<Step> CheckPayloadSizes(ByteView total_arg, const ByteView* header_arg,
                                             const Limits& limits, const char* too_large_message,
                                             ParseFailure& failure, PayloadSizes& sizes) {
  const long total = ParseSize(total_arg);
  long header_bytes = 0;
  if (header_arg != nullptr) header_bytes = ParseSize(*header_arg);
  if (total < 0 || header_bytes < 0) {
    return failure.Fail(Violation::kMalformed, ProtocolError("bad or missing size"));
  }
  if (header_bytes > total) {
    return failure.Fail(Violation::kMalformed, ProtocolError("header size larger than total size"));
  }
  sizes.total_bytes = static_cast<std::size_t>(total);
  sizes.header_bytes = static_cast<std::size_t>(header_bytes);
  if (sizes.total_bytes > limits.max_payload_bytes) {
    return failure.Fail(Violation::kPayloadTooLarge, ResourceExhaustedError(too_large_message));
  }
  if (sizes.header_bytes > limits.max_header_bytes) {
    return failure.Fail(Violation::kPayloadTooLarge,
                        ResourceExhaustedError("header block larger than max_header_bytes"));
  }
  return std::nullopt;
}

// The payload of an op whose control line takes `line_bytes`.
struct Payload {
  ByteView headers;  // empty for ops without headers
  ByteView body;     // the bytes after the headers
  std::size_t op_bytes = 0;
};

// Slices the payload of `sizes` out of `in`. Returns std::nullopt with
// `payload` filled when all of it and its CR LF arrived; otherwise kNeedBytes,
// or the kError step when a present trailer byte is wrong.
inline std::optional<Step> ReadPayload(ByteView in, std::size_t line_bytes,
                                       const PayloadSizes& sizes, ParseFailure& failure,
                                       Payload& payload) {
  // NATS: the payload is followed by exactly CR LF, else 'Unknown Protocol Operation'.
  if (!TrailerSoFarIsValid(in, line_bytes, sizes.total_bytes)) {
    return failure.Fail(Violation::kUnknownOperation,
                        ProtocolError("payload not followed by CRLF"));
  }
  const std::size_t op_bytes = line_bytes + sizes.total_bytes + 2;
  if (in.size() < op_bytes) return Step{Step::kNeedBytes, op_bytes};
  const ByteView all = in.substr(line_bytes, sizes.total_bytes);
  payload.headers = all.substr(0, sizes.header_bytes);
  payload.body = all.substr(sizes.header_bytes);
  payload.op_bytes = op_bytes;
  return std::nullopt;
}

}  // namespace embed::wire::internal
