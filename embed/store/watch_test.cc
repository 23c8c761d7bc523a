// The change feed: what watchers see, in which order, on which thread.
#include <gtest/gtest.h>
#include <unistd.h>

#include <atomic>
#include <condition_variable>
#include <filesystem>
#include <mutex>
#include <thread>

#include "embed/store/database.h"
#include "embed/store/internal/wire_builder.h"

namespace embed::store {
namespace {

using internal::WireBuilder;

std::string Msg(std::int64_t n) { return WireBuilder().Int(1, n).Done(); }

class WatchTest : public ::testing::Test {
 protected:
  void SetUp() override {
    path_ = ::testing::TempDir() + "watch_test_" + std::to_string(::getpid()) + "_" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name() + ".db";
    for (const char* suffix : {"", "-wal", "-shm"}) std::filesystem::remove(path_ + suffix);
    db_ = std::move(Database::Open(path_)).value();
    ASSERT_TRUE(db_->Apply(TableSpec{"kv", {{"n", {1}, FieldType::kInt64}}}).ok());
    ASSERT_TRUE(db_->Apply(TableSpec{"other", {}}).ok());
  }
  void TearDown() override {
    db_.reset();
    for (const char* suffix : {"", "-wal", "-shm"}) std::filesystem::remove(path_ + suffix);
  }

  // Records every change seen by a watcher.
  struct Log {
    std::mutex mu;
    std::vector<Change> changes;
    std::vector<std::thread::id> threads;
    ChangeCallback Callback() {
      return [this](const Change& change) {
        std::lock_guard lock(mu);
        changes.push_back(change);
        threads.push_back(std::this_thread::get_id());
      };
    }
  };

