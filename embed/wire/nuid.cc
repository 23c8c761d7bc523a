#include "embed/wire/nuid.h"

namespace embed::wire {
namespace {

constexpr char kDigits[] = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
constexpr std::int64_t kBase = 62;
// 62^10: the sequence wraps (and a new prefix is drawn) here.
constexpr std::int64_t kMaxSequence = 839299365868340224LL;
constexpr std::int64_t kMinIncrement = 33;
constexpr std::int64_t kMaxIncrement = 333;

}  // namespace

Nuid::Nuid() {
  std::random_device device;
  std::seed_seq seed{device(), device(), device(), device()};
  rng_.seed(seed);
  Randomize();
}

void Nuid::Randomize() {
  // nuid: 12 crypto-random bytes, each mapped byte % 62.
  std::random_device device;
  for (int i = 0; i < kPrefixLength; ++i) {
    prefix_[i] = kDigits[(device() & 0xff) % kBase];
  }
  sequence_ = std::uniform_int_distribution<std::int64_t>(0, kMaxSequence - 1)(rng_);
  increment_ =
      std::uniform_int_distribution<std::int64_t>(kMinIncrement, kMaxIncrement - 1)(rng_);
}

void Nuid::NextInto(char out[kTotalLength]) {
  sequence_ += increment_;
  if (sequence_ >= kMaxSequence) Randomize();
  for (int i = 0; i < kPrefixLength; ++i) out[i] = prefix_[i];
  std::int64_t value = sequence_;
  for (int i = kTotalLength - 1; i >= kPrefixLength; --i) {
    out[i] = kDigits[value % kBase];
    value /= kBase;
  }
}

std::string Nuid::Next() {
  std::string id(kTotalLength, '0');
  NextInto(id.data());
  return id;
}

std::string NewInbox(Nuid& nuid) {
  constexpr std::string_view kPrefix = "_INBOX.";
  std::string inbox(kPrefix.size() + Nuid::kTotalLength, '.');
  inbox.replace(0, kPrefix.size(), kPrefix);
  nuid.NextInto(inbox.data() + kPrefix.size());
  return inbox;
}

}  // namespace embed::wire
