#pragma once
// Parsers for the values of `embed` flags: durations ("2s", "1m30s", "500ms";
// a bare number is seconds), sizes ("1MB", "64KiB", "4096") and headers
// ("Key:Value"). Pure functions, no CLI11 and no I/O, so they are unit-tested
// on their own. Each returns kInvalidArgument with a one-line message.

#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "embed/base/result.h"

namespace embed::tools {

// Parses a Go-style duration: one or more <number><unit> with units h, m, s,
// ms, us; a bare number means seconds. Fractions are allowed ("1.5s").
// Rounds to the nearest millisecond. Negative values are rejected.
Result<std::chrono::milliseconds> ParseDuration(std::string_view text);

// Formats a duration the way ParseDuration reads it: "2s", "1m30s", "250ms".
std::string FormatDuration(std::chrono::milliseconds duration);

// Parses a byte count with an optional unit: B, K/KB/KiB, M/MB/MiB, G/GB/GiB
// (case-insensitive, powers of 1024, as nats-server reads sizes).
Result<std::uint64_t> ParseSize(std::string_view text);

// Parses "Key:Value" (spaces around either side are trimmed). The key must be
// non-empty printable ASCII without ':' or spaces.
Result<std::pair<std::string, std::string>> ParseHeader(std::string_view text);

// Splits each entry on commas, trims spaces and drops empty parts:
// {"a, b", "c"} -> {"a", "b", "c"}.
std::vector<std::string> SplitServerUrls(const std::vector<std::string>& entries);

// Parses "user:password" (the password may contain ':'; the user may not be empty).
Result<std::pair<std::string, std::string>> ParseUserPassword(std::string_view text);

}  // namespace embed::tools
