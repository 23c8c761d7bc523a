#include "embed/net/io_thread_pool.h"

#include <algorithm>

namespace embed::net {

IoThreadPool::IoThreadPool(int threads) {
  std::size_t count = threads > 0 ? static_cast<std::size_t>(threads)
                                  : std::max(1u, std::thread::hardware_concurrency());
  for (std::size_t i = 0; i < count; ++i) {
    // Concurrency hint 1: each context is run by exactly one thread, so Asio
    // may skip internal locking of its scheduler.
    contexts_.push_back(std::make_unique<boost::asio::io_context>(1));
    guards_.emplace_back(boost::asio::make_work_guard(*contexts_.back()));
  }
}

IoThreadPool::~IoThreadPool() { Stop(); }

void IoThreadPool::Start() {
  for (auto& context : contexts_) {
    threads_.emplace_back([&context] {
      while (true) {
        try {
          context->run();
          return;
        } catch (...) {
          // A handler let an exception (bad_alloc) escape; Asio unwound only
          // that handler, so keep serving every other connection.
        }
      }
    });
  }
}

void IoThreadPool::Stop() {
  for (auto& guard : guards_) guard.reset();
  for (auto& context : contexts_) context->stop();
  for (auto& thread : threads_) {
    if (thread.joinable()) thread.join();
  }
  threads_.clear();
}

bool IoThreadPool::IsPoolThread() const {
  auto self = std::this_thread::get_id();
  return std::any_of(threads_.begin(), threads_.end(),
                     [self](const std::thread& thread) { return thread.get_id() == self; });
}

}  // namespace embed::net
