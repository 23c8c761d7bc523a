#pragma once
// ReconnectPolicy: which server to try next and how long to wait first.
// Servers are tried in order, then round-robin; each gets at most
// `max_attempts_per_server` attempts between successful connections (-1 =
// forever); a server tried less than its wait ago is retried only after the
// rest of that wait plus a random jitter of up to `jitter` (as nats.go). The
// wait backs off exponentially: `wait` after a server's first failed attempt
// since the last connection, doubling per further attempt up to `max_wait`
// (a `max_wait` not above `wait` keeps it constant). Pure: time and
// randomness are arguments. Not thread-safe.
//
//   ReconnectPolicy policy(servers.size(), 60, 2s, 100ms);
//   policy.OnAttempt(0, now);                    // first connect
//   auto next = policy.Next(now, random_0_to_1); // after a loss or failure
//   if (!next) close(); else wait(next->delay), connect(next->server_index);

#include <chrono>
#include <cstddef>
#include <optional>
#include <vector>

#include "embed/base/clock.h"

namespace embed::client {

class ReconnectPolicy {
 public:
  ReconnectPolicy(std::size_t server_count, int max_attempts_per_server,
                  std::chrono::milliseconds wait, std::chrono::milliseconds jitter,
                  std::chrono::milliseconds max_wait = std::chrono::milliseconds::zero());

  struct Attempt {
    std::size_t server_index = 0;
    Duration delay{0};
  };
  // The next attempt after the current server failed or was lost: the next
  // server (round-robin) with attempts left, and the delay before trying it.
  // nullopt when every server used up its attempts. `random_fraction` in
  // [0, 1] picks the jitter.
  std::optional<Attempt> Next(SteadyTime now, double random_fraction) const;
  // Records an attempt on `server_index` starting at `now`; it becomes current.
  void OnAttempt(std::size_t server_index, SteadyTime now);
  // The current server connected: every server's attempt count restarts.
  void OnConnected();

  // The server of the last attempt.
  std::size_t current() const { return current_; }
  int attempts(std::size_t server_index) const { return attempts_[server_index]; }
  // How long after its last attempt `server_index` may be tried again.
  std::chrono::milliseconds WaitFor(std::size_t server_index) const;

 private:
  int max_attempts_;
  std::chrono::milliseconds wait_;
  std::chrono::milliseconds jitter_;
  std::chrono::milliseconds max_wait_;
  std::size_t current_ = 0;
  std::vector<int> attempts_;
  std::vector<std::optional<SteadyTime>> last_attempt_;
};

}  // namespace embed::client
