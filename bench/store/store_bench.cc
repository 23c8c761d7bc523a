// Embed's store against plain SQLite prepared statements: same machine, same
// temporary directory, same durability, same keys and values, one run.
//
//   puts/s   Database::Put (each its own transaction) into a declared table
//            with a watcher attached (a callback that counts), against one
//            autocommit INSERT OR REPLACE per row into
//            (key BLOB PRIMARY KEY, value BLOB) WITHOUT ROWID;
//   gets/s   Database::Get against a prepared SELECT, random keys, all hits.
//
// Both in WAL mode with synchronous NORMAL (--full: FULL). Each run opens
// fresh database files for both sides, side by side; each phase gives each
// side --seconds in ten slices that alternate between them, so that what the
// disk and the rest of the machine do meanwhile hits both alike. Prints
// medians and the ratios Embed / raw (target >= 0.8), then a JSON line for
// bench/store_run.py.
//
//   embed_store_bench [--runs 5] [--seconds 1] [--get-rows 10000] [--full]
//                     [--dir /tmp] [--smoke]
#include "bench/store/store_bench.h"

#include <sqlite3.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "embed/store/database.h"

namespace {

using Clock = std::chrono::steady_clock;
using embed::bench::Fail;
using embed::bench::MakeKey;
using embed::bench::MakeValue;
using embed::bench::Mix;

constexpr char kTable[] = "bench";

struct Config {
  int runs = 5;
  double seconds = 1.0;
  std::uint64_t get_rows = 10'000;  // rows the gets choose from
  bool full = false;
  std::string dir;
};

// Embed's store, with a watcher on the table that counts changes.
class EmbedSide {
 public:
  EmbedSide(const std::string& path, bool full) {
    embed::store::DatabaseOptions options;
    options.synchronous =
        full ? embed::store::Synchronous::kFull : embed::store::Synchronous::kNormal;
    auto database = embed::store::Database::Open(path, options);
    if (!database.ok()) Fail("store open: " + database.status().ToString());
    database_ = std::move(database).value();
    auto applied = database_->Apply(embed::store::TableSpec{kTable, {}});
    if (!applied.ok()) Fail("store create table: " + applied.ToString());
    embed::store::WatchOptions watch_options;
    watch_options.table = kTable;
    auto watch =
        database_->Watch(watch_options, [this](const embed::store::Change&) { ++changes_; });
    if (!watch.ok()) Fail("store watch: " + watch.status().ToString());
  }

  void Put(const std::string& key, const std::string& value) {
    auto status = database_->Put(kTable, key, value);
    if (!status.ok()) Fail("store put: " + status.ToString());
  }

  bool Get(const std::string& key, std::string& out) {
    auto value = database_->Get(kTable, key);
    if (!value.ok()) Fail("store get: " + value.status().ToString());
    if (!value->has_value()) return false;
    out = std::move(**value);
    return true;
  }

  // Rows [begin, end) in one transaction (not measured).
  void Fill(std::uint64_t begin, std::uint64_t end) {
    auto transaction = database_->Begin();
    if (!transaction.ok()) Fail("store begin: " + transaction.status().ToString());
    std::string key, value;
    for (std::uint64_t row = begin; row < end; ++row) {
      MakeKey(row, key);
      MakeValue(row, value);
      auto status = transaction->Put(kTable, key, value);
      if (!status.ok()) Fail("store put in transaction: " + status.ToString());
    }
    auto status = transaction->Commit();
    if (!status.ok()) Fail("store commit: " + status.ToString());
  }

  EmbedSide(const EmbedSide&) = delete;
  EmbedSide& operator=(const EmbedSide&) = delete;

  std::uint64_t changes() const { return changes_; }

