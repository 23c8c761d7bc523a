#include "embed/rpc/internal/worker_pool.h"

#include <algorithm>

namespace embed::rpc::internal {

WorkerPool::WorkerPool(std::size_t max_threads, std::size_t max_queued)
    : max_threads_(std::max<std::size_t>(1, max_threads)), max_queued_(max_queued) {}

WorkerPool::~WorkerPool() { Shutdown(); }

bool WorkerPool::Submit(std::function<void()> task) {
  std::lock_guard lock(mutex_);
  if (is_shut_down_) return false;
  // Waiting tasks beyond the idle threads that will take them.
  std::size_t waiting = queue_.size() >= idle_ ? queue_.size() - idle_ : 0;
  if (waiting >= max_queued_ && threads_.size() >= max_threads_) return false;
  queue_.push_back(std::move(task));
  if (queue_.size() > idle_ && threads_.size() < max_threads_) {
    threads_.emplace_back([this] { Work(); });
  } else {
    wake_.notify_one();
  }
  return true;
}

void WorkerPool::Shutdown() {
  std::vector<std::thread> threads;
  {
    std::lock_guard lock(mutex_);
    is_shut_down_ = true;
    threads.swap(threads_);
  }
  wake_.notify_all();
  for (std::thread& thread : threads) thread.join();
}

bool WorkerPool::is_shut_down() const {
  std::lock_guard lock(mutex_);
  return is_shut_down_;
}

std::size_t WorkerPool::thread_count() const {
  std::lock_guard lock(mutex_);
  return threads_.size();
}

void WorkerPool::Work() {
  std::unique_lock lock(mutex_);
  while (true) {
    if (queue_.empty()) {
      if (is_shut_down_) return;
      ++idle_;
      wake_.wait(lock, [this] { return !queue_.empty() || is_shut_down_; });
      --idle_;
      continue;
    }
    std::function<void()> task = std::move(queue_.front());
    queue_.pop_front();
    lock.unlock();
    try {
      task();
    } catch (...) {
      // Tasks catch their handlers' exceptions; this keeps the thread alive
      // should one slip through.
    }
    lock.lock();
  }
}

}  // namespace embed::rpc::internal
