#pragma once
// Clock: where protocol code gets "now". Cores take `now` as an argument;
// drivers hold a Clock so tests can inject a fake. Implementations must be
// thread-safe.

#include <chrono>

namespace embed {

using SteadyTime = std::chrono::steady_clock::time_point;
using Duration = std::chrono::steady_clock::duration;

class Clock {
 public:
  virtual ~Clock() = default;
  virtual SteadyTime Now() const = 0;
};

// The real monotonic clock.
class SystemClock final : public Clock {
 public:
  SteadyTime Now() const override { return std::chrono::steady_clock::now(); }
  // A process-wide instance; stateless, so sharing it hides no state.
  static const SystemClock& Instance();
};

}  // namespace embed
