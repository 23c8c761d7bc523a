#pragma once
// A subscription handle. Destroying it unsubscribes. Thread-safe.

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <string>

#include "embed/base/status.h"

namespace embed::client {

class Subscription {
 public:
  virtual ~Subscription() = default;  // Unsubscribe()s if still active

  // Removes the subscription now; messages not yet handled are dropped.
  // kFailedPrecondition when it is no longer valid (auto-unsubscribe max
  // reached, drained); its queued messages are dropped all the same.
  virtual Status Unsubscribe() = 0;
  // Removes it after `max_messages` messages in total have been delivered
  // (UNSUB <sid> <max>).
  virtual Status AutoUnsubscribe(std::uint64_t max_messages) = 0;
  // Stops new messages and returns once pending ones are handled or `timeout` passes.
  // kFailedPrecondition at once when called from a handler (on the dispatcher
  // thread, which is the one that would handle the pending messages).
  virtual Status Drain(std::chrono::milliseconds timeout) = 0;

  virtual const std::string& subject() const = 0;
  virtual bool is_valid() const = 0;
  // Messages handed to the handler so far.
  virtual std::uint64_t delivered() const = 0;
  // Messages dropped because the pending limits were exceeded.
  virtual std::uint64_t dropped() const = 0;
  // Messages/bytes queued for the handler now.
  virtual std::size_t pending_messages() const = 0;
  virtual std::size_t pending_bytes() const = 0;
};

}  // namespace embed::client
