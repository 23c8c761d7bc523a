#include "tools/embed/flag_parsing.h"

#include <cctype>
#include <charconv>
#include <cmath>
#include <limits>

namespace embed::tools {
namespace {

std::string_view Trim(std::string_view text) {
  while (!text.empty() && std::isspace(static_cast<unsigned char>(text.front()))) {
    text.remove_prefix(1);
  }
  while (!text.empty() && std::isspace(static_cast<unsigned char>(text.back()))) {
    text.remove_suffix(1);
  }
  return text;
}

std::string Lower(std::string_view text) {
  std::string out(text);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

Status BadDuration(std::string_view text) {
  return InvalidArgumentError("invalid duration '" + std::string(text) +
                              "' (use e.g. 500ms, 2s, 1m30s, 1h)");
}

// Milliseconds per unit; 0 when the unit is unknown.
double MillisecondsPerUnit(std::string_view unit) {
  if (unit == "h") return 3'600'000.0;
  if (unit == "m") return 60'000.0;
  if (unit == "s") return 1'000.0;
  if (unit == "ms") return 1.0;
  if (unit == "us") return 0.001;
  return 0.0;
}

}  // namespace

Result<std::chrono::milliseconds> ParseDuration(std::string_view text) {
  const std::string_view original = text;
  text = Trim(text);
  if (text.empty()) return BadDuration(original);
  // A day in milliseconds times 10,000 is far beyond any sensible timeout.
  constexpr double kMaxMilliseconds = 1e12;
  double total_ms = 0;
  bool is_first = true;
  while (!text.empty()) {
    double number = 0;
    const auto [number_end, error] =
        std::from_chars(text.data(), text.data() + text.size(), number, std::chars_format::fixed);
    if (error != std::errc() || !std::isfinite(number) || number < 0) return BadDuration(original);
    text.remove_prefix(static_cast<std::size_t>(number_end - text.data()));
    std::size_t unit_length = 0;
    while (unit_length < text.size() &&
           std::isalpha(static_cast<unsigned char>(text[unit_length]))) {
      ++unit_length;
    }
    if (unit_length == 0) {
      // A bare number is seconds, but only on its own ("90", not "1m30").
      if (!is_first || !text.empty()) return BadDuration(original);
      total_ms = number * 1'000.0;
      break;
    }
    const double per_unit = MillisecondsPerUnit(Lower(text.substr(0, unit_length)));
    if (per_unit == 0.0) return BadDuration(original);
    total_ms += number * per_unit;
    text.remove_prefix(unit_length);
    is_first = false;
  }
  if (total_ms > kMaxMilliseconds) return BadDuration(original);
  return std::chrono::milliseconds(std::llround(total_ms));
}

std::string FormatDuration(std::chrono::milliseconds duration) {
  std::int64_t ms = duration.count();
  if (ms == 0) return "0s";
  std::string out;
  if (ms < 0) {
    out += '-';
    ms = -ms;
  }
  if (ms % 1000 != 0 && ms < 1000) return out + std::to_string(ms) + "ms";
  const std::int64_t hours = ms / 3'600'000;
  const std::int64_t minutes = ms / 60'000 % 60;
  const std::int64_t seconds = ms / 1000 % 60;
  const std::int64_t millis = ms % 1000;
  if (hours > 0) out += std::to_string(hours) + "h";
  if (minutes > 0) out += std::to_string(minutes) + "m";
  if (seconds > 0 || millis > 0) {
    out += std::to_string(seconds);
    if (millis > 0) {
      std::string fraction = std::to_string(1000 + millis).substr(1);
      while (fraction.back() == '0') fraction.pop_back();
      out += "." + fraction;
    }
    out += "s";
  }
  return out;
}

Result<std::uint64_t> ParseSize(std::string_view text) {
  const std::string_view original = text;
  text = Trim(text);
  std::uint64_t number = 0;
  const auto [number_end, error] = std::from_chars(text.data(), text.data() + text.size(), number);
  const auto bad = [&] {
    return InvalidArgumentError("invalid size '" + std::string(original) +
                                "' (use e.g. 4096, 64KB, 1MB)");
  };
  if (error != std::errc() || text.empty()) return bad();
  const std::string unit =
      Lower(Trim(text.substr(static_cast<std::size_t>(number_end - text.data()))));
  std::uint64_t multiplier = 0;
  if (unit.empty() || unit == "b") {
    multiplier = 1;
  } else if (unit == "k" || unit == "kb" || unit == "kib") {
    multiplier = std::uint64_t{1} << 10;
  } else if (unit == "m" || unit == "mb" || unit == "mib") {
    multiplier = std::uint64_t{1} << 20;
  } else if (unit == "g" || unit == "gb" || unit == "gib") {
    multiplier = std::uint64_t{1} << 30;
  } else {
    return bad();
  }
  if (number > std::numeric_limits<std::uint64_t>::max() / multiplier) return bad();
  return number * multiplier;
}

Result<std::pair<std::string, std::string>> ParseHeader(std::string_view text) {
  const std::size_t colon = text.find(':');
  const auto bad = [&](std::string_view why) {
    return InvalidArgumentError("invalid header '" + std::string(text) + "': " + std::string(why) +
                                " (use Key:Value)");
  };
  if (colon == std::string_view::npos) return bad("no ':'");
  const std::string_view key = Trim(text.substr(0, colon));
  const std::string_view value = Trim(text.substr(colon + 1));
  if (key.empty()) return bad("empty key");
  for (const char c : key) {
    const auto byte = static_cast<unsigned char>(c);
    if (byte <= 0x20 || byte >= 0x7f) return bad("key must be printable ASCII without spaces");
  }
  for (const char c : value) {
    if (c == '\r' || c == '\n') return bad("value must not contain line breaks");
  }
  return std::pair<std::string, std::string>(std::string(key), std::string(value));
}

std::vector<std::string> SplitServerUrls(const std::vector<std::string>& entries) {
  std::vector<std::string> urls;
  for (const std::string& entry : entries) {
    std::string_view rest = entry;
    while (true) {
      const std::size_t comma = rest.find(',');
      const std::string_view part = Trim(rest.substr(0, comma));
      if (!part.empty()) urls.emplace_back(part);
      if (comma == std::string_view::npos) break;
      rest.remove_prefix(comma + 1);
    }
  }
  return urls;
}

Result<std::pair<std::string, std::string>> ParseUserPassword(std::string_view text) {
  const std::size_t colon = text.find(':');
  if (colon == std::string_view::npos || colon == 0) {
    return InvalidArgumentError("invalid user '" + std::string(text.substr(0, colon)) +
                                "': use user:password");
  }
  if (colon + 1 == text.size()) {
    return InvalidArgumentError("user '" + std::string(text.substr(0, colon)) +
                                "' has an empty password");
  }
  return std::pair<std::string, std::string>(std::string(text.substr(0, colon)),
                                             std::string(text.substr(colon + 1)));
}

}  // namespace embed::tools
