#include "embed/net/inproc/pipe_stream.h"

#include <algorithm>
#include <cstring>
#include <mutex>
#include <optional>

#include <boost/asio/error.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/post.hpp>

#include "embed/net/layered_stream.h"
#include "embed/net/stream.h"

namespace embed::net {

static_assert(ByteStream<PipeStream>);
static_assert(CrossThreadSendable<PipeStream>);
static_assert(TrySendable<PipeStream>);

namespace internal {

// Like a socket's pending operation, a waiting handler keeps its io_context's
// run() from returning.
using WorkGuard = boost::asio::executor_work_guard<PipeStream::executor_type>;

// Bytes in flight in one direction: a ring that grows on demand up to the
// pipe's capacity. When it runs empty, an allocation above
// kMaxRetainedBytes is freed (a busy pipe keeps a small ring instead of
// allocating again for every batch; an idle one holds at most that much).
class ByteRing {
 public:
  // Smallest allocation; the ring doubles from here as needed.
  static constexpr std::size_t kMinAllocationBytes = 4096;
  static constexpr std::size_t kMaxRetainedBytes = PipeStream::kMaxIdleBufferBytes;

  std::size_t size() const { return size_; }
  std::size_t allocated_bytes() const { return allocated_; }

  // Appends up to `size` bytes without growing past `limit`; returns the count.
  std::size_t Append(const char* data, std::size_t size, std::size_t limit) {
    std::size_t count = std::min(size, limit > size_ ? limit - size_ : 0);
    if (count == 0) return 0;
    Reserve(size_ + count, limit);
    std::size_t tail = (head_ + size_) % allocated_;
    std::size_t first = std::min(count, allocated_ - tail);
    std::memcpy(data_.get() + tail, data, first);
    std::memcpy(data_.get(), data + first, count - first);
    size_ += count;
    return count;
  }

  // Moves up to `size` bytes out (see the class comment for freeing).
  std::size_t Take(char* out, std::size_t size) {
    std::size_t count = std::min(size, size_);
    if (count == 0) return 0;
    std::size_t first = std::min(count, allocated_ - head_);
    std::memcpy(out, data_.get() + head_, first);
    std::memcpy(out + first, data_.get(), count - first);
    head_ = (head_ + count) % allocated_;
    size_ -= count;
    if (size_ == 0) {
      head_ = 0;
      if (allocated_ > kMaxRetainedBytes) Release();
    }
    return count;
  }

  void Release() {
    data_.reset();
    allocated_ = 0;
    head_ = 0;
    size_ = 0;
  }

 private:
  void Reserve(std::size_t needed, std::size_t limit) {
    if (needed <= allocated_) return;
    std::size_t grown = std::max(kMinAllocationBytes, allocated_ * 2);
    while (grown < needed) grown *= 2;
    grown = std::min(grown, std::max(limit, needed));
    std::unique_ptr<char[]> bigger(new char[grown]);
    if (size_ > 0) {
      std::size_t first = std::min(size_, allocated_ - head_);
      std::memcpy(bigger.get(), data_.get() + head_, first);
      std::memcpy(bigger.get() + first, data_.get(), size_ - first);
    }
    data_ = std::move(bigger);
    allocated_ = grown;
    head_ = 0;
  }

  std::unique_ptr<char[]> data_;
  std::size_t allocated_ = 0;
  std::size_t head_ = 0;  // first unread byte
  std::size_t size_ = 0;
};

// A write waiting for room: the caller's buffers (valid until its handler
// runs) and how far they were copied.
struct PendingWrite {
  std::vector<boost::asio::const_buffer> parts;
  std::size_t part_index = 0;
  std::size_t part_offset = 0;
  std::size_t written = 0;
  PipeStream::WriteHandler handler;
  std::optional<WorkGuard> work;

  bool is_done() const { return part_index >= parts.size(); }
};

// Bytes flowing towards one end (its reader) from the other end (its writer).
struct Direction {
  ByteRing ring;
  std::optional<PendingWrite> write;    // the writer's AsyncWrite waiting for room
  PipeStream::WaitHandler reader_wait;  // the reader's AsyncWaitReadable
  std::optional<WorkGuard> reader_work;
};

struct PipeState {
  PipeState(boost::asio::io_context& context_a, boost::asio::io_context& context_b,
            std::size_t capacity)
      : capacity_bytes(std::max<std::size_t>(capacity, 1)),
        executors{context_a.get_executor(), context_b.get_executor()} {}

