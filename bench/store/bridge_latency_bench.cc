// Latency from a store commit to its ChangeEvent reaching the app's event
// callback, through the C ABI (embed/c_api/embed.h) only.
//
// Opens a handle, sets an event callback, opens a database (a temporary file,
// synchronous NORMAL; --full: FULL), declares a table, watches it, then puts
// rows with embed_call_sync. Each ChangeEvent carries commit_unix_nanos (the
// wall clock at the commit); the callback reads CLOCK_REALTIME on entry, and
// the difference is the latency. Two ways of writing:
//   back to back   each put waits for its Response only (an app writing in a
//                  loop); the event thread may still be busy with earlier events;
//   one at a time  each put also waits for its event before the next starts
//                  (the event thread is idle when the change comes).
// Reports p50 / p99 / max per way (medians over --runs fresh handles and
// databases) and the puts/s of the back-to-back loop, then a JSON line for
// bench/store_run.py. Target: p99 < 1 ms.
//
//   embed_bridge_latency_bench [--runs 5] [--puts 10000] [--warmup 500] [--full]
//                              [--dir /tmp] [--smoke]
#include <time.h>

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <cstdio>
#include <mutex>
#include <string>
#include <vector>

#include "bench/store/store_bench.h"
#include "embed/c_api/embed.h"
#include "embed/v1/bridge.pb.h"

namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;
using embed::bench::Fail;

constexpr std::uint64_t kStoreId = 1;
constexpr std::uint64_t kWatchId = 3;
constexpr char kTable[] = "bench";

struct Config {
  int runs = 5;
  int puts = 10'000;  // measured per way of writing
  int warmup = 500;   // puts before the measured ones, not counted
  bool full = false;
  std::string dir;
};

// What the event callback records; shared with the thread that puts.
struct Latencies {
  std::mutex mutex;
  std::condition_variable changed;
  std::vector<std::int64_t> nanos;  // one per ChangeEvent, in order
  std::string error;                // the first thing that went wrong in the callback
};

std::int64_t RealtimeNanos() {
  timespec now{};
  clock_gettime(CLOCK_REALTIME, &now);
  return static_cast<std::int64_t>(now.tv_sec) * 1'000'000'000 + now.tv_nsec;
}

void OnEvent(void* user_data, const std::uint8_t* bytes, std::size_t length) {
  std::int64_t received = RealtimeNanos();  // first: the event has reached the app
  auto* latencies = static_cast<Latencies*>(user_data);
  embed::v1::Event event;
  bool parsed = event.ParseFromArray(bytes, static_cast<int>(length));
  std::lock_guard<std::mutex> lock(latencies->mutex);
  if (!parsed) {
    if (latencies->error.empty()) latencies->error = "an event that does not parse";
  } else if (event.has_change() && event.change().watch_id() == kWatchId) {
    if (event.change().commit_unix_nanos() == 0 && latencies->error.empty()) {
      latencies->error = "a ChangeEvent without commit_unix_nanos";
    }
    latencies->nanos.push_back(received - event.change().commit_unix_nanos());
    latencies->changed.notify_all();
  } else if (event.has_dropped()) {
    latencies->error = "events dropped: " + std::to_string(event.dropped().events());
  }
}

// One handle with a database and a watch on its table.
class Bridge {
 public:
  Bridge(const std::string& path, bool full, Latencies* latencies) {
    embed_error_t* error = nullptr;
    if (embed_open(nullptr, 0, &handle_, &error) != EMBED_OK) Fail("embed_open: " + Take(error));
    if (embed_set_event_callback(handle_, OnEvent, latencies, &error) != EMBED_OK) {
      Fail("embed_set_event_callback: " + Take(error));
    }
    embed::v1::Request request;
    request.set_id(kStoreId);
    request.mutable_store_open()->set_path(path);
    request.mutable_store_open()->set_synchronous(full ? embed::v1::SYNCHRONOUS_FULL
                                                       : embed::v1::SYNCHRONOUS_NORMAL);
    CallSync(request, "store_open");

    request.Clear();
    request.set_id(2);
    auto* migrate = request.mutable_store_migrate();
    migrate->set_store(kStoreId);
    auto* migration = migrate->add_migrations();
    migration->set_version(1);
    migration->add_changes()->mutable_create_table()->set_name(kTable);
    CallSync(request, "store_migrate");

    request.Clear();
    request.set_id(kWatchId);
    request.mutable_store_watch()->set_store(kStoreId);
    request.mutable_store_watch()->set_table(kTable);
    CallSync(request, "store_watch");

    put_.mutable_store_put()->set_store(kStoreId);
    put_.mutable_store_put()->set_table(kTable);
  }
  ~Bridge() {
    embed_close(handle_);
    embed_free(handle_);
  }
  Bridge(const Bridge&) = delete;
  Bridge& operator=(const Bridge&) = delete;

