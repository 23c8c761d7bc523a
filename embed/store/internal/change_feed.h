#pragma once
// The store's change feed: the registry of watchers and the queue that
// delivers committed changes to them. Thread-safe.
//
// Ordering without making committers wait: a commit enqueues its changes
// while still holding the database lock (so the queue is in commit order),
// then, without the lock, calls Drain(). One thread at a time drains; a
// thread that finds another draining returns at once and that thread
// delivers its changes too (after the callback it is running returns). So a
// callback may write to the database: its own commit is queued and delivered
// by the same thread once the callback returns, never re-entrantly.

#include <condition_variable>
#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "embed/store/database.h"

namespace embed::store::internal {

class ChangeFeed {
 public:
  // What a write must record for the watchers registered now.
  struct Need {
    bool record = false;     // some watcher matches (table, key)
    bool old_value = false;  // and one of those asked for the old value
  };
  Need NeedFor(std::string_view table, std::string_view key);

  // The watcher gets changes from sequence `first_sequence` on (call under
  // the database lock, with the next sequence to be assigned).
  WatchId Watch(const WatchOptions& options, ChangeCallback callback, std::uint64_t first_sequence);
  // See Database::Unwatch: waits while another thread runs the callback.
  void Unwatch(WatchId id);

  // Queues the changes of one commit (in commit order: call under the
  // database lock).
  void Enqueue(std::vector<Change> changes);
  // Delivers queued changes unless another thread is delivering.
  void Drain();

 private:
  struct Watcher {
    WatchId id = 0;
    WatchOptions options;
    ChangeCallback callback;
    std::uint64_t first_sequence = 0;
    bool active = true;  // guarded by mu_
  };

  void Deliver(const Change& change);

  std::mutex mu_;
  std::condition_variable idle_;  // running_ changed
  WatchId next_id_ = 1;
  std::map<std::string, std::vector<std::shared_ptr<Watcher>>, std::less<>> by_table_;
  std::size_t watcher_count_ = 0;
  // The watcher whose callback runs now (0 = none) and on which thread.
  WatchId running_ = 0;
  std::thread::id running_thread_;

  std::mutex queue_mu_;
  std::deque<std::vector<Change>> queue_;
  bool draining_ = false;
};

}  // namespace embed::store::internal
