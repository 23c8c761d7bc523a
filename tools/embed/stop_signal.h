#pragma once
// StopSignal: lets a long-running subcommand wait for SIGINT/SIGTERM or for
// its own work to finish, whichever comes first, without signal handlers.
// The constructor blocks SIGINT and SIGTERM in the calling thread, so build
// it in the main thread BEFORE any other thread starts (threads inherit the
// mask); a private thread then takes the signals with sigwait().
//
//   StopSignal stop;                      // first, before brokers/connections
//   auto broker = Broker::Start(options);
//   stop.Wait();                          // returns on SIGINT/SIGTERM or Notify()

#include <chrono>
#include <condition_variable>
#include <mutex>
#include <optional>
#include <thread>

namespace embed::tools {

class StopSignal {
 public:
  StopSignal();
  // Stops the signal thread. The signals stay blocked in this thread.
  ~StopSignal();

  StopSignal(const StopSignal&) = delete;
  StopSignal& operator=(const StopSignal&) = delete;

  // Wakes Wait() as if a stop was requested; `Wait()` then returns 0.
  // Thread-safe; may be called from any thread, any number of times.
  void Notify();

  // Blocks until a signal arrives (returns its number) or Notify() was called
  // (returns 0). Returns at once if either happened before.
  int Wait();

  // Like Wait(), but gives up at `deadline` and returns std::nullopt.
  std::optional<int> WaitUntil(std::chrono::steady_clock::time_point deadline);

 private:
  void WaitForSignals();

  std::mutex mutex_;
  std::condition_variable changed_;
  bool is_stopped_ = false;  // a signal or Notify() arrived
  int signal_number_ = 0;
  bool is_shutting_down_ = false;
  std::thread signal_thread_;
};

}  // namespace embed::tools
