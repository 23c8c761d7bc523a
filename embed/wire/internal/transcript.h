#pragma once
// Runs a parser over input split into chunks and records what it returned,
// so tests and fuzzers can check that every split gives the same result.
// Each chunk is copied to its own heap block that is freed as soon as the
// parser has drained it, so ASan catches a parser that keeps a borrowed view
// beyond its contract. Internal to embed/wire; test and fuzz use only.

#include <cstddef>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "embed/base/bytes.h"
#include "embed/wire/internal/describe_ops.h"
#include "embed/wire/limits.h"

namespace embed::wire::internal {

struct Transcript {
  std::vector<std::string> ops;
  Violation violation = Violation::kNone;  // kNone: the input ended between ops
  std::size_t buffered_bytes = 0;

  friend bool operator==(const Transcript& a, const Transcript& b) {
    return a.ops == b.ops && a.violation == b.violation && a.buffered_bytes == b.buffered_bytes;
  }
};

// A table-driven test case: an input and the ops it parses to.
template <typename Op>
struct ValidCase {
  const char* name;
  std::string input;
  std::vector<Op> ops;
};

// The descriptions of `ops`, as a Transcript records them.
template <typename Op>
std::vector<std::string> DescribeOps(const std::vector<Op>& ops) {
  std::vector<std::string> out;
  for (const auto& op : ops) out.push_back(DescribeOp(op));
  return out;
}

enum class FeedMode { kBorrow, kCopy };

// Feeds `input` cut at `cuts` (ascending offsets) to a fresh Parser, with
// Feed() (kBorrow) or FeedCopy() (kCopy).
template <typename Parser>
Transcript ParseWithCuts(ByteView input, const std::vector<std::size_t>& cuts,
                         const Limits& limits, FeedMode mode = FeedMode::kBorrow) {
  Parser parser(limits);
  Transcript transcript;
  std::size_t start = 0;
  for (std::size_t i = 0; i <= cuts.size(); ++i) {
    const std::size_t end = i < cuts.size() ? cuts[i] : input.size();
    if (end < start) continue;
    const std::size_t size = end - start;
    auto chunk = std::make_unique<char[]>(size + 1);
    if (size != 0) input.copy(chunk.get(), size, start);
    if (mode == FeedMode::kCopy) {
      parser.FeedCopy(ByteView(chunk.get(), size));
      chunk.reset();
    } else {
      parser.Feed(ByteView(chunk.get(), size));
    }
    start = end;
    while (true) {
      auto next = parser.Next();
      if (!next.ok()) {
        // Bytes still buffered after an error depend on the split; not recorded.
        transcript.violation = parser.violation();
        return transcript;
      }
      if (!next->has_value()) break;
      transcript.ops.push_back(DescribeOp(**next));
    }
  }
  transcript.buffered_bytes = parser.buffered_bytes();
  return transcript;
}

template <typename Parser>
Transcript ParseWhole(ByteView input, const Limits& limits) {
  return ParseWithCuts<Parser>(input, {}, limits);
}

template <typename Parser>
Transcript ParseByteByByte(ByteView input, const Limits& limits) {
  std::vector<std::size_t> cuts;
  for (std::size_t i = 1; i < input.size(); ++i) cuts.push_back(i);
  return ParseWithCuts<Parser>(input, cuts, limits);
}

// Small limits that make every limit reachable with short inputs.
inline Limits SmallLimits() {
  Limits limits;
  limits.max_control_line_bytes = 40;
  limits.max_payload_bytes = 64;
  limits.max_header_bytes = 48;
  limits.max_subject_bytes = 16;
  limits.max_subject_tokens = 4;
  limits.max_info_bytes = 64;
  return limits;
}

}  // namespace embed::wire::internal
