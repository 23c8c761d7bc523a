#pragma once
// What the load generators (loadgen.cc, ws_loadgen.cc) share: dying with a message, and the
// options both take with their "--flag value" parsing. Header-only; each program adds its own
// flags and scenarios.

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

namespace embed::bench {

// Prints "<program>: <message>" on stderr and exits 1.
[[noreturn]] inline void Die(std::string_view program, std::string_view message) {
  std::fprintf(stderr, "%.*s: %.*s\n", static_cast<int>(program.size()), program.data(),
               static_cast<int>(message.size()), message.data());
  std::exit(1);
}

// `value` of `flag` as a non-negative integer; dies when it is not one.
inline std::int64_t ParseCount(std::string_view program, std::string_view flag,
                               const std::string& value) {
  char* end = nullptr;
  long long parsed = std::strtoll(value.c_str(), &end, 10);
  if (end == value.c_str() || *end != '\0' || parsed < 0) {
    Die(program, "bad number for " + std::string(flag) + ": " + value);
  }
  return static_cast<std::int64_t>(parsed);
}

// The options of every load generator.
struct CommonOptions {
  std::string url;
  std::string scenario;
  std::int64_t messages = 100'000;
  int size_bytes = 16;
  int connections = 10'000;
  std::int64_t window_bytes = 8 * 1024 * 1024;
};

// Parses the "--flag value" pairs of argv into `options`: the flags of CommonOptions here, any
// other through `on_flag(flag, value)`, which returns false for a flag it does not know.
// --help or -h prints the usage and exits 0. A flag without a value, an unknown flag, a
// missing --url or --scenario, or --messages 0 prints the usage (where it helps) and dies.
template <typename OnFlag>
void ParseOptions(std::string_view program, int argc, char** argv, void (*print_usage)(),
                  CommonOptions& options, OnFlag on_flag) {
  for (int i = 1; i < argc; ++i) {
    std::string_view flag = argv[i];
    if (flag == "--help" || flag == "-h") {
      print_usage();
      std::exit(0);
    }
    if (i + 1 >= argc) {
      print_usage();
      Die(program, "missing value for " + std::string(flag));
    }
    const std::string value = argv[++i];
    auto number = [&] { return ParseCount(program, flag, value); };
    if (flag == "--url") {
      options.url = value;
    } else if (flag == "--scenario") {
      options.scenario = value;
    } else if (flag == "--messages") {
      options.messages = number();
    } else if (flag == "--size") {
      options.size_bytes = static_cast<int>(number());
    } else if (flag == "--connections") {
      options.connections = static_cast<int>(number());
    } else if (flag == "--window-bytes") {
      options.window_bytes = number();
    } else if (!on_flag(flag, value)) {
      print_usage();
      Die(program, "unknown flag " + std::string(flag));
    }
  }
  if (options.url.empty() || options.scenario.empty()) {
    print_usage();
    Die(program, "--url and --scenario are required");
  }
  if (options.messages < 1) Die(program, "--messages must be at least 1");
}

}  // namespace embed::bench
