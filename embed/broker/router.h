#pragma once
// Router: every subscription of a broker, indexed by subject, and the fan-out
// of published messages into the receivers' outboxes (nats-wire.md §6.5–6.8).
// It is the broker's only shared state. Thread-safe: a mutex guards the
// subject index and is held only while the index is read or changed — never
// while bytes are encoded, written, or user code runs. Lookups go through a
// per-thread MatchCache validated by generation(), so the publish hot path
// usually takes no lock at all.

#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "embed/base/status.h"
#include "embed/broker/outbox.h"
#include "embed/subject/subject_index.h"

namespace embed::broker {

// One SUB of one connection. Shared because a cached match result may still
// hold it after its connection unsubscribed (then `removed` is set).
struct Subscription {
  Subscription(std::string subject_in, std::string queue_group_in, std::string sid_in,
               std::shared_ptr<Outbox> outbox_in)
      : subject(std::move(subject_in)),
        queue_group(std::move(queue_group_in)),
        sid(std::move(sid_in)),
        outbox(std::move(outbox_in)) {}

  const std::string subject;
  const std::string queue_group;  // empty for a plain subscription
  const std::string sid;
  // The receiving connection. Null only in unit tests of the session core.
  const std::shared_ptr<Outbox> outbox;
  // Messages delivered so far, and the UNSUB max (0 = none).
  std::atomic<std::uint64_t> delivered{0};
  std::atomic<std::uint64_t> max_msgs{0};
  // Set once the subscription left the index.
  std::atomic<bool> removed{false};
};

using SubscriptionPtr = std::shared_ptr<Subscription>;
using MatchResultPtr = std::shared_ptr<const subject::MatchResult<SubscriptionPtr>>;

// Per-thread cache of match results, keyed by literal subject. Not
// thread-safe: one per I/O thread.
class MatchCache {
 public:
  static constexpr std::size_t kMaxEntries = 8192;
  // The cached result for `subject` when it is still current, else null.
  MatchResultPtr Find(std::string_view subject, std::uint64_t generation);
  void Store(std::string_view subject, std::uint64_t generation, MatchResultPtr result);
  void Clear();
  std::size_t size() const { return entries_.size(); }

 private:
  struct StringHash {
    using is_transparent = void;
    std::size_t operator()(std::string_view text) const {
      return std::hash<std::string_view>{}(text);
    }
  };
  std::uint64_t generation_ = 0;
  std::unordered_map<std::string, MatchResultPtr, StringHash, std::equal_to<>> entries_;
};

// What one I/O thread carries through routing: its match cache, the
// outboxes to flush at the end of the current wake-up, a random source for
// queue groups and its share of the counters. Not thread-safe: one per I/O
// thread. Counters are atomics with a single writer so stats() may read them.
struct RouteBatch {
  MatchCache cache;
  std::vector<std::shared_ptr<Outbox>> dirty;
  std::uint64_t random_state = 0x9E3779B97F4A7C15ull;
  // A congested receiver routed to in this wake-up; the publishing session
  // pauses reading until it drains (or its stall window ends) and clears it.
  std::shared_ptr<Outbox> stall_on;
  // The time of the current wake-up, set by the session before routing.
  std::chrono::steady_clock::time_point now{};
  std::atomic<std::uint64_t> in_msgs{0};
  std::atomic<std::uint64_t> in_bytes{0};
  std::atomic<std::uint64_t> out_msgs{0};
  std::atomic<std::uint64_t> out_bytes{0};

  std::uint64_t NextRandom();
};

// Adds `count` to a counter that only the calling thread writes.
inline void BumpCounter(std::atomic<std::uint64_t>& counter, std::uint64_t count) {
  counter.store(counter.load(std::memory_order_relaxed) + count, std::memory_order_relaxed);
}

class Router {
 public:
  // How long one congested receiver may slow its publishers down.
  static constexpr std::chrono::milliseconds kStallWindow{10};

  Router() = default;
  // `limits` bound the subjects the index accepts; pass the broker's own so
  // every subject its sessions accept can be indexed.
  explicit Router(const subject::SubjectLimits& limits) : index_(kIndexCacheEntries, limits) {}
  Router(const Router&) = delete;
  Router& operator=(const Router&) = delete;

  // Adds a subscription. kInvalidArgument when the index rejects the subject.
  Status Insert(const SubscriptionPtr& subscription);
  // Removes a subscription; false if it was already removed. Idempotent.
  bool Remove(const SubscriptionPtr& subscription);

  // Delivers `message` to every matching plain subscription and to one
  // member of each matching queue group, skipping `publisher`'s own
  // subscriptions when `echo` is false. Outboxes that need a flush are added
  // to batch.dirty. Returns the number of deliveries.
  std::size_t Route(const Message& message, const Outbox* publisher, bool echo,
                    RouteBatch& batch);

  // Subscriptions currently in the index.
  std::size_t subscription_count() const {
    return subscription_count_.load(std::memory_order_relaxed);
  }
  // Changes whenever a subscription is added or removed.
  std::uint64_t generation() const { return generation_.load(std::memory_order_acquire); }

 private:
  MatchResultPtr Match(std::string_view subject, RouteBatch& batch);
  bool Deliver(const SubscriptionPtr& subscription, const Message& message, RouteBatch& batch);

  static constexpr std::size_t kIndexCacheEntries = 4096;

  mutable std::mutex mutex_;
  subject::SubjectIndex<SubscriptionPtr> index_;  // guarded by mutex_
  std::atomic<std::uint64_t> generation_{1};
  std::atomic<std::size_t> subscription_count_{0};
};

}  // namespace embed::broker
