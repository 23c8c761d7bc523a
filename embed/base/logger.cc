#include "embed/base/logger.h"

#include <cstdio>
#include <mutex>

namespace embed {
namespace {
std::mutex& StderrMutex() {
  static std::mutex mutex;
  return mutex;
}
}  // namespace

void StderrLogger::Log(LogLevel level, std::string_view message) {
  if (!IsEnabled(level)) return;
  static constexpr const char* kNames[] = {"DEBUG", "INFO", "WARN", "ERROR"};
  std::lock_guard<std::mutex> lock(StderrMutex());
  std::fprintf(stderr, "[%s] %.*s\n", kNames[static_cast<int>(level)],
               static_cast<int>(message.size()), message.data());
}

}  // namespace embed
