#include "embed/broker/router.h"

namespace embed::broker {

MatchResultPtr MatchCache::Find(std::string_view subject, std::uint64_t generation) {
  if (generation != generation_) {
    entries_.clear();
    generation_ = generation;
    return nullptr;
  }
  auto it = entries_.find(subject);
  if (it == entries_.end()) return nullptr;
  return it->second;
}

void MatchCache::Store(std::string_view subject, std::uint64_t generation,
                       MatchResultPtr result) {
  if (generation != generation_) {
    entries_.clear();
    generation_ = generation;
  }
  // Unique reply subjects would grow the cache without bound; start over.
  if (entries_.size() >= kMaxEntries) entries_.clear();
  entries_.emplace(std::string(subject), std::move(result));
}

void MatchCache::Clear() { entries_.clear(); }

std::uint64_t RouteBatch::NextRandom() {
  // xorshift64*: queue member choice needs speed, not cryptographic quality.
  random_state ^= random_state >> 12;
  random_state ^= random_state << 25;
  random_state ^= random_state >> 27;
  return random_state * 0x2545F4914F6CDD1Dull;
}

Status Router::Insert(const SubscriptionPtr& subscription) {
  std::lock_guard<std::mutex> lock(mutex_);
  Status status = index_.Insert(subscription->subject, subscription->queue_group, subscription);
  if (!status.ok()) return status;
  subscription_count_.fetch_add(1, std::memory_order_relaxed);
  generation_.fetch_add(1, std::memory_order_acq_rel);
  return Status::Ok();
}

bool Router::Remove(const SubscriptionPtr& subscription) {
  if (subscription->removed.exchange(true, std::memory_order_acq_rel)) return false;
  std::lock_guard<std::mutex> lock(mutex_);
  bool removed = index_.Remove(subscription->subject, subscription->queue_group, subscription);
  if (removed) subscription_count_.fetch_sub(1, std::memory_order_relaxed);
  generation_.fetch_add(1, std::memory_order_acq_rel);
  return removed;
}

MatchResultPtr Router::Match(std::string_view subject, RouteBatch& batch) {
  std::uint64_t generation = generation_.load(std::memory_order_acquire);
  if (MatchResultPtr cached = batch.cache.Find(subject, generation)) return cached;
  MatchResultPtr result;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    generation = generation_.load(std::memory_order_relaxed);
    result = index_.Match(subject);
  }
  batch.cache.Store(subject, generation, result);
  return result;
}

bool Router::Deliver(const SubscriptionPtr& subscription, const Message& message,
                     RouteBatch& batch) {
  Subscription& target = *subscription;
  if (target.removed.load(std::memory_order_relaxed)) return false;
  bool is_last = false;
  std::uint64_t max_msgs = target.max_msgs.load(std::memory_order_acquire);
  std::uint64_t delivered = target.delivered.fetch_add(1, std::memory_order_relaxed) + 1;
  if (max_msgs != 0) {
    // NATS §1.7: the message that reaches max is delivered, later ones dropped.
    if (delivered > max_msgs) {
      // A racing UNSUB may have set the max after the last delivery; make
      // sure the subscription leaves the index.
      Remove(subscription);
      return false;
    }
    is_last = delivered == max_msgs;
  }
  if (!target.outbox) return false;
  Outbox::AppendResult result = target.outbox->AppendMessage(message, target.sid);
  switch (result) {
    case Outbox::AppendResult::kAppendedNeedsFlush:
      batch.dirty.push_back(target.outbox);
      break;
    case Outbox::AppendResult::kAppended:
      break;
    case Outbox::AppendResult::kSlowConsumer:
      batch.dirty.push_back(target.outbox);
      return false;
    case Outbox::AppendResult::kClosed:
      return false;
  }
  if (!batch.stall_on && target.outbox->ShouldStallPublishers(batch.now, kStallWindow)) {
    batch.stall_on = target.outbox;
  }
  BumpCounter(batch.out_msgs, 1);
  BumpCounter(batch.out_bytes, message.headers.size() + message.payload.size());
  if (is_last) Remove(subscription);
  return true;
}

std::size_t Router::Route(const Message& message, const Outbox* publisher, bool echo,
                          RouteBatch& batch) {
  MatchResultPtr result = Match(message.subject, batch);
  if (!result) return 0;
  std::size_t deliveries = 0;
  for (const SubscriptionPtr& subscription : result->plain) {
    if (!echo && subscription->outbox.get() == publisher) continue;
    if (Deliver(subscription, message, batch)) ++deliveries;
  }
  for (const auto& group : result->queue_groups) {
    std::size_t members = group.size();
    if (members == 0) continue;
    // NATS §6.5: a random starting member, then the first that can take it.
    std::size_t start = static_cast<std::size_t>(batch.NextRandom() % members);
    for (std::size_t i = 0; i < members; ++i) {
      const SubscriptionPtr& member = group[(start + i) % members];
      if (!echo && member->outbox.get() == publisher) continue;
      if (Deliver(member, message, batch)) {
        ++deliveries;
        break;
      }
    }
  }
  return deliveries;
}

}  // namespace embed::broker
