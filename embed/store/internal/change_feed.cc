#include "embed/store/internal/change_feed.h"

#include <algorithm>
#include <optional>
#include <utility>

namespace embed::store::internal {

ChangeFeed::Need ChangeFeed::NeedFor(std::string_view table, std::string_view key) {
  Need need;
  std::lock_guard lock(mu_);
  if (watcher_count_ == 0) return need;
  auto it = by_table_.find(table);
  if (it == by_table_.end()) return need;
  for (const auto& watcher : it->second) {
    if (key.starts_with(watcher->options.key_prefix)) {
      need.record = true;
      need.old_value = need.old_value || watcher->options.include_old_value;
    }
  }
  return need;
}

WatchId ChangeFeed::Watch(const WatchOptions& options, ChangeCallback callback,
                          std::uint64_t first_sequence) {
  std::lock_guard lock(mu_);
  auto watcher = std::make_shared<Watcher>();
  watcher->id = next_id_++;
  watcher->options = options;
  watcher->callback = std::move(callback);
  watcher->first_sequence = first_sequence;
  by_table_[options.table].push_back(watcher);
  ++watcher_count_;
  return watcher->id;
}

void ChangeFeed::Unwatch(WatchId id) {
  std::unique_lock lock(mu_);
  for (auto it = by_table_.begin(); it != by_table_.end(); ++it) {
    auto& list = it->second;
    auto found = std::find_if(list.begin(), list.end(),
                              [id](const auto& watcher) { return watcher->id == id; });
    if (found == list.end()) continue;
    (*found)->active = false;
    list.erase(found);
    --watcher_count_;
    if (list.empty()) by_table_.erase(it);
    break;
  }
  // From its own callback the current call simply finishes; from elsewhere
  // wait for it, so that no call happens after Unwatch returns.
  idle_.wait(lock, [&] { return running_ != id || running_thread_ == std::this_thread::get_id(); });
}

void ChangeFeed::Enqueue(std::vector<Change> changes) {
  if (changes.empty()) return;
  std::lock_guard lock(queue_mu_);
  queue_.push_back(std::move(changes));
}

void ChangeFeed::Drain() {
  {
    std::lock_guard lock(queue_mu_);
    if (draining_ || queue_.empty()) return;
    draining_ = true;
  }
  for (;;) {
    std::vector<Change> batch;
    {
      std::lock_guard lock(queue_mu_);
      if (queue_.empty()) {
        draining_ = false;
        return;
      }
      batch = std::move(queue_.front());
      queue_.pop_front();
    }
    for (const Change& change : batch) Deliver(change);
  }
}

void ChangeFeed::Deliver(const Change& change) {
  std::vector<std::shared_ptr<Watcher>> targets;
  {
    std::lock_guard lock(mu_);
    auto it = by_table_.find(change.table);
    if (it == by_table_.end()) return;
    for (const auto& watcher : it->second) {
      // A change committed before the watcher came is not its own, even
      // when it is delivered after (it may lack the old value it wants).
      if (change.sequence >= watcher->first_sequence &&
          std::string_view(change.key).starts_with(watcher->options.key_prefix)) {
        targets.push_back(watcher);
      }
    }
  }
  // Watchers that did not ask for the old value get a copy without it.
  std::optional<Change> lean;
  for (const auto& watcher : targets) {
    {
      std::lock_guard lock(mu_);
      if (!watcher->active) continue;
      running_ = watcher->id;
      running_thread_ = std::this_thread::get_id();
    }
    const Change* view = &change;
    if (change.old_value && !watcher->options.include_old_value) {
      if (!lean) {
        lean = change;
        lean->old_value.reset();
      }
      view = &*lean;
    }
    try {
      watcher->callback(*view);
    } catch (...) {
      // The contract says callbacks do not throw; one that does must not
      // leave the feed stuck in "draining" forever, so it is dropped here.
    }
    {
      std::lock_guard lock(mu_);
      running_ = 0;
      running_thread_ = std::thread::id();
    }
    idle_.notify_all();
  }
}

}  // namespace embed::store::internal
