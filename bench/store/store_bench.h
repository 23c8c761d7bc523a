#pragma once
// What the two store benchmark programs share (embed_store_bench: the store
// against plain SQLite; embed_bridge_latency_bench: commit -> callback through
// the C ABI): flags, a temporary directory, the rows they write, percentiles
// and the JSON line they print last. Header-only: each program includes it
// once. bench/store_run.py drives both programs.

#include <stdlib.h>
#include <unistd.h>

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "bench/bench_flags.h"

namespace embed::bench {

// A fresh directory under `parent` (empty: $TMPDIR, else /tmp), removed with
// everything in it by the destructor.
class TempDir {
 public:
  explicit TempDir(std::string parent) {
    if (parent.empty()) {
      const char* tmpdir = std::getenv("TMPDIR");
      parent = tmpdir != nullptr && *tmpdir != '\0' ? tmpdir : "/tmp";
    }
    std::string pattern = parent + "/embed_store_bench.XXXXXX";
    if (mkdtemp(pattern.data()) == nullptr) Fail("mkdtemp in " + parent + " failed");
    path_ = pattern;
  }
  ~TempDir() {
    std::error_code ignored;
    std::filesystem::remove_all(path_, ignored);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;

  const std::string& path() const { return path_; }

  // Removes a database file and its -wal and -shm files.
  static void RemoveDatabase(const std::string& file) {
    std::error_code ignored;
    for (const char* suffix : {"", "-wal", "-shm", "-journal"}) {
      std::filesystem::remove(file + suffix, ignored);
    }
  }

 private:
  std::string path_;
};

// splitmix64: spreads row numbers over the key space, so that writes land all
// over the B-tree as an app's ids would, not only at its right edge.
inline std::uint64_t Mix(std::uint64_t x) {
  x += 0x9e3779b97f4a7c15ULL;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
  return x ^ (x >> 31);
}

// The key of row `row`: 16 hex digits, into `out` (reused, no allocation once
// grown).
inline void MakeKey(std::uint64_t row, std::string& out) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::uint64_t bits = Mix(row);
  out.resize(16);
  for (int i = 15; i >= 0; --i) {
    out[static_cast<std::size_t>(i)] = kHex[bits & 0xf];
    bits >>= 4;
  }
}

// The value of row `row`: a serialized protobuf message of 100 bytes, shaped
// like a user record:
//   1: string name (20 B)   2: int64 id (varint)   3: string email (32 B)
//   4: fixed64 updated_at   5: bytes avatar_hash (24 B)   6: bool active
inline void MakeValue(std::uint64_t row, std::string& out) {
  out.clear();
  auto varint = [&out](std::uint64_t value) {
    while (value >= 0x80) {
      out.push_back(static_cast<char>((value & 0x7f) | 0x80));
      value >>= 7;
    }
    out.push_back(static_cast<char>(value));
  };
  auto bytes_field = [&](std::uint32_t field, std::size_t length, char fill) {
    varint(field << 3 | 2);
    varint(length);
    std::size_t start = out.size();
    out.append(length, fill);
    // Makes rows differ, as real ones do.
    std::uint64_t bits = Mix(row ^ field);
    for (std::size_t i = 0; i < 8 && i < length; ++i) {
      out[start + i] = static_cast<char>('a' + (bits >> (8 * i)) % 26);
    }
  };
  bytes_field(1, 20, 'n');
  varint(2 << 3 | 0);
  varint(row + 1);
  bytes_field(3, 32, 'e');
  varint(4 << 3 | 1);
  std::uint64_t stamp = 1'790'000'000'000'000'000ULL + row;
  for (int i = 0; i < 8; ++i) out.push_back(static_cast<char>((stamp >> (8 * i)) & 0xff));
  bytes_field(5, 24, 'h');
  // Pads to exactly 100 bytes with the bool field and a short string.
  varint(6 << 3 | 0);
  varint(1);
  if (out.size() + 2 <= 100) bytes_field(7, 100 - out.size() - 2, 'p');
}

// The value at `fraction` (0..1) of the sorted values; 0 when there are none.
inline double Percentile(std::vector<double> values, double fraction) {
  if (values.empty()) return 0;
  std::sort(values.begin(), values.end());
  auto index = static_cast<std::size_t>(fraction * static_cast<double>(values.size() - 1) + 0.5);
  return values[index];
}

inline double Median(std::vector<double> values) { return Percentile(std::move(values), 0.5); }

// Per-run samples of named metrics; prints the JSON line the driver reads:
// {"medians": {name: median}, "runs": {name: [per-run values]}, ...extra}.
class Samples {
 public:
  void Add(const std::string& name, double value) { values_[name].push_back(value); }
  double MedianOf(const std::string& name) const {
    auto found = values_.find(name);
    return found == values_.end() ? 0 : Median(found->second);
  }
  // `extra`: already-formatted JSON members, e.g. "\"synchronous\": \"NORMAL\"".
  void PrintJson(const std::vector<std::string>& extra) const {
    std::string line = "{\"medians\": {";
    bool first = true;
    for (const auto& [name, values] : values_) {
      line += (first ? "\"" : ", \"") + name + "\": " + Number(Median(values));
      first = false;
    }
    line += "}, \"runs\": {";
    first = true;
    for (const auto& [name, values] : values_) {
      line += (first ? "\"" : ", \"") + name + "\": [";
      for (std::size_t i = 0; i < values.size(); ++i) {
        line += (i == 0 ? "" : ", ") + Number(values[i]);
      }
      line += "]";
      first = false;
    }
    line += "}";
    for (const std::string& member : extra) line += ", " + member;
    line += "}";
    std::printf("%s\n", line.c_str());
    std::fflush(stdout);
  }

 private:
  static std::string Number(double value) {
    char text[64];
    std::snprintf(text, sizeof text, "%.6g", value);
    return text;
  }
  std::map<std::string, std::vector<double>> values_;
};

}  // namespace embed::bench
