#pragma once
// Logger: drivers log through an injected Logger; cores never log. There is no
// global logger. Implementations must be thread-safe. Text that came from a
// peer must go through EscapeForLog() first and never be a format string.

#include <string_view>

namespace embed {

enum class LogLevel { kDebug, kInfo, kWarning, kError };

class Logger {
 public:
  virtual ~Logger() = default;
  virtual void Log(LogLevel level, std::string_view message) = 0;
  // Lets callers skip building messages that would be dropped.
  virtual bool IsEnabled(LogLevel level) const { return level >= LogLevel::kInfo; }
};

// Discards everything.
class NullLogger final : public Logger {
 public:
  void Log(LogLevel, std::string_view) override {}
  bool IsEnabled(LogLevel) const override { return false; }
};

// Writes "LEVEL message" lines to stderr, serialised by a mutex.
class StderrLogger final : public Logger {
 public:
  explicit StderrLogger(LogLevel min_level = LogLevel::kInfo) : min_level_(min_level) {}
  void Log(LogLevel level, std::string_view message) override;
  bool IsEnabled(LogLevel level) const override { return level >= min_level_; }

 private:
  LogLevel min_level_;
};

}  // namespace embed
