#pragma once
// IoThreadPool: N threads, each running its own io_context. Work given to one
// context runs on exactly one thread, so state owned by that thread needs no
// lock. Start()/Stop() are called by the owner; context() is thread-safe.

#include <cstddef>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>

namespace embed::net {

class IoThreadPool {
 public:
  // `threads` <= 0 means one per hardware core.
  explicit IoThreadPool(int threads);
  ~IoThreadPool();
  IoThreadPool(const IoThreadPool&) = delete;
  IoThreadPool& operator=(const IoThreadPool&) = delete;

  std::size_t size() const { return contexts_.size(); }
  boost::asio::io_context& context(std::size_t index) { return *contexts_[index]; }

  // Starts one thread per context. Call once.
  void Start();
  // Stops every context (pending handlers are not run) and joins the
  // threads. Idempotent. Must not be called from a pool thread.
  void Stop();
  // True when the calling thread is one of the pool's threads.
  bool IsPoolThread() const;

 private:
  using WorkGuard = boost::asio::executor_work_guard<boost::asio::io_context::executor_type>;
  std::vector<std::unique_ptr<boost::asio::io_context>> contexts_;
  std::vector<std::optional<WorkGuard>> guards_;
  std::vector<std::thread> threads_;
};

}  // namespace embed::net
