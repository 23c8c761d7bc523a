#include "tools/embed/stop_signal.h"

#include <pthread.h>
#include <signal.h>

namespace embed::tools {
namespace {

sigset_t StopSignals() {
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  return signals;
}

}  // namespace

StopSignal::StopSignal() {
  const sigset_t signals = StopSignals();
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
  signal_thread_ = std::thread([this] { WaitForSignals(); });
}

StopSignal::~StopSignal() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    is_shutting_down_ = true;
  }
  // A thread-directed SIGTERM can only be taken by the signal thread's
  // sigwait(), which then sees is_shutting_down_ and returns.
  pthread_kill(signal_thread_.native_handle(), SIGTERM);
  signal_thread_.join();
}

void StopSignal::WaitForSignals() {
  const sigset_t signals = StopSignals();
  while (true) {
    int signal_number = 0;
    if (sigwait(&signals, &signal_number) != 0) continue;
    std::lock_guard<std::mutex> lock(mutex_);
    if (is_shutting_down_) return;
    if (!is_stopped_) {
      is_stopped_ = true;
      signal_number_ = signal_number;
    }
    changed_.notify_all();
  }
}

void StopSignal::Notify() {
  std::lock_guard<std::mutex> lock(mutex_);
  is_stopped_ = true;
  changed_.notify_all();
}

int StopSignal::Wait() {
  std::unique_lock<std::mutex> lock(mutex_);
  changed_.wait(lock, [this] { return is_stopped_; });
  return signal_number_;
}

std::optional<int> StopSignal::WaitUntil(std::chrono::steady_clock::time_point deadline) {
  std::unique_lock<std::mutex> lock(mutex_);
  if (!changed_.wait_until(lock, deadline, [this] { return is_stopped_; })) return std::nullopt;
  return signal_number_;
}

}  // namespace embed::tools
