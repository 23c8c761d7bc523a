#include "embed/base/clock.h"

namespace embed {

const SystemClock& SystemClock::Instance() {
  static const SystemClock clock;
  return clock;
}

}  // namespace embed
