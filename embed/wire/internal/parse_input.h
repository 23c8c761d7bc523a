#pragma once
// Shared machinery of the two op parsers: the zero-copy input queue and the
// lexical helpers (case-folded op names, argument splitting, sizes). Internal
// to embed/wire. Not thread-safe.

#include <cstddef>
#include <cstring>
#include <string_view>

#include "embed/base/buffer.h"
#include "embed/base/bytes.h"

namespace embed::wire::internal {

// What one attempt to parse an op at the start of some bytes found.
struct Step {
  enum Kind {
    kOp,         // An op was parsed; `bytes` is its length (control line + payload + trailer).
    kNeedLine,   // The control line is incomplete; `bytes` is the most a line may take.
    kNeedBytes,  // The line is complete; the op needs `bytes` bytes in total.
    kError,      // The parser recorded a violation.
  };
  Kind kind;
  std::size_t bytes;
};

inline bool IsBlank(char c) { return c == ' ' || c == '\t'; }

// Case-insensitive match of `in` against an upper-case op `name`, which may be
// only partly available. Returns the number of matched bytes, or npos when a
// byte does not match.
inline std::size_t MatchOpName(ByteView in, std::string_view name) {
  const std::size_t n = in.size() < name.size() ? in.size() : name.size();
  for (std::size_t i = 0; i < n; ++i) {
    const char want = name[i];
    const char got = in[i];
    if (want >= 'A' && want <= 'Z') {
      if (got != want && got != static_cast<char>(want | 0x20)) return ByteView::npos;
    } else if (got != want) {
      return ByteView::npos;
    }
  }
  return n;
}

// Trims SP/TAB at both ends.
inline ByteView TrimBlanks(ByteView text) {
  std::size_t begin = 0;
  std::size_t end = text.size();
  while (begin < end && IsBlank(text[begin])) ++begin;
  while (end > begin && IsBlank(text[end - 1])) --end;
  return text.substr(begin, end - begin);
}

// Splits `text` on runs of SP/TAB (and CR/LF when `cr_lf_are_blank`, as
// nats-server's SUB/UNSUB splitter). Stores up to `max_args` arguments and
// returns how many there are, capped at max_args + 1 ("too many").
inline int SplitArgs(ByteView text, ByteView* args, int max_args, bool cr_lf_are_blank) {
  int count = 0;
  std::size_t i = 0;
  const std::size_t size = text.size();
  auto is_separator = [cr_lf_are_blank](char c) {
    return IsBlank(c) || (cr_lf_are_blank && (c == '\r' || c == '\n'));
  };
  while (true) {
    while (i < size && is_separator(text[i])) ++i;
    if (i == size) return count;
    if (count == max_args) return max_args + 1;
    const std::size_t start = i;
    while (i < size && !is_separator(text[i])) ++i;
    args[count++] = text.substr(start, i - start);
  }
}

// NATS sizes: 1-9 ASCII digits; -1 otherwise (nats-server parseSize).
inline long ParseSize(ByteView digits) {
  if (digits.empty() || digits.size() > 9) return -1;
  long value = 0;
  for (char c : digits) {
    if (c < '0' || c > '9') return -1;
    value = value * 10 + (c - '0');
  }
  return value;
}

// -ERR text without the single quotes nats-server wraps it in.
inline ByteView StripQuotes(ByteView text) {
  text = TrimBlanks(text);
  if (text.size() >= 2 && text.front() == '\'' && text.back() == '\'') {
    text = text.substr(1, text.size() - 2);
  }
  return text;
}

// Locates the end of the control line of an op whose name takes
// `name_bytes`. The line may take at most `max_rest_bytes` after the name
// (CR before LF not counted). Sets `rest` to the bytes after the name and
// `line_bytes` to the length including LF, or returns kNeedLine / an
// oversize indication.
enum class LineScan { kComplete, kNeedMore, kTooLong };
inline LineScan ScanLine(ByteView in, std::size_t name_bytes, std::size_t max_rest_bytes,
                         ByteView& rest, std::size_t& line_bytes) {
  // Look for LF no further than a line of the maximum length could reach, so a
  // peer that never sends LF costs a bounded scan and a bounded buffer.
  const std::size_t window = name_bytes + max_rest_bytes + 2;
  const std::size_t scan = (in.size() < window ? in.size() : window) - name_bytes;
  const void* lf = std::memchr(in.data() + name_bytes, '\n', scan);
  std::size_t end;
  if (lf == nullptr) {
    end = in.size();
    if (end > name_bytes && in[end - 1] == '\r') --end;
    return end - name_bytes > max_rest_bytes ? LineScan::kTooLong : LineScan::kNeedMore;
  }
  const std::size_t lf_pos = static_cast<std::size_t>(static_cast<const char*>(lf) - in.data());
  end = lf_pos;
  if (end > name_bytes && in[end - 1] == '\r') --end;
  if (end - name_bytes > max_rest_bytes) return LineScan::kTooLong;
  rest = in.substr(name_bytes, end - name_bytes);
  line_bytes = lf_pos + 1;
  return LineScan::kComplete;
}

// Checks the CRLF after a payload that starts at `payload_start` with
// `payload_bytes` bytes, as far as `in` reaches. False when a present byte
// is wrong.
inline bool TrailerSoFarIsValid(ByteView in, std::size_t payload_start,
                                std::size_t payload_bytes) {
  const std::size_t at = payload_start + payload_bytes;
  if (in.size() > at && in[at] != '\r') return false;
  if (in.size() > at + 1 && in[at + 1] != '\n') return false;
  return true;
}

// The input of a parser: a borrowed view of the bytes of the last Feed() and
// an owned buffer for an op that straddles Feed() calls. Feed() copies only
// the bytes of an op still incomplete when the borrowed bytes run out (or
// bytes fed again before they were drained); FeedCopy() copies everything.
class ParseInput {
 public:
  void Feed(ByteView bytes) {
    ReleaseLastOp();
    if (!borrowed_.empty()) buffer_.Append(borrowed_);
    borrowed_ = bytes;
    if (!buffer_.empty() && !borrowed_.empty() && borrowed_.size() < kCopyThreshold) {
      // Small reads appended to a partial op: copying now is cheaper than a
      // second parse attempt later.
      buffer_.Append(borrowed_);
      borrowed_ = {};
    }
  }

