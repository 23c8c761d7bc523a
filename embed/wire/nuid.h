#pragma once
// NUID: 22-char unique ids (12 random prefix chars + 10-char sequence) in the
// base-62 alphabet, as nats-io/nuid (nats-wire.md §4.1). Not thread-safe: keep
// one per thread or per connection.

#include <cstdint>
#include <random>
#include <string>

namespace embed::wire {

class Nuid {
 public:
  static constexpr int kPrefixLength = 12;
  static constexpr int kSequenceLength = 10;
  static constexpr int kTotalLength = kPrefixLength + kSequenceLength;

  // Seeds from std::random_device (crypto-random on Linux and in browsers).
  Nuid();
  // Returns the next id.
  std::string Next();
  void NextInto(char out[kTotalLength]);

 private:
  void Randomize();
  std::mt19937_64 rng_;
  char prefix_[kPrefixLength];
  std::int64_t sequence_ = 0;
  std::int64_t increment_ = 0;
};

// "_INBOX." + a fresh NUID.
std::string NewInbox(Nuid& nuid);

}  // namespace embed::wire
