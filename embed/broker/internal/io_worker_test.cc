#include "embed/broker/internal/io_worker.h"

#include <atomic>
#include <chrono>
#include <stdexcept>

#include <gtest/gtest.h>

#include <boost/asio/io_context.hpp>

namespace embed::broker::internal {
namespace {

using namespace std::chrono_literals;

// Throws from the first Now() (as a failing Tick would), then works.
class ThrowOnceClock final : public Clock {
 public:
  SteadyTime Now() const override {
    if (calls.fetch_add(1) == 0) throw std::runtime_error("tick failed");
    return SteadyTime{};
  }
  mutable std::atomic<int> calls{0};
};

TEST(IoWorker, KeepsTickingAfterATickThrows) {
  boost::asio::io_context context;
  BrokerShared shared(subject::SubjectLimits{});
  ThrowOnceClock clock;
  shared.clock = &clock;
  IoWorker worker(context, 0, shared, 2ms);
  worker.StartTicking();
  auto deadline = std::chrono::steady_clock::now() + 2s;
  while (clock.calls.load() < 3 && std::chrono::steady_clock::now() < deadline) {
    try {
      context.run_for(20ms);
    } catch (const std::runtime_error&) {
      // Like IoThreadPool: keep running the context after a handler threw.
    }
  }
  EXPECT_GE(clock.calls.load(), 3);
  worker.Shutdown();
}

}  // namespace
}  // namespace embed::broker::internal
