#pragma once
// Test support: thread-safe recorders of what a Connection delivers to
// handlers and callbacks, with deadline-bounded waits (no sleeps).

#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <mutex>
#include <vector>

#include "embed/base/status.h"
#include "embed/client/connection.h"
#include "embed/client/connection_options.h"
#include "embed/client/message.h"

namespace embed::client::testing {

inline constexpr std::chrono::milliseconds kDefaultWait{5'000};

// Collects messages delivered to a handler; waits with deadlines.
class Collector {
 public:
  MessageHandler Handler() {
    return [this](const Message& message) {
      std::lock_guard<std::mutex> lock(mutex_);
      messages_.push_back(message);
      changed_.notify_all();
    };
  }
  bool WaitFor(std::size_t count, std::chrono::milliseconds timeout = kDefaultWait) {
    std::unique_lock<std::mutex> lock(mutex_);
    return changed_.wait_for(lock, timeout, [&] { return messages_.size() >= count; });
  }
  std::vector<Message> messages() {
    std::lock_guard<std::mutex> lock(mutex_);
    return messages_;
  }
  std::size_t size() {
    std::lock_guard<std::mutex> lock(mutex_);
    return messages_.size();
  }

 private:
  std::mutex mutex_;
  std::condition_variable changed_;
  std::vector<Message> messages_;
};

// Records connection events and errors; waits with deadlines.
class EventLog {
 public:
  void Attach(ConnectionOptions& options) {
    options.on_event = [this](ConnectionEvent event) {
      std::lock_guard<std::mutex> lock(mutex_);
      events_.push_back(event);
      changed_.notify_all();
    };
    options.on_error = [this](const Status& status) {
      std::lock_guard<std::mutex> lock(mutex_);
      errors_.push_back(status);
      changed_.notify_all();
    };
  }
  bool WaitForEvent(ConnectionEvent event, std::chrono::milliseconds timeout = kDefaultWait) {
    std::unique_lock<std::mutex> lock(mutex_);
    return changed_.wait_for(lock, timeout, [&] {
      for (ConnectionEvent seen : events_) {
        if (seen == event) return true;
      }
      return false;
    });
  }
  bool WaitForError(StatusCode code, std::chrono::milliseconds timeout = kDefaultWait) {
    std::unique_lock<std::mutex> lock(mutex_);
    return changed_.wait_for(lock, timeout, [&] {
      for (const Status& status : errors_) {
        if (status.code() == code) return true;
      }
      return false;
    });
  }
  std::vector<ConnectionEvent> events() {
    std::lock_guard<std::mutex> lock(mutex_);
    return events_;
  }

 private:
  std::mutex mutex_;
  std::condition_variable changed_;
  std::vector<ConnectionEvent> events_;
  std::vector<Status> errors_;
};

}  // namespace embed::client::testing
