#include "embed/client/reconnect_policy.h"

#include <algorithm>

namespace embed::client {

ReconnectPolicy::ReconnectPolicy(std::size_t server_count, int max_attempts_per_server,
                                 std::chrono::milliseconds wait,
                                 std::chrono::milliseconds jitter,
                                 std::chrono::milliseconds max_wait)
    : max_attempts_(max_attempts_per_server),
      wait_(wait),
      jitter_(jitter),
      max_wait_(std::max(wait, max_wait)),
      attempts_(server_count, 0),
      last_attempt_(server_count) {}

std::optional<ReconnectPolicy::Attempt> ReconnectPolicy::Next(SteadyTime now,
                                                              double random_fraction) const {
  const std::size_t count = attempts_.size();
  for (std::size_t step = 1; step <= count; ++step) {
    const std::size_t index = (current_ + step) % count;
    if (max_attempts_ >= 0 && attempts_[index] >= max_attempts_) continue;
    Attempt attempt;
    attempt.server_index = index;
    const std::chrono::milliseconds wait = WaitFor(index);
    if (last_attempt_[index] && *last_attempt_[index] + wait > now) {
      const double fraction = std::clamp(random_fraction, 0.0, 1.0);
      attempt.delay = *last_attempt_[index] + wait - now +
                      std::chrono::duration_cast<Duration>(
                          std::chrono::duration<double, std::milli>(
                              fraction * static_cast<double>(jitter_.count())));
    }
    return attempt;
  }
  return std::nullopt;
}

std::chrono::milliseconds ReconnectPolicy::WaitFor(std::size_t server_index) const {
  std::chrono::milliseconds wait = wait_;
  // attempts_ counts attempts since the last connection; the first retry
  // waits `wait`, each later one twice the one before, up to max_wait_.
  for (int attempt = 1; attempt < attempts_[server_index] && wait < max_wait_; ++attempt) {
    wait *= 2;
  }
  return std::min(wait, max_wait_);
}

void ReconnectPolicy::OnAttempt(std::size_t server_index, SteadyTime now) {
  current_ = server_index;
  ++attempts_[server_index];
  last_attempt_[server_index] = now;
}

void ReconnectPolicy::OnConnected() { std::fill(attempts_.begin(), attempts_.end(), 0); }

}  // namespace embed::client
