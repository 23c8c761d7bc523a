// The process the store crash test kills: writes to the database forever and
// prints "ack <key numbers...>" on stdout after each Commit (or Put) returns,
// so every acknowledged write was committed before the line left.
// Usage: store_crash_writer <db path> <full|normal> <first key number>

#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <string>

#include "embed/store/database.h"
#include "tests/integration/store_crash_common.h"

namespace {

using namespace embed::store;

void WriteLine(const std::string& line) {
  // One write(2) per line: a pipe write below PIPE_BUF is atomic, so a kill
  // never leaves half a line.
  const std::string text = line + "\n";
  if (::write(STDOUT_FILENO, text.data(), text.size()) != static_cast<ssize_t>(text.size())) {
    std::_Exit(3);
  }
}

int Fail(const embed::Status& status) {
  std::fprintf(stderr, "store_crash_writer: %s\n", status.ToString().c_str());
  return 2;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 4) {
    std::fprintf(stderr, "usage: store_crash_writer <db> <full|normal> <first>\n");
    return 2;
  }
  DatabaseOptions options;
  options.synchronous = std::string(argv[2]) == "full" ? Synchronous::kFull : Synchronous::kNormal;
  auto opened = Database::Open(argv[1], options);
  if (!opened.ok()) return Fail(opened.status());
  Database& db = **opened;
  auto migrated = db.Migrate({{1, {TableSpec{"kv", {{"by_n", {1}, FieldType::kUint64}}}}}});
  if (!migrated.ok()) return Fail(migrated.status());
  // A watcher, as apps have: the commit path records changes too.
  if (!db.Watch({"kv", "", true}, [](const Change&) {}).ok()) return 2;
  WriteLine("ready");
  std::uint64_t n = std::strtoull(argv[3], nullptr, 10);
  for (std::uint64_t round = 0;; ++round) {
    if (round % 4 == 3) {
      // A batch: all three keys or none.
      auto tx = db.Begin();
      if (!tx.ok()) return Fail(tx.status());
      std::string ack = "ack";
      for (int i = 0; i < 3; ++i, ++n) {
        auto put = tx->Put("kv", crash_test::KeyOf(n), crash_test::ValueOf(n));
        if (!put.ok()) return Fail(put);
        ack += " " + std::to_string(n);
      }
      auto committed = tx->Commit();
      if (!committed.ok()) return Fail(committed);
      WriteLine(ack);
    } else {
      auto put = db.Put("kv", crash_test::KeyOf(n), crash_test::ValueOf(n));
      if (!put.ok()) return Fail(put);
      WriteLine("ack " + std::to_string(n));
      ++n;
    }
  }
}
