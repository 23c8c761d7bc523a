#pragma once
// WorkerPool: runs tasks on threads it starts as the load needs them, up to a
// maximum, with a bounded queue. Handlers of a ServiceHost run here, so a
// handler that blocks (a stream waiting for flow-control credit) never blocks
// the connection's threads. Thread-safe.

#include <condition_variable>
#include <cstddef>
#include <deque>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

namespace embed::rpc::internal {

class WorkerPool {
 public:
  WorkerPool(std::size_t max_threads, std::size_t max_queued);
  ~WorkerPool();  // Shutdown()
  WorkerPool(const WorkerPool&) = delete;
  WorkerPool& operator=(const WorkerPool&) = delete;

  // Queues `task`; false when the queue is full or the pool is shut down.
  bool Submit(std::function<void()> task);
  // Runs the queued tasks, then joins the threads. Must not be called from a task.
  void Shutdown();
  std::size_t thread_count() const;
  bool is_shut_down() const;

 private:
  void Work();

  const std::size_t max_threads_;
  const std::size_t max_queued_;
  mutable std::mutex mutex_;
  std::condition_variable wake_;
  std::deque<std::function<void()>> queue_;
  std::vector<std::thread> threads_;
  std::size_t idle_ = 0;
  bool is_shut_down_ = false;
};

}  // namespace embed::rpc::internal