  std::string path_;
  std::unique_ptr<Database> db_;
};

// A change committed before a watcher registers is not delivered to it,
// even when its delivery happens after (another thread was delivering).
TEST_F(WatchTest, AWatcherDoesNotGetChangesCommittedBeforeItRegistered) {
  std::mutex mu;
  std::condition_variable changed;
  bool blocking = false;
  bool release = false;
  ASSERT_TRUE(db_->Watch({.table = "other"},
                         [&](const Change&) {
                           std::unique_lock lock(mu);
                           blocking = true;
                           changed.notify_all();
                           changed.wait(lock, [&] { return release; });
                         })
                  .ok());
  // Thread 1 delivers, and waits inside the callback.
  std::thread deliverer([&] { ASSERT_TRUE(db_->Put("other", "x", Msg(0)).ok()); });
  {
    std::unique_lock lock(mu);
    changed.wait(lock, [&] { return blocking; });
  }
  // This commit's change is queued behind the running delivery.
  ASSERT_TRUE(db_->Put("kv", "early", Msg(1)).ok());
  Log log;
  ASSERT_TRUE(db_->Watch({.table = "kv", .include_old_value = true}, log.Callback()).ok());
  {
    std::lock_guard lock(mu);
    release = true;
  }
  changed.notify_all();
  deliverer.join();
  ASSERT_TRUE(db_->Put("kv", "early", Msg(2)).ok());
  std::lock_guard lock(log.mu);
  ASSERT_EQ(log.changes.size(), 1u);
  EXPECT_EQ(log.changes[0].op, ChangeOp::kUpdate);
  EXPECT_EQ(log.changes[0].old_value, Msg(1));
}

TEST_F(WatchTest, TableWatcherSeesInsertsUpdatesAndDeletes) {
  Log log;
  ASSERT_TRUE(db_->Watch({.table = "kv"}, log.Callback()).ok());
  ASSERT_TRUE(db_->Put("kv", "a", Msg(1)).ok());
  ASSERT_TRUE(db_->Put("kv", "a", Msg(2)).ok());
  ASSERT_TRUE(db_->Put("other", "a", Msg(3)).ok());
  ASSERT_TRUE(*db_->Delete("kv", "a"));
  ASSERT_FALSE(*db_->Delete("kv", "a"));  // no change, no event
  // Delivered on the committing thread before the call returned.
  ASSERT_EQ(log.changes.size(), 3u);
  EXPECT_EQ(log.changes[0].op, ChangeOp::kInsert);
  EXPECT_EQ(log.changes[0].new_value, Msg(1));
  EXPECT_EQ(log.changes[1].op, ChangeOp::kUpdate);
  EXPECT_EQ(log.changes[1].new_value, Msg(2));
  EXPECT_FALSE(log.changes[1].old_value.has_value());  // not asked for
  EXPECT_EQ(log.changes[2].op, ChangeOp::kDelete);
  EXPECT_EQ(log.changes[2].table, "kv");
  EXPECT_EQ(log.changes[2].key, "a");
  // Sequences count every committed change of the database (the put to
  // "other" included).
  EXPECT_EQ(log.changes[1].sequence, log.changes[0].sequence + 1);
  EXPECT_EQ(log.changes[2].sequence, log.changes[1].sequence + 2);
  EXPECT_GT(log.changes[0].commit_unix_nanos, 0);
  for (auto id : log.threads) EXPECT_EQ(id, std::this_thread::get_id());
}

TEST_F(WatchTest, PrefixAndOldValue) {
  Log prefixed;
  Log with_old;
  ASSERT_TRUE(db_->Watch({.table = "kv", .key_prefix = "user/"}, prefixed.Callback()).ok());
  ASSERT_TRUE(db_->Watch({.table = "kv", .include_old_value = true}, with_old.Callback()).ok());
  ASSERT_TRUE(db_->Put("kv", "user/1", Msg(1)).ok());
  ASSERT_TRUE(db_->Put("kv", "post/1", Msg(2)).ok());
  ASSERT_TRUE(db_->Put("kv", "user/1", Msg(3)).ok());
  ASSERT_TRUE(*db_->Delete("kv", "user/1"));
  ASSERT_EQ(prefixed.changes.size(), 3u);
  for (const Change& change : prefixed.changes) {
    EXPECT_EQ(change.key, "user/1");
    EXPECT_FALSE(change.old_value.has_value());
  }
  ASSERT_EQ(with_old.changes.size(), 4u);
  EXPECT_FALSE(with_old.changes[0].old_value.has_value());  // insert
  EXPECT_EQ(with_old.changes[2].old_value.value_or(""), Msg(1));
  EXPECT_EQ(with_old.changes[2].new_value, Msg(3));
  EXPECT_EQ(with_old.changes[3].old_value.value_or(""), Msg(3));
}

TEST_F(WatchTest, TransactionDeliversAfterCommitAndRollbackDeliversNothing) {
  Log log;
  ASSERT_TRUE(db_->Watch({.table = "kv"}, log.Callback()).ok());
  {
    auto tx = db_->Begin();
    ASSERT_TRUE(tx->Put("kv", "a", Msg(1)).ok());
    ASSERT_TRUE(tx->Put("kv", "b", Msg(2)).ok());
    EXPECT_TRUE(log.changes.empty());
    ASSERT_TRUE(tx->Rollback().ok());
  }
  {
    auto tx = db_->Begin();
    ASSERT_TRUE(tx->Put("kv", "c", Msg(1)).ok());
  }  // destroyed: rolled back
  EXPECT_TRUE(log.changes.empty());
  auto tx = db_->Begin();
  ASSERT_TRUE(tx->Put("kv", "a", Msg(1)).ok());
  ASSERT_TRUE(tx->Put("kv", "b", Msg(2)).ok());
  EXPECT_TRUE(log.changes.empty());
  ASSERT_TRUE(tx->Commit().ok());
  ASSERT_EQ(log.changes.size(), 2u);
  EXPECT_EQ(log.changes[0].key, "a");
  EXPECT_EQ(log.changes[1].key, "b");
  EXPECT_EQ(log.changes[0].commit_unix_nanos, log.changes[1].commit_unix_nanos);
}

TEST_F(WatchTest, ReentrantWriteIsDeliveredAfterTheCallbackReturns) {
  std::vector<std::string> events;
  int depth = 0;
  ASSERT_TRUE(db_->Watch({.table = "kv"},
                         [&](const Change& change) {
                           ++depth;
                           EXPECT_EQ(depth, 1) << "delivered re-entrantly";
                           events.push_back("begin " + change.key);
                           if (change.key == "a") {
                             // The callback holds no lock: it may read and write.
                             EXPECT_TRUE(db_->Get("kv", "a")->has_value());
                             EXPECT_TRUE(db_->Put("kv", "b", Msg(2)).ok());
                             auto tx = db_->Begin();
                             EXPECT_TRUE(tx.ok());
                             EXPECT_TRUE(tx->Put("kv", "c", Msg(3)).ok());
                             EXPECT_TRUE(tx->Commit().ok());
                           }
                           events.push_back("end " + change.key);
                           --depth;
                         })
                  .ok());
  ASSERT_TRUE(db_->Put("kv", "a", Msg(1)).ok());
  EXPECT_EQ(events,
            (std::vector<std::string>{"begin a", "end a", "begin b", "end b", "begin c", "end c"}));
}

TEST_F(WatchTest, ConcurrentWritersAreDeliveredInCommitOrder) {
  Log log;
  ASSERT_TRUE(db_->Watch({.table = "kv"}, log.Callback()).ok());
  constexpr int kPerThread = 300;
  auto writer = [&](const std::string& prefix) {
    for (int i = 0; i < kPerThread; ++i) {
      ASSERT_TRUE(db_->Put("kv", prefix + std::to_string(i), Msg(i)).ok());
    }
  };
  std::thread first(writer, "x");
  std::thread second(writer, "y");
  first.join();
  second.join();
  ASSERT_EQ(log.changes.size(), 2u * kPerThread);
  for (std::size_t i = 1; i < log.changes.size(); ++i) {
    EXPECT_EQ(log.changes[i].sequence, log.changes[i - 1].sequence + 1) << i;
  }
  // Each writer's own changes keep their order too.
  int next_x = 0;
  int next_y = 0;
  for (const Change& change : log.changes) {
    int& next = change.key[0] == 'x' ? next_x : next_y;
    EXPECT_EQ(change.key.substr(1), std::to_string(next++));
  }
}

TEST_F(WatchTest, UnwatchFromAnotherThreadWaitsForTheRunningCallback) {
  std::mutex mu;
  std::condition_variable cv;
  bool entered = false;
  bool release = false;
  std::atomic<int> calls{0};
  std::atomic<bool> running{false};
  auto id = db_->Watch({.table = "kv"}, [&](const Change&) {
    running = true;
    ++calls;
    std::unique_lock lock(mu);
    entered = true;
    cv.notify_all();
    cv.wait(lock, [&] { return release; });
    running = false;
  });
  ASSERT_TRUE(id.ok());
  std::thread writer([&] { ASSERT_TRUE(db_->Put("kv", "a", Msg(1)).ok()); });
  {
    std::unique_lock lock(mu);
    cv.wait(lock, [&] { return entered; });
  }
  std::thread releaser([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    std::lock_guard lock(mu);
    release = true;
    cv.notify_all();
  });
  db_->Unwatch(*id);
  EXPECT_FALSE(running.load()) << "Unwatch returned while the callback ran";
  releaser.join();
  writer.join();
  ASSERT_TRUE(db_->Put("kv", "b", Msg(2)).ok());
  EXPECT_EQ(calls.load(), 1);
}

TEST_F(WatchTest, UnwatchFromItsOwnCallback) {
  int calls = 0;
  WatchId id = 0;
  auto watched = db_->Watch({.table = "kv"}, [&](const Change&) {
    ++calls;
    db_->Unwatch(id);  // must not deadlock
  });
  ASSERT_TRUE(watched.ok());
  id = *watched;
  auto tx = db_->Begin();
  ASSERT_TRUE(tx->Put("kv", "a", Msg(1)).ok());
  ASSERT_TRUE(tx->Put("kv", "b", Msg(1)).ok());
  ASSERT_TRUE(tx->Commit().ok());
  EXPECT_EQ(calls, 1);
}

}  // namespace
}  // namespace embed::store