  // Puts row `row` (a new key) and waits for the Response.
  void Put(std::uint64_t row) {
    embed::bench::MakeKey(row, *put_.mutable_store_put()->mutable_key());
    embed::bench::MakeValue(row, *put_.mutable_store_put()->mutable_value());
    put_.set_id(100 + row);
    CallSync(put_, "store_put");
  }

 private:
  static std::string Take(embed_error_t* error) {
    std::string text = error != nullptr ? embed_error_message(error) : "(no error object)";
    embed_error_free(error);
    return text;
  }

  void CallSync(const embed::v1::Request& request, const char* what) {
    request.SerializeToString(&buffer_);
    std::uint8_t* bytes = nullptr;
    std::size_t length = 0;
    embed_error_t* error = nullptr;
    if (embed_call_sync(handle_, reinterpret_cast<const std::uint8_t*>(buffer_.data()),
                        buffer_.size(), &bytes, &length, &error) != EMBED_OK) {
      Fail(std::string(what) + ": embed_call_sync: " + Take(error));
    }
    bool parsed = response_.ParseFromArray(bytes, static_cast<int>(length));
    embed_bytes_free(bytes);
    if (!parsed) Fail(std::string(what) + ": the response does not parse");
    if (response_.status().code() != embed::v1::OK) {
      Fail(std::string(what) + ": status " + std::to_string(response_.status().code()) + " " +
           response_.status().message());
    }
  }

  embed_t* handle_ = nullptr;
  embed::v1::Request put_;
  embed::v1::Response response_;
  std::string buffer_;
};

// Waits until `count` ChangeEvents have arrived; fails after 30 s or on an error.
void WaitForChanges(Latencies& latencies, std::size_t count) {
  std::unique_lock<std::mutex> lock(latencies.mutex);
  if (!latencies.changed.wait_for(
          lock, 30s, [&] { return latencies.nanos.size() >= count || !latencies.error.empty(); })) {
    Fail("only " + std::to_string(latencies.nanos.size()) + " of " + std::to_string(count) +
         " ChangeEvents arrived within 30 s");
  }
  if (!latencies.error.empty()) Fail("event callback: " + latencies.error);
}

struct Percentiles {
  double p50_us = 0;
  double p99_us = 0;
  double max_us = 0;
  double over_1ms_percent = 0;  // share of events later than 1 ms
};

// Of the latencies from index `first` on.
Percentiles Summarize(Latencies& latencies, std::size_t first) {
  std::lock_guard<std::mutex> lock(latencies.mutex);
  std::vector<double> micros;
  for (std::size_t i = first; i < latencies.nanos.size(); ++i) {
    micros.push_back(static_cast<double>(latencies.nanos[i]) / 1e3);
  }
  Percentiles result;
  result.p50_us = embed::bench::Percentile(micros, 0.5);
  result.p99_us = embed::bench::Percentile(micros, 0.99);
  result.max_us = embed::bench::Percentile(micros, 1.0);
  if (!micros.empty()) {
    auto late = std::count_if(micros.begin(), micros.end(), [](double us) { return us > 1000; });
    result.over_1ms_percent =
        100.0 * static_cast<double>(late) / static_cast<double>(micros.size());
  }
  return result;
}

}  // namespace