  void FeedCopy(ByteView bytes) {
    ReleaseLastOp();
    if (!borrowed_.empty()) buffer_.Append(borrowed_);
    borrowed_ = {};
    buffer_.Append(bytes);
  }

  std::size_t buffered_bytes() const { return buffer_.size() + borrowed_.size(); }

  // Runs `parse(ByteView, Op&) -> Step` on the bytes of the next op. Returns
  // kOp with `op` set, kError when `parse` reported one (the parser has
  // recorded it), or kNeedLine / kNeedBytes when more bytes are needed; then
  // every borrowed byte has been copied into the buffer, so the caller may
  // release what it fed.
  template <typename Op, typename ParseFn>
  Step::Kind Next(Op& op, ParseFn&& parse) {
    ReleaseLastOp();
    if (!buffer_.empty()) {
      while (true) {
        const ByteView readable = buffer_.Readable();
        const Step step = parse(readable, op);
        if (step.kind == Step::kOp) {
          last_op_bytes_ = step.bytes;
          last_op_in_buffer_ = true;
          return Step::kOp;
        }
        if (step.kind == Step::kError) return Step::kError;
        if (borrowed_.empty()) return step.kind;
        std::size_t take = 0;
        if (step.kind == Step::kNeedBytes) {
          take = step.bytes - readable.size();
        } else {
          // Up to and including the next LF, never beyond the line window.
          const std::size_t room = step.bytes > readable.size() ? step.bytes - readable.size() : 1;
          const std::size_t scan = borrowed_.size() < room ? borrowed_.size() : room;
          const void* lf = std::memchr(borrowed_.data(), '\n', scan);
          take = lf ? static_cast<std::size_t>(static_cast<const char*>(lf) - borrowed_.data()) + 1
                    : scan;
        }
        if (take > borrowed_.size()) take = borrowed_.size();
        buffer_.Append(borrowed_.substr(0, take));
        borrowed_.remove_prefix(take);
      }
    }
    if (borrowed_.empty()) return Step::kNeedLine;
    const Step step = parse(borrowed_, op);
    if (step.kind == Step::kOp) {
      last_op_bytes_ = step.bytes;
      last_op_in_buffer_ = false;
      return Step::kOp;
    }
    if (step.kind == Step::kError) return Step::kError;
    buffer_.Append(borrowed_);
    borrowed_ = {};
    return step.kind;
  }

 private:
  static constexpr std::size_t kCopyThreshold = 256;

  void ReleaseLastOp() {
    if (last_op_bytes_ == 0) return;
    if (last_op_in_buffer_) {
      buffer_.Consume(last_op_bytes_);
    } else {
      borrowed_.remove_prefix(last_op_bytes_);
    }
    last_op_bytes_ = 0;
  }

  Buffer buffer_;
  ByteView borrowed_;
  std::size_t last_op_bytes_ = 0;
  bool last_op_in_buffer_ = false;
};

}  // namespace embed::wire::internal