  const std::size_t capacity_bytes;
  const PipeStream::executor_type executors[2];
  std::mutex mutex;
  // Guarded by mutex.
  Direction towards[2];  // towards[i]: bytes end i reads
  bool is_closed[2] = {false, false};
};

}  // namespace internal

namespace {

using internal::Direction;
using internal::PendingWrite;
using internal::PipeState;
using internal::WorkGuard;

// Completions collected under the mutex and posted after it is released.
// Work guards are dropped only after the post, so run() never stops between.
struct Completions {
  struct Wait {
    PipeStream::executor_type executor;
    PipeStream::WaitHandler handler;
    boost::system::error_code error;
    std::optional<WorkGuard> work;
  };
  struct Write {
    PipeStream::executor_type executor;
    PipeStream::WriteHandler handler;
    boost::system::error_code error;
    std::size_t size;
    std::optional<WorkGuard> work;
  };
  std::vector<Wait> waits;
  std::vector<Write> writes;

  void Post() {
    for (Wait& wait : waits) {
      boost::asio::post(wait.executor, [handler = std::move(wait.handler), error = wait.error]() {
        handler(error);
      });
      wait.work.reset();
    }
    for (Write& write : writes) {
      boost::asio::post(write.executor,
                        [handler = std::move(write.handler), error = write.error,
                         size = write.size]() { handler(error, size); });
      write.work.reset();
    }
  }
};

// Copies as much of the pending write as fits into the ring (mutex held).
void FillFromPendingWrite(Direction& direction, std::size_t capacity) {
  PendingWrite& write = *direction.write;
  while (!write.is_done()) {
    const boost::asio::const_buffer& part = write.parts[write.part_index];
    std::size_t count =
        direction.ring.Append(static_cast<const char*>(part.data()) + write.part_offset,
                              part.size() - write.part_offset, capacity);
    if (count == 0) return;
    write.part_offset += count;
    write.written += count;
    if (write.part_offset == part.size()) {
      ++write.part_index;
      write.part_offset = 0;
    }
  }
}

// Wakes the reader of `direction` if it waits (mutex held).
void WakeReader(PipeState& state, int reader, Completions& completions) {
  Direction& direction = state.towards[reader];
  if (!direction.reader_wait) return;
  completions.waits.push_back({state.executors[reader], std::move(direction.reader_wait),
                               boost::system::error_code(), std::move(direction.reader_work)});
  direction.reader_wait = nullptr;
  direction.reader_work.reset();
}

}  // namespace

PipeStream::PipeStream(std::shared_ptr<internal::PipeState> state, int side)
    : state_(std::move(state)), side_(side) {}

PipeStream& PipeStream::operator=(PipeStream&& other) noexcept {
  if (this != &other) {
    Close();
    state_ = std::move(other.state_);
    side_ = other.side_;
  }
  return *this;
}

PipeStream::~PipeStream() { Close(); }

PipeStream::executor_type PipeStream::get_executor() const { return state_->executors[side_]; }

std::size_t PipeStream::ReadSome(boost::asio::mutable_buffer buffer,
                                 boost::system::error_code& error) {
  error = {};
  PipeState& state = *state_;
  Completions completions;
  std::size_t count = 0;
  {
    std::lock_guard<std::mutex> lock(state.mutex);
    Direction& direction = state.towards[side_];
    if (state.is_closed[side_]) {
      error = boost::asio::error::bad_descriptor;
      return 0;
    }
    count = direction.ring.Take(static_cast<char*>(buffer.data()), buffer.size());
    if (direction.write) {
      // Room was made: the waiting write moves on (and may finish).
      FillFromPendingWrite(direction, state.capacity_bytes);
      if (direction.write->is_done()) {
        completions.writes.push_back(
            {state.executors[1 - side_], std::move(direction.write->handler),
             boost::system::error_code(), direction.write->written,
             std::move(direction.write->work)});
        direction.write.reset();
      }
    }
    if (count == 0 && buffer.size() > 0) {
      if (state.is_closed[1 - side_]) {
        error = boost::asio::error::eof;
      } else {
        error = boost::asio::error::would_block;
      }
    }
  }
  completions.Post();
  return count;
}

void PipeStream::StartWait(WaitHandler handler) {
  PipeState& state = *state_;
  boost::system::error_code error;
  {
    std::lock_guard<std::mutex> lock(state.mutex);
    Direction& direction = state.towards[side_];
    if (state.is_closed[side_]) {
      error = boost::asio::error::bad_descriptor;
    } else if (direction.ring.size() == 0 && !direction.write && !state.is_closed[1 - side_]) {
      direction.reader_wait = std::move(handler);
      direction.reader_work.emplace(state.executors[side_]);
      return;
    }
  }
  boost::asio::post(state.executors[side_],
                    [handler = std::move(handler), error]() { handler(error); });
}

void PipeStream::StartWrite(std::vector<boost::asio::const_buffer> parts, WriteHandler handler) {
  PipeState& state = *state_;
  const int reader = 1 - side_;
  Completions completions;
  {
    std::lock_guard<std::mutex> lock(state.mutex);
    Direction& direction = state.towards[reader];
    boost::system::error_code error;
    if (state.is_closed[side_]) {
      error = boost::asio::error::bad_descriptor;
    } else if (state.is_closed[reader]) {
      error = boost::asio::error::broken_pipe;
    }
    if (error || direction.write) {
      // A second outstanding write breaks the contract; fail it rather than reorder.
      if (!error) error = boost::asio::error::in_progress;
      completions.writes.push_back({state.executors[side_], std::move(handler), error, 0, {}});
    } else {
      std::size_t before = direction.ring.size();
      direction.write.emplace();
      direction.write->parts = std::move(parts);
      direction.write->handler = std::move(handler);
      FillFromPendingWrite(direction, state.capacity_bytes);
      if (direction.write->is_done()) {
        completions.writes.push_back({state.executors[side_], std::move(direction.write->handler),
                                      boost::system::error_code(), direction.write->written, {}});
        direction.write.reset();
      } else {
        direction.write->work.emplace(state.executors[side_]);
      }
      if (direction.ring.size() > before) WakeReader(state, reader, completions);
    }
  }
  completions.Post();
}

std::size_t PipeStream::TrySendFromAnyThread(const char* data, std::size_t size,
                                             boost::system::error_code& error) {
  error = {};
  PipeState& state = *state_;
  const int reader = 1 - side_;
  Completions completions;
  std::size_t count = 0;
  {
    std::lock_guard<std::mutex> lock(state.mutex);
    Direction& direction = state.towards[reader];
    if (state.is_closed[side_]) {
      error = boost::asio::error::bad_descriptor;
      return 0;
    }
    if (state.is_closed[reader]) {
      error = boost::asio::error::broken_pipe;
      return 0;
    }
    if (!direction.write) count = direction.ring.Append(data, size, state.capacity_bytes);
    if (count == 0 && size > 0) {
      error = boost::asio::error::would_block;
      return 0;
    }
    WakeReader(state, reader, completions);
  }
  completions.Post();
  return count;
}

void PipeStream::Close() {
  if (!state_) return;
  PipeState& state = *state_;
  const int peer = 1 - side_;
  Completions completions;
  {
    std::lock_guard<std::mutex> lock(state.mutex);
    if (state.is_closed[side_]) return;
    state.is_closed[side_] = true;
    Direction& inbound = state.towards[side_];
    Direction& outbound = state.towards[peer];
    // This end's own pending operations.
    if (inbound.reader_wait) {
      completions.waits.push_back({state.executors[side_], std::move(inbound.reader_wait),
                                   boost::asio::error::operation_aborted,
                                   std::move(inbound.reader_work)});
      inbound.reader_wait = nullptr;
      inbound.reader_work.reset();
    }
    if (outbound.write) {
      completions.writes.push_back({state.executors[side_], std::move(outbound.write->handler),
                                    boost::asio::error::operation_aborted,
                                    outbound.write->written, std::move(outbound.write->work)});
      outbound.write.reset();
    }
    // Nobody reads what the peer sends any more.
    if (inbound.write) {
      completions.writes.push_back({state.executors[peer], std::move(inbound.write->handler),
                                    boost::asio::error::broken_pipe, inbound.write->written,
                                    std::move(inbound.write->work)});
      inbound.write.reset();
    }
    inbound.ring.Release();
    // The peer reads what is left, then eof.
    WakeReader(state, peer, completions);
  }
  completions.Post();
}

std::size_t PipeStream::buffered_bytes() const {
  std::lock_guard<std::mutex> lock(state_->mutex);
  return state_->towards[side_].ring.size();
}

std::size_t PipeStream::held_bytes() const {
  std::lock_guard<std::mutex> lock(state_->mutex);
  return state_->towards[0].ring.allocated_bytes() + state_->towards[1].ring.allocated_bytes();
}

std::pair<PipeStream, PipeStream> MakePipe(boost::asio::io_context& context_a,
                                           boost::asio::io_context& context_b,
                                           std::size_t capacity_bytes) {
  auto state = std::make_shared<internal::PipeState>(context_a, context_b, capacity_bytes);
  return {PipeStream(state, 0), PipeStream(state, 1)};
}

}  // namespace embed::net
