#pragma once
// The flags of the benchmark programs (bench/rpc, bench/store): "--name
// value" pairs and bare "--flag"s, and dying with a message. Header-only.

#include <errno.h>  // program_invocation_short_name (glibc)

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <string>
#include <vector>

namespace embed::bench {

// Prints "<program>: <what>" on stderr and exits 1.
[[noreturn]] inline void Fail(const std::string& what) {
  std::fprintf(stderr, "%s: %s\n", program_invocation_short_name, what.c_str());
  std::exit(1);
}

// "--name value" pairs and bare "--flag"s (value "1").
class Flags {
 public:
  Flags(int argc, char** argv) {
    for (int i = 1; i < argc; ++i) {
      std::string name = argv[i];
      if (name.rfind("--", 0) != 0) Fail("unexpected argument " + name);
      name = name.substr(2);
      if (i + 1 < argc && std::string(argv[i + 1]).rfind("--", 0) != 0) {
        values_[name] = argv[++i];
      } else {
        values_[name] = "1";
      }
    }
  }
  bool Has(const std::string& name) const { return values_.count(name) != 0; }
  std::string Get(const std::string& name, const std::string& fallback = "") const {
    auto found = values_.find(name);
    return found == values_.end() ? fallback : found->second;
  }
  int GetInt(const std::string& name, int fallback) const {
    return Has(name) ? std::atoi(Get(name).c_str()) : fallback;
  }
  double GetDouble(const std::string& name, double fallback) const {
    return Has(name) ? std::atof(Get(name).c_str()) : fallback;
  }
  std::string Require(const std::string& name) const {
    if (!Has(name)) Fail("--" + name + " is required");
    return Get(name);
  }
  // Fails on a flag not in `known`.
  void CheckKnown(const std::vector<std::string>& known) const {
    for (const auto& [name, value] : values_) {
      if (std::find(known.begin(), known.end(), name) == known.end()) {
        Fail("unknown flag --" + name);
      }
    }
  }

 private:
  std::map<std::string, std::string> values_;
};

}  // namespace embed::bench