 private:
  std::unique_ptr<embed::store::Database> database_;
  std::uint64_t changes_ = 0;  // the watcher runs on the committing thread: this one
};

// Plain SQLite: the same table an app would write by hand, prepared statements.
class RawSide {
 public:
  RawSide(const std::string& path, bool full) {
    if (sqlite3_open_v2(path.c_str(), &db_, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, nullptr) !=
        SQLITE_OK) {
      Fail("sqlite3_open_v2 " + path + ": " + sqlite3_errmsg(db_));
    }
    Exec("PRAGMA journal_mode=WAL");
    Exec(full ? "PRAGMA synchronous=FULL" : "PRAGMA synchronous=NORMAL");
    sqlite3_busy_timeout(db_, 5'000);
    Exec("CREATE TABLE bench (key BLOB PRIMARY KEY, value BLOB) WITHOUT ROWID");
    insert_ = Prepare("INSERT OR REPLACE INTO bench (key, value) VALUES (?1, ?2)");
    select_ = Prepare("SELECT value FROM bench WHERE key = ?1");
  }
  ~RawSide() {
    sqlite3_finalize(insert_);
    sqlite3_finalize(select_);
    sqlite3_close(db_);
  }
  RawSide(const RawSide&) = delete;
  RawSide& operator=(const RawSide&) = delete;

  void Put(const std::string& key, const std::string& value) {
    sqlite3_bind_blob(insert_, 1, key.data(), static_cast<int>(key.size()), SQLITE_STATIC);
    sqlite3_bind_blob(insert_, 2, value.data(), static_cast<int>(value.size()), SQLITE_STATIC);
    int result = sqlite3_step(insert_);
    sqlite3_reset(insert_);
    if (result != SQLITE_DONE) Fail(std::string("sqlite insert: ") + sqlite3_errmsg(db_));
  }

  bool Get(const std::string& key, std::string& out) {
    sqlite3_bind_blob(select_, 1, key.data(), static_cast<int>(key.size()), SQLITE_STATIC);
    int result = sqlite3_step(select_);
    bool found = result == SQLITE_ROW;
    if (found) {
      // Copied out, as Database::Get returns its own std::string.
      const void* blob = sqlite3_column_blob(select_, 0);
      out.assign(static_cast<const char*>(blob),
                 static_cast<std::size_t>(sqlite3_column_bytes(select_, 0)));
    } else if (result != SQLITE_DONE) {
      Fail(std::string("sqlite select: ") + sqlite3_errmsg(db_));
    }
    sqlite3_reset(select_);
    return found;
  }

  void Fill(std::uint64_t begin, std::uint64_t end) {
    Exec("BEGIN IMMEDIATE");
    std::string key, value;
    for (std::uint64_t row = begin; row < end; ++row) {
      MakeKey(row, key);
      MakeValue(row, value);
      Put(key, value);
    }
    Exec("COMMIT");
  }

 private:
  void Exec(const char* sql) {
    char* message = nullptr;
    if (sqlite3_exec(db_, sql, nullptr, nullptr, &message) != SQLITE_OK) {
      std::string text = message != nullptr ? message : "?";
      sqlite3_free(message);
      Fail(std::string(sql) + ": " + text);
    }
  }
  sqlite3_stmt* Prepare(const char* sql) {
    sqlite3_stmt* statement = nullptr;
    if (sqlite3_prepare_v3(db_, sql, -1, SQLITE_PREPARE_PERSISTENT, &statement, nullptr) !=
        SQLITE_OK) {
      Fail(std::string("prepare ") + sql + ": " + sqlite3_errmsg(db_));
    }
    return statement;
  }

  sqlite3* db_ = nullptr;
  sqlite3_stmt* insert_ = nullptr;
  sqlite3_stmt* select_ = nullptr;
};

// One side's count of operations and time spent on them over the slices of a run.
struct Tally {
  std::uint64_t operations = 0;
  double seconds = 0;
  double Rate() const { return seconds > 0 ? static_cast<double>(operations) / seconds : 0; }
};

// Calls operation(n) for n = tally.operations, tally.operations + 1, ... for `duration`.
template <typename Operation>
void RunSlice(Tally& tally, std::chrono::duration<double> duration, Operation operation) {
  auto started = Clock::now();
  auto deadline = started + std::chrono::duration_cast<Clock::duration>(duration);
  for (std::uint64_t done = 1;; ++done) {
    operation(tally.operations++);
    // Reading the clock every call would cost more than a raw get; every 16th is enough.
    if ((done & 15) == 0 && Clock::now() >= deadline) break;
  }
  tally.seconds += std::chrono::duration<double>(Clock::now() - started).count();
}

struct RunRates {
  double embed_puts = 0;
  double raw_puts = 0;
  double embed_gets = 0;
  double raw_gets = 0;
};

// One run: both databases open side by side in `dir`. Puts new rows 0, 1, 2,
// ... into each for `seconds`, in kSlices slices that alternate between the
// two (so that what the disk and the machine do meanwhile hits both alike);
// tops both tables up to get_rows rows (not measured); then gets random rows
// of [0, get_rows) the same way.
RunRates MeasureRun(const std::string& dir, int run, const Config& config) {
  constexpr int kSlices = 10;
  const std::string embed_path = dir + "/embed-" + std::to_string(run) + ".db";
  const std::string raw_path = dir + "/raw-" + std::to_string(run) + ".db";
  RunRates rates;
  {
    EmbedSide embed(embed_path, config.full);
    RawSide raw(raw_path, config.full);
    const std::chrono::duration<double> slice(config.seconds / kSlices);
    std::string key, value;
    auto put = [&](auto& side) {
      return [&side, &key, &value](std::uint64_t row) {
        MakeKey(row, key);
        MakeValue(row, value);
        side.Put(key, value);
      };
    };
    auto get = [&](auto& side) {
      return [&side, &key, &value, &config](std::uint64_t n) {
        MakeKey(Mix(n ^ 0x5bd1e995) % config.get_rows, key);
        if (!side.Get(key, value)) Fail("get: a row written before is missing");
      };
    };

    Tally embed_puts, raw_puts;
    for (int i = 0; i < kSlices; ++i) {
      if ((i + run) % 2 == 0) {
        RunSlice(embed_puts, slice, put(embed));
        RunSlice(raw_puts, slice, put(raw));
      } else {
        RunSlice(raw_puts, slice, put(raw));
        RunSlice(embed_puts, slice, put(embed));
      }
    }
    if (embed_puts.operations < config.get_rows) embed.Fill(embed_puts.operations, config.get_rows);
    if (raw_puts.operations < config.get_rows) raw.Fill(raw_puts.operations, config.get_rows);
    std::uint64_t expected = std::max(embed_puts.operations, config.get_rows);
    if (embed.changes() != expected) {
      Fail("the watcher saw " + std::to_string(embed.changes()) + " changes, not " +
           std::to_string(expected));
    }

    Tally embed_gets, raw_gets;
    for (int i = 0; i < kSlices; ++i) {
      if ((i + run) % 2 == 0) {
        RunSlice(embed_gets, slice, get(embed));
        RunSlice(raw_gets, slice, get(raw));
      } else {
        RunSlice(raw_gets, slice, get(raw));
        RunSlice(embed_gets, slice, get(embed));
      }
    }
    rates = {embed_puts.Rate(), raw_puts.Rate(), embed_gets.Rate(), raw_gets.Rate()};
  }
  embed::bench::TempDir::RemoveDatabase(embed_path);
  embed::bench::TempDir::RemoveDatabase(raw_path);
  return rates;
}

void PrintRow(const char* label, double embed, double raw) {
  double ratio = raw > 0 ? embed / raw : 0;
  std::printf("| %s | %.0f | %.0f | %.2f | >= 0.8 | %s |\n", label, embed, raw, ratio,
              ratio >= 0.8 ? "yes" : "no");
}

}  // namespace

int main(int argc, char** argv) {
  embed::bench::Flags flags(argc, argv);
  flags.CheckKnown({"runs", "seconds", "get-rows", "full", "dir", "smoke"});
  Config config;
  if (flags.Has("smoke")) config = Config{1, 0.05, 200, false, ""};
  config.runs = flags.GetInt("runs", config.runs);
  config.seconds = flags.GetDouble("seconds", config.seconds);
  config.get_rows =
      static_cast<std::uint64_t>(flags.GetInt("get-rows", static_cast<int>(config.get_rows)));
  config.full = flags.Has("full");
  config.dir = flags.Get("dir");
  if (config.runs < 1 || config.seconds <= 0 || config.get_rows < 1) Fail("bad flag value");

  embed::bench::TempDir dir(config.dir);
  const char* synchronous = config.full ? "FULL" : "NORMAL";
  std::fprintf(
      stderr,
      "store vs raw SQLite %s: WAL, synchronous=%s, %d run(s) of %.2f s per side and phase, "
      "in %s\n",
      sqlite3_libversion(), synchronous, config.runs, config.seconds, dir.path().c_str());

  embed::bench::Samples samples;
  for (int run = 0; run < config.runs; ++run) {
    RunRates rates = MeasureRun(dir.path(), run, config);
    samples.Add("embed_puts_per_s", rates.embed_puts);
    samples.Add("raw_puts_per_s", rates.raw_puts);
    samples.Add("embed_gets_per_s", rates.embed_gets);
    samples.Add("raw_gets_per_s", rates.raw_gets);
    std::fprintf(stderr,
                 "run %d/%d puts/s embed %9.0f raw %9.0f (%.2f)   gets/s embed %9.0f raw %9.0f "
                 "(%.2f)\n",
                 run + 1, config.runs, rates.embed_puts, rates.raw_puts,
                 rates.embed_puts / rates.raw_puts, rates.embed_gets, rates.raw_gets,
                 rates.embed_gets / rates.raw_gets);
  }

  double embed_puts = samples.MedianOf("embed_puts_per_s");
  double raw_puts = samples.MedianOf("raw_puts_per_s");
  double embed_gets = samples.MedianOf("embed_gets_per_s");
  double raw_gets = samples.MedianOf("raw_gets_per_s");
  std::printf("medians of %d run(s); WAL, synchronous=%s; ratio = Embed / raw SQLite\n\n",
              config.runs, synchronous);
  std::printf(
      "| metric | Embed | raw SQLite | ratio | target | met |\n|---|---:|---:|---:|---|---|\n");
  PrintRow("puts/s (one transaction each, watcher attached)", embed_puts, raw_puts);
  PrintRow("point gets/s", embed_gets, raw_gets);
  samples.PrintJson({std::string("\"synchronous\": \"") + synchronous + "\"",
                     "\"sqlite_version\": \"" + std::string(sqlite3_libversion()) + "\"",
                     "\"smoke\": " + std::string(flags.Has("smoke") ? "true" : "false")});
  return 0;
}
