// Durability of the store under SIGKILL: a child process writes (single puts
// and 3-key transactions) and acknowledges each write on stdout after it
// returns; the test kills it at a random moment, then opens the database,
// runs PRAGMA integrity_check and checks the acknowledged writes.
//
// With synchronous=FULL every acknowledged write must be there, intact. With
// NORMAL a process crash must not lose them either (only a power or OS
// crash may, which this test cannot cause): the database must open cleanly,
// pass integrity_check and hold what was acknowledged.

#include <gtest/gtest.h>
#include <sqlite3.h>
#include <unistd.h>

#include <csignal>
#include <cstdio>
#include <filesystem>
#include <random>
#include <set>
#include <sstream>
#include <thread>

#include "embed/store/database.h"
#include "tests/cli/subprocess.h"
#include "tests/integration/store_crash_common.h"

namespace embed::store {
namespace {

using cli_test::Subprocess;
using std::chrono::milliseconds;

std::string IntegrityCheck(const std::string& path) {
  sqlite3* db = nullptr;
  std::string result = "cannot open";
  if (sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READWRITE, nullptr) == SQLITE_OK) {
    sqlite3_stmt* stmt = nullptr;
    result.clear();
    if (sqlite3_prepare_v2(db, "PRAGMA integrity_check", -1, &stmt, nullptr) == SQLITE_OK) {
      while (sqlite3_step(stmt) == SQLITE_ROW) {
        if (!result.empty()) result += "; ";
        result += reinterpret_cast<const char*>(sqlite3_column_text(stmt, 0));
      }
    } else {
      result = sqlite3_errmsg(db);
    }
    sqlite3_finalize(stmt);
  }
  sqlite3_close_v2(db);
  return result;
}

// The key numbers acknowledged in complete lines of the writer's output.
std::vector<std::uint64_t> Acknowledged(const std::string& output) {
  std::vector<std::uint64_t> keys;
  std::istringstream lines(output);
  std::string line;
  while (std::getline(lines, line)) {
    if (lines.eof()) break;  // no newline: not a complete acknowledgement
    std::istringstream words(line);
    std::string word;
    words >> word;
    if (word != "ack") continue;
    std::uint64_t n = 0;
    while (words >> n) keys.push_back(n);
  }
  return keys;
}

class StoreCrashTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = ::testing::TempDir() + "store_crash_" + std::to_string(::getpid());
    std::filesystem::remove_all(dir_);
    std::filesystem::create_directories(dir_);
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  // Runs `iterations` kill cycles against one database file.
  void Run(const std::string& mode, int iterations) {
    const std::string path = dir_ + "/" + mode + ".db";
    const unsigned seed = std::random_device{}();
    SCOPED_TRACE("mode " + mode + ", seed " + std::to_string(seed));
    std::mt19937 random(seed);
    std::vector<std::uint64_t> all_acked;
    int killed_while_writing = 0;
    // Iterations where the kill landed between a commit and its
    // acknowledgement (more rows than acks): shows kills hit mid-write.
    int committed_not_acknowledged = 0;
    for (int iteration = 0; iteration < iterations; ++iteration) {
      SCOPED_TRACE("iteration " + std::to_string(iteration));
      const std::uint64_t first = static_cast<std::uint64_t>(iteration) * 1'000'000;
      auto writer =
          Subprocess::Start({EMBED_STORE_CRASH_WRITER, path, mode, std::to_string(first)});
      ASSERT_NE(writer, nullptr);
      ASSERT_TRUE(writer->WaitForLine("ready", std::chrono::seconds(20)).has_value())
          << writer->stderr_text();
      // Let it write a few commits, then kill it somewhere inside the next.
      const int acks = std::uniform_int_distribution<int>(1, 12)(random);
      for (int i = 0; i < acks; ++i) {
        ASSERT_TRUE(writer->WaitForLine("ack", std::chrono::seconds(20)).has_value())
            << writer->stderr_text();
      }
      std::this_thread::sleep_for(
          std::chrono::microseconds(std::uniform_int_distribution<int>(0, 3000)(random)));
      writer->SendSignal(SIGKILL);
      const auto exit_code = writer->WaitForExit(std::chrono::seconds(20));
      ASSERT_TRUE(exit_code.has_value());
      ASSERT_EQ(*exit_code, 128 + SIGKILL) << writer->stderr_text();
      ++killed_while_writing;

      ASSERT_EQ(IntegrityCheck(path), "ok");
      auto opened = Database::Open(path);
      ASSERT_TRUE(opened.ok()) << opened.status().ToString();
      const std::vector<std::uint64_t> acked = Acknowledged(writer->stdout_text());
      ASSERT_GE(acked.size(), static_cast<std::size_t>(acks));
      for (std::uint64_t n : acked) {
        auto value = (*opened)->Get("kv", crash_test::KeyOf(n));
        ASSERT_TRUE(value.ok()) << value.status().ToString();
        ASSERT_TRUE(value->has_value()) << "acknowledged key " << n << " is missing";
        ASSERT_EQ(**value, crash_test::ValueOf(n)) << "key " << n;
      }
      all_acked.insert(all_acked.end(), acked.begin(), acked.end());
      // A write that was not acknowledged may or may not be there, but a
      // transaction is never half there: keys come in whole batches, and
      // every value present is intact.
      auto rows = (*opened)->Scan(
          "kv", {.start = crash_test::KeyOf(first), .end = crash_test::KeyOf(first + 999'999)});
      ASSERT_TRUE(rows.ok());
      if (rows->size() > acked.size()) ++committed_not_acknowledged;
      for (const Row& row : *rows) {
        const std::uint64_t n = std::stoull(row.key.substr(1));
        ASSERT_EQ(row.value, crash_test::ValueOf(n)) << row.key;
      }
      // Every so often, everything acknowledged so far is still there.
      if (iteration % 50 == 49 || iteration == iterations - 1) {
        for (std::uint64_t n : all_acked) {
          auto value = (*opened)->Get("kv", crash_test::KeyOf(n));
          ASSERT_TRUE(value.ok() && value->has_value()) << "key " << n << " vanished later";
        }
      }
    }
    EXPECT_EQ(killed_while_writing, iterations);
    std::printf(
        "%s: %d kills, %zu acknowledged writes all present, %d kills between a commit "
        "and its ack\n",
        mode.c_str(), killed_while_writing, all_acked.size(), committed_not_acknowledged);
  }

  std::string dir_;
};

TEST_F(StoreCrashTest, FullKeepsEveryAcknowledgedWriteAcross200Kills) { Run("full", 200); }

TEST_F(StoreCrashTest, NormalOpensCleanlyAfterKills) { Run("normal", 40); }

}  // namespace
}  // namespace embed::store