int main(int argc, char** argv) {
  GOOGLE_PROTOBUF_VERIFY_VERSION;
  embed::bench::Flags flags(argc, argv);
  flags.CheckKnown({"runs", "puts", "warmup", "full", "dir", "smoke"});
  Config config;
  if (flags.Has("smoke")) config = Config{1, 200, 20, false, ""};
  config.runs = flags.GetInt("runs", config.runs);
  config.puts = flags.GetInt("puts", config.puts);
  config.warmup = flags.GetInt("warmup", config.warmup);
  config.full = flags.Has("full");
  config.dir = flags.Get("dir");
  if (config.runs < 1 || config.puts < 1 || config.warmup < 0) Fail("bad flag value");

  embed::bench::TempDir dir(config.dir);
  const char* synchronous = config.full ? "FULL" : "NORMAL";
  std::fprintf(stderr,
               "commit -> callback through the C ABI (libembed %s): synchronous=%s, "
               "%d run(s) of %d puts per way, in %s\n",
               embed_version(), synchronous, config.runs, config.puts, dir.path().c_str());

  embed::bench::Samples samples;
  const auto puts = static_cast<std::uint64_t>(config.puts);
  const auto warmup = static_cast<std::uint64_t>(config.warmup);
  for (int run = 0; run < config.runs; ++run) {
    std::string path = dir.path() + "/bridge-" + std::to_string(run) + ".db";
    Latencies latencies;
    latencies.nanos.reserve(static_cast<std::size_t>(warmup + 2 * puts));
    {
      Bridge bridge(path, config.full, &latencies);
      std::uint64_t row = 0;
      for (; row < warmup; ++row) bridge.Put(row);
      WaitForChanges(latencies, warmup);

      auto started = Clock::now();
      for (std::uint64_t i = 0; i < puts; ++i) bridge.Put(row++);
      double seconds = std::chrono::duration<double>(Clock::now() - started).count();
      WaitForChanges(latencies, warmup + puts);
      Percentiles back_to_back = Summarize(latencies, warmup);

      for (std::uint64_t i = 0; i < puts; ++i) {
        bridge.Put(row++);
        WaitForChanges(latencies, warmup + puts + i + 1);
      }
      Percentiles one_at_a_time = Summarize(latencies, warmup + puts);

      samples.Add("abi_puts_per_s", static_cast<double>(puts) / seconds);
      samples.Add("p50_us", back_to_back.p50_us);
      samples.Add("p99_us", back_to_back.p99_us);
      samples.Add("max_us", back_to_back.max_us);
      samples.Add("over_1ms_percent", back_to_back.over_1ms_percent);
      samples.Add("paced_p50_us", one_at_a_time.p50_us);
      samples.Add("paced_p99_us", one_at_a_time.p99_us);
      samples.Add("paced_max_us", one_at_a_time.max_us);
      samples.Add("paced_over_1ms_percent", one_at_a_time.over_1ms_percent);
      std::fprintf(stderr,
                   "run %d/%d back to back: p50 %.1f p99 %.1f max %.1f us, %.2f%% > 1 ms "
                   "(%.0f puts/s); one at a time: p50 %.1f p99 %.1f max %.1f us, %.2f%% > 1 ms\n",
                   run + 1, config.runs, back_to_back.p50_us, back_to_back.p99_us,
                   back_to_back.max_us, back_to_back.over_1ms_percent,
                   static_cast<double>(puts) / seconds, one_at_a_time.p50_us, one_at_a_time.p99_us,
                   one_at_a_time.max_us, one_at_a_time.over_1ms_percent);
    }
    embed::bench::TempDir::RemoveDatabase(path);
  }

  std::printf("medians of %d run(s) of %d puts per way; synchronous=%s; target p99 < 1000 us\n\n",
              config.runs, config.puts, synchronous);
  std::printf(
      "| commit -> callback | p50 us | p99 us | max us | > 1 ms | met |\n"
      "|---|---:|---:|---:|---:|---|\n");
  for (const char* way : {"back to back", "one at a time"}) {
    std::string prefix = std::string(way) == "back to back" ? "" : "paced_";
    double p99 = samples.MedianOf(prefix + "p99_us");
    std::printf("| %s | %.1f | %.1f | %.1f | %.2f %% | %s |\n", way,
                samples.MedianOf(prefix + "p50_us"), p99, samples.MedianOf(prefix + "max_us"),
                samples.MedianOf(prefix + "over_1ms_percent"), p99 < 1000 ? "yes" : "no");
  }
  std::printf("puts/s through embed_call_sync, back to back: %.0f\n",
              samples.MedianOf("abi_puts_per_s"));
  samples.PrintJson({std::string("\"synchronous\": \"") + synchronous + "\"",
                     "\"puts\": " + std::to_string(config.puts),
                     "\"smoke\": " + std::string(flags.Has("smoke") ? "true" : "false")});
  return 0;
}
