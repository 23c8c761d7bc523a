#pragma once
// Shared checks of the parser fuzz targets: the same input fed whole, in a
// few chunks and (when short) byte by byte must give the same transcript.
// Internal to embed/wire; fuzz use only. Violations abort via __builtin_trap
// so libFuzzer records the input.

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "embed/base/bytes.h"
#include "embed/wire/internal/transcript.h"

namespace embed::wire::internal {

inline void FuzzCheck(bool condition) {
  if (!condition) __builtin_trap();
}

// 1-4 cut points derived from the bytes themselves (FNV-1a), so the fuzzer
// explores splits by mutating the input.
inline std::vector<std::size_t> CutsFor(ByteView input) {
  std::uint32_t hash = 2166136261u;
  for (char c : input) hash = (hash ^ static_cast<unsigned char>(c)) * 16777619u;
  std::vector<std::size_t> cuts;
  if (input.size() < 2) return cuts;
  const std::size_t count = 1 + hash % 4;
  for (std::size_t i = 0; i < count; ++i) {
    hash = hash * 1103515245u + 12345u;
    cuts.push_back(1 + (hash >> 8) % (input.size() - 1));
  }
  std::sort(cuts.begin(), cuts.end());
  return cuts;
}

// Returns the whole-input transcript after checking the split ones match it.
template <typename Parser>
Transcript CheckSplitInvariance(ByteView input, const Limits& limits) {
  Transcript whole = ParseWhole<Parser>(input, limits);
  const std::vector<std::size_t> cuts = CutsFor(input);
  FuzzCheck(ParseWithCuts<Parser>(input, cuts, limits) == whole);
  FuzzCheck(ParseWithCuts<Parser>(input, cuts, limits, FeedMode::kCopy) == whole);
  if (input.size() <= 300) FuzzCheck(ParseByteByByte<Parser>(input, limits) == whole);
  return whole;
}

// Checks that every op `input` parses to, re-encoded by `encode`, parses back
// to the op `encode` expects. `encode(op, limits, out, expected)` appends the
// bytes of `op` to `out`; `expected` starts as `op` and may be changed where
// the encoding is lossy. It returns false to skip an op whose encoding could
// legitimately break `limits`.
template <typename Parser, typename Op>
void CheckRoundTrips(ByteView input, const Limits& limits,
                     bool (*encode)(const Op& op, const Limits& limits, std::string& out,
                                    Op& expected)) {
  Parser parser(limits);
  parser.Feed(input);
  while (true) {
    auto next = parser.Next();
    if (!next.ok() || !next->has_value()) return;
    std::string encoded;
    Op expected = **next;
    if (!encode(**next, limits, encoded, expected)) continue;
    Parser reparser(limits);
    reparser.Feed(encoded);
    auto again = reparser.Next();
    FuzzCheck(again.ok() && again->has_value());
    FuzzCheck(DescribeOp(**again) == DescribeOp(expected));
    auto end = reparser.Next();
    FuzzCheck(end.ok() && !end->has_value() && reparser.buffered_bytes() == 0);
  }
}

// The body of a parser's LLVMFuzzerTestOneInput: split invariance and round
// trips, under the default limits and under SmallLimits().
template <typename Parser, typename Op>
int FuzzParser(const std::uint8_t* data, std::size_t size,
               bool (*encode)(const Op& op, const Limits& limits, std::string& out, Op& expected)) {
  const ByteView input(reinterpret_cast<const char*>(data), size);
  for (const Limits& limits : {Limits{}, SmallLimits()}) {
    CheckSplitInvariance<Parser>(input, limits);
    CheckRoundTrips<Parser>(input, limits, encode);
  }
  return 0;
}

}  // namespace embed::wire::internal
