#include "embed/net/inproc/pipe_stream.h"

#include <atomic>
#include <chrono>
#include <cstdint>
#include <future>
#include <memory>
#include <optional>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include <boost/asio/error.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <gtest/gtest.h>

namespace embed::net {
namespace {

using boost::system::error_code;
namespace error = boost::asio::error;

constexpr std::size_t kKiB = 1024;
constexpr std::size_t kMiB = 1024 * 1024;

// The byte at stream position `position`: a mix, so a lost, repeated or
// reordered chunk shows at once.
char PatternByte(std::uint64_t position) {
  return static_cast<char>((position * 0x9E3779B97F4A7C15ull) >> 56);
}

// Runs an io_context on its own thread until destroyed.
class ContextThread {
 public:
  ContextThread() : guard_(context_.get_executor()), thread_([this] { context_.run(); }) {}
  ~ContextThread() {
    guard_.reset();
    thread_.join();
  }
  boost::asio::io_context& context() { return context_; }

 private:
  boost::asio::io_context context_;
  boost::asio::executor_work_guard<boost::asio::io_context::executor_type> guard_;
  std::thread thread_;
};

// Reads everything until eof on the end's executor, checking the pattern.
struct PatternReader : std::enable_shared_from_this<PatternReader> {
  PatternReader(PipeStream& pipe_end, std::uint64_t seed) : stream(pipe_end), random(seed) {}

  void Wait() {
    stream.AsyncWaitReadable([self = shared_from_this()](error_code wait_error) {
      self->OnReadable(wait_error);
    });
  }

  void OnReadable(error_code wait_error) {
    if (wait_error) return Finish(wait_error);
    std::uniform_int_distribution<std::size_t> sizes(1, 96 * kKiB);
    while (true) {
      std::size_t size = sizes(random);
      buffer.resize(size);
      error_code read_error;
      std::size_t count = stream.ReadSome(boost::asio::buffer(buffer.data(), size), read_error);
      if (read_error == error::would_block) return Wait();
      if (read_error) return Finish(read_error);
      for (std::size_t i = 0; i < count; ++i) {
        if (buffer[i] != PatternByte(received + i)) {
          ++mismatches;
        }
      }
      received += count;
    }
  }

  void Finish(error_code final_error) { done.set_value(final_error); }

  PipeStream& stream;
  std::mt19937_64 random;
  std::string buffer;
  std::uint64_t received = 0;
  std::uint64_t mismatches = 0;
  std::promise<error_code> done;
};

// Writes `total` pattern bytes in random chunks with AsyncWrite, then closes.
struct PatternWriter : std::enable_shared_from_this<PatternWriter> {
  PatternWriter(PipeStream& pipe_end, std::uint64_t total_bytes, std::uint64_t seed)
      : stream(pipe_end), total(total_bytes), random(seed) {}

  void WriteNext() {
    if (sent == total) {
      stream.Close();
      done.set_value({});
      return;
    }
    std::uniform_int_distribution<std::size_t> sizes(1, 300 * kKiB);
    std::size_t size = static_cast<std::size_t>(std::min<std::uint64_t>(sizes(random), total - sent));
    chunk.resize(size);
    for (std::size_t i = 0; i < size; ++i) chunk[i] = PatternByte(sent + i);
    // Two buffers: a gathered write must keep their order too.
    std::size_t split = size / 3;
    std::vector<boost::asio::const_buffer> parts{boost::asio::buffer(chunk.data(), split),
                                                 boost::asio::buffer(chunk.data() + split,
                                                                     size - split)};
    stream.AsyncWrite(parts, [self = shared_from_this(), size](error_code write_error,
                                                               std::size_t written) {
      if (write_error || written != size) {
        self->done.set_value(write_error ? write_error : error::fault);
        return;
      }
      self->sent += written;
      self->WriteNext();
    });
  }

  PipeStream& stream;
  std::uint64_t total;
  std::mt19937_64 random;
  std::string chunk;
  std::uint64_t sent = 0;
  std::promise<error_code> done;
};

void RunTransfer(std::size_t capacity_bytes, std::uint64_t total_bytes) {
  ContextThread writer_thread;
  ContextThread reader_thread;
  auto [writer_end, reader_end] =
      MakePipe(writer_thread.context(), reader_thread.context(), capacity_bytes);
  auto reader = std::make_shared<PatternReader>(reader_end, 7);
  auto writer = std::make_shared<PatternWriter>(writer_end, total_bytes, 11);
  auto reader_done = reader->done.get_future();
  auto writer_done = writer->done.get_future();
  boost::asio::post(reader_thread.context(), [reader] { reader->Wait(); });
  boost::asio::post(writer_thread.context(), [writer] { writer->WriteNext(); });
  ASSERT_EQ(writer_done.wait_for(std::chrono::seconds(30)), std::future_status::ready);
  ASSERT_EQ(reader_done.wait_for(std::chrono::seconds(30)), std::future_status::ready);
  EXPECT_EQ(writer_done.get(), error_code());
  EXPECT_EQ(reader_done.get(), error_code(error::eof));
  EXPECT_EQ(reader->received, total_bytes);
  EXPECT_EQ(reader->mismatches, 0u);
  // Drained: the pipe holds at most a small buffer per direction.
  std::promise<std::size_t> held;
  boost::asio::post(reader_thread.context(), [&] { held.set_value(reader_end.held_bytes()); });
  EXPECT_LE(held.get_future().get(), 2 * PipeStream::kMaxIdleBufferBytes);
  // Close on the owning threads before the contexts stop.
  std::promise<void> closed;
  boost::asio::post(reader_thread.context(), [&] {
    reader_end.Close();
    closed.set_value();
  });
  closed.get_future().wait();
}

TEST(PipeStreamTest, KeepsOrderAndBytesOf64MiBAcrossThreads) { RunTransfer(1 * kMiB, 64 * kMiB); }

TEST(PipeStreamTest, KeepsOrderWithSmallCapacity) { RunTransfer(4 * kKiB + 3, 8 * kMiB); }

TEST(PipeStreamTest, TrySendFromAnyThreadKeepsOrder) {
  ContextThread reader_thread;
  boost::asio::io_context writer_context;
  auto [writer_end, reader_end] = MakePipe(writer_context, reader_thread.context(), 64 * kKiB);
  auto reader = std::make_shared<PatternReader>(reader_end, 3);
  auto reader_done = reader->done.get_future();
  boost::asio::post(reader_thread.context(), [reader] { reader->Wait(); });
  constexpr std::uint64_t kTotal = 16 * kMiB;
  std::mt19937_64 random(5);
  std::uniform_int_distribution<std::size_t> sizes(1, 20 * kKiB);
  std::string chunk;
  std::uint64_t sent = 0;
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  while (sent < kTotal && std::chrono::steady_clock::now() < deadline) {
    std::size_t size = static_cast<std::size_t>(std::min<std::uint64_t>(sizes(random), kTotal - sent));
    chunk.resize(size);
    for (std::size_t i = 0; i < size; ++i) chunk[i] = PatternByte(sent + i);
    error_code send_error;
    std::size_t count = writer_end.TrySendFromAnyThread(chunk.data(), size, send_error);
    if (send_error == error::would_block) {
      EXPECT_EQ(count, 0u);
      std::this_thread::yield();
      continue;
    }
    ASSERT_FALSE(send_error);
    ASSERT_LE(count, size);
    ASSERT_GT(count, 0u);
    sent += count;
  }
  ASSERT_EQ(sent, kTotal);
  writer_end.Close();
  ASSERT_EQ(reader_done.wait_for(std::chrono::seconds(30)), std::future_status::ready);
  EXPECT_EQ(reader_done.get(), error_code(error::eof));
  EXPECT_EQ(reader->received, kTotal);
  EXPECT_EQ(reader->mismatches, 0u);
  std::promise<void> closed;
  boost::asio::post(reader_thread.context(), [&] {
    reader_end.Close();
    closed.set_value();
  });
  closed.get_future().wait();
}

TEST(PipeStreamTest, WriterWaitsWhileReaderDoesNotReadAndMemoryStaysBounded) {
  boost::asio::io_context context;
  constexpr std::size_t kCapacity = 64 * kKiB;
  auto [writer, reader] = MakePipe(context, context, kCapacity);
  EXPECT_EQ(writer.held_bytes(), 0u);
  std::string big(1 * kMiB, 'x');
  std::optional<std::pair<error_code, std::size_t>> result;
  writer.AsyncWrite(boost::asio::buffer(big), [&](error_code write_error, std::size_t written) {
    result.emplace(write_error, written);
  });
  context.run_for(std::chrono::milliseconds(50));
  context.restart();
  EXPECT_FALSE(result.has_value()) << "the write completed although nobody read";
  EXPECT_EQ(reader.buffered_bytes(), kCapacity);
  EXPECT_LE(writer.held_bytes(), kCapacity);
  // Another sender may not jump ahead of the waiting write.
  error_code send_error;
  EXPECT_EQ(writer.TrySendFromAnyThread("y", 1, send_error), 0u);
  EXPECT_EQ(send_error, error::would_block);

  // Read a little: the write moves on but stays bounded.
  std::string out(1000, '\0');
  error_code read_error;
  EXPECT_EQ(reader.ReadSome(boost::asio::buffer(out), read_error), 1000u);
  EXPECT_FALSE(read_error);
  EXPECT_EQ(reader.buffered_bytes(), kCapacity);
  EXPECT_LE(writer.held_bytes(), kCapacity);
  context.poll();
  context.restart();
  EXPECT_FALSE(result.has_value());

  // Read everything: the write completes with every byte.
  std::size_t total = 1000;
  while (true) {
    std::size_t count = reader.ReadSome(boost::asio::buffer(out), read_error);
    if (read_error) break;
    EXPECT_LE(writer.held_bytes(), kCapacity);
    total += count;
  }
  EXPECT_EQ(read_error, error::would_block);
  EXPECT_EQ(total, big.size());
  context.poll();
  ASSERT_TRUE(result.has_value());
  EXPECT_FALSE(result->first);
  EXPECT_EQ(result->second, big.size());
  EXPECT_LE(writer.held_bytes(), 2 * PipeStream::kMaxIdleBufferBytes)
      << "an idle pipe must release its large buffers";
}

TEST(PipeStreamTest, TrySendTakesWhatFitsThenWouldBlock) {
  boost::asio::io_context context;
  auto [writer, reader] = MakePipe(context, context, 10);
  error_code send_error;
  EXPECT_EQ(writer.TrySendNow("0123456", 7, send_error), 7u);
  EXPECT_FALSE(send_error);
  EXPECT_EQ(writer.TrySendNow("789abc", 6, send_error), 3u);
  EXPECT_FALSE(send_error);
  EXPECT_EQ(writer.TrySendNow("x", 1, send_error), 0u);
  EXPECT_EQ(send_error, error::would_block);
  char out[32];
  error_code read_error;
  std::size_t count = reader.ReadSome(boost::asio::buffer(out), read_error);
  EXPECT_EQ(std::string(out, count), "0123456789");
}

TEST(PipeStreamTest, ReadSomeNeverBlocksAndWaitCompletesWhenDataArrives) {
  boost::asio::io_context context;
  auto [a, b] = MakePipe(context, context);
  char out[16];
  error_code read_error;
  EXPECT_EQ(b.ReadSome(boost::asio::buffer(out), read_error), 0u);
  EXPECT_EQ(read_error, error::would_block);
  std::optional<error_code> waited;
  b.AsyncWaitReadable([&](error_code wait_error) { waited = wait_error; });
  context.poll();
  context.restart();
  EXPECT_FALSE(waited.has_value());
  bool written = false;
  a.AsyncWrite(boost::asio::buffer("ping", 4), [&](error_code write_error, std::size_t size) {
    EXPECT_FALSE(write_error);
    EXPECT_EQ(size, 4u);
    written = true;
  });
  EXPECT_FALSE(waited.has_value()) << "handlers must be posted, not run inline";
  context.poll();
  EXPECT_TRUE(written);
  ASSERT_TRUE(waited.has_value());
  EXPECT_FALSE(*waited);
  EXPECT_EQ(b.ReadSome(boost::asio::buffer(out), read_error), 4u);
  EXPECT_EQ(std::string(out, 4), "ping");
  EXPECT_EQ(b.remote_address(), "inproc");
}

TEST(PipeStreamTest, PendingWaitKeepsRunFromReturningLikeASocket) {
  boost::asio::io_context reader_context;
  boost::asio::io_context writer_context;
  auto [writer, reader] = MakePipe(writer_context, reader_context);
  std::atomic<bool> handled{false};
  reader.AsyncWaitReadable([&](error_code wait_error) {
    EXPECT_FALSE(wait_error);
    handled = true;
  });
  std::atomic<bool> run_returned{false};
  std::thread runner([&] {
    reader_context.run();
    run_returned = true;
  });
  std::this_thread::sleep_for(std::chrono::milliseconds(30));
  EXPECT_FALSE(run_returned) << "run() returned while a wait was pending";
  error_code send_error;
  EXPECT_EQ(writer.TrySendFromAnyThread("x", 1, send_error), 1u);
  runner.join();  // returns once the handler ran: no work left
  EXPECT_TRUE(handled);
  EXPECT_TRUE(run_returned);
}

TEST(PipeStreamTest, EofAfterPeerClosedAndDataDrained) {
  boost::asio::io_context context;
  auto [a, b] = MakePipe(context, context);
  std::optional<error_code> waited;
  b.AsyncWaitReadable([&](error_code wait_error) { waited = wait_error; });
  error_code send_error;
  ASSERT_EQ(a.TrySendNow("hello", 5, send_error), 5u);
  a.Close();
  a.Close();  // idempotent
  context.poll();
  ASSERT_TRUE(waited.has_value());
  EXPECT_FALSE(*waited);
  char out[3];
  error_code read_error;
  EXPECT_EQ(b.ReadSome(boost::asio::buffer(out), read_error), 3u);
  EXPECT_FALSE(read_error);
  EXPECT_EQ(b.ReadSome(boost::asio::buffer(out), read_error), 2u);
  EXPECT_FALSE(read_error);
  EXPECT_EQ(b.ReadSome(boost::asio::buffer(out), read_error), 0u);
  EXPECT_EQ(read_error, error::eof);
  // A wait after the peer closed completes at once; writes fail.
  waited.reset();
  b.AsyncWaitReadable([&](error_code wait_error) { waited = wait_error; });
  std::optional<error_code> write_result;
  b.AsyncWrite(boost::asio::buffer("x", 1),
               [&](error_code write_error, std::size_t) { write_result = write_error; });
  context.restart();
  context.poll();
  ASSERT_TRUE(waited.has_value());
  EXPECT_FALSE(*waited);
  ASSERT_TRUE(write_result.has_value());
  EXPECT_EQ(*write_result, error::broken_pipe);
  EXPECT_EQ(b.TrySendNow("x", 1, send_error), 0u);
  EXPECT_EQ(send_error, error::broken_pipe);
}

TEST(PipeStreamTest, CloseAbortsPendingOperations) {
  boost::asio::io_context context;
  auto [a, b] = MakePipe(context, context, 8);
  std::optional<error_code> waited;
  a.AsyncWaitReadable([&](error_code wait_error) { waited = wait_error; });
  std::optional<std::pair<error_code, std::size_t>> written;
  std::string data(20, 'z');
  a.AsyncWrite(boost::asio::buffer(data), [&](error_code write_error, std::size_t size) {
    written.emplace(write_error, size);
  });
  context.poll();
  context.restart();
  EXPECT_FALSE(waited.has_value());
  EXPECT_FALSE(written.has_value());
  a.Close();
  context.poll();
  context.restart();
  ASSERT_TRUE(waited.has_value());
  EXPECT_EQ(*waited, error::operation_aborted);
  ASSERT_TRUE(written.has_value());
  EXPECT_EQ(written->first, error::operation_aborted);
  EXPECT_EQ(written->second, 8u);  // what was buffered before the close
  // The peer still reads the 8 buffered bytes, then eof.
  char out[32];
  error_code read_error;
  EXPECT_EQ(b.ReadSome(boost::asio::buffer(out), read_error), 8u);
  EXPECT_EQ(b.ReadSome(boost::asio::buffer(out), read_error), 0u);
  EXPECT_EQ(read_error, error::eof);
  // Operations on a closed end fail.
  EXPECT_EQ(a.ReadSome(boost::asio::buffer(out), read_error), 0u);
  EXPECT_EQ(read_error, error::bad_descriptor);
  waited.reset();
  a.AsyncWaitReadable([&](error_code wait_error) { waited = wait_error; });
  context.poll();
  ASSERT_TRUE(waited.has_value());
  EXPECT_TRUE(*waited);
}

TEST(PipeStreamTest, ReaderCloseFailsPeersWaitingWriteWithBrokenPipe) {
  boost::asio::io_context context;
  auto [a, b] = MakePipe(context, context, 8);
  std::optional<error_code> written;
  std::string data(20, 'z');
  a.AsyncWrite(boost::asio::buffer(data),
               [&](error_code write_error, std::size_t) { written = write_error; });
  context.poll();
  context.restart();
  EXPECT_FALSE(written.has_value());
  b.Close();
  EXPECT_EQ(a.held_bytes(), 0u) << "bytes nobody will read are released";
  context.poll();
  ASSERT_TRUE(written.has_value());
  EXPECT_EQ(*written, error::broken_pipe);
}

TEST(PipeStreamTest, PeerDestroyedWhileOtherEndWaits) {
  ContextThread waiter_thread;
  boost::asio::io_context other_context;
  std::promise<error_code> waited;
  std::promise<error_code> read_result;
  std::optional<PipeStream> waiter;
  {
    auto [a, b] = MakePipe(other_context, waiter_thread.context());
    waiter.emplace(std::move(b));
    std::promise<void> waiting;
    boost::asio::post(waiter_thread.context(), [&] {
      waiter->AsyncWaitReadable([&](error_code wait_error) {
        waited.set_value(wait_error);
        char out[4];
        error_code read_error;
        waiter->ReadSome(boost::asio::buffer(out), read_error);
        read_result.set_value(read_error);
      });
      waiting.set_value();
    });
    waiting.get_future().wait();
  }  // a (and the moved-from b) destroyed here, on this thread
  auto wait_future = waited.get_future();
  ASSERT_EQ(wait_future.wait_for(std::chrono::seconds(10)), std::future_status::ready);
  EXPECT_FALSE(wait_future.get());
  EXPECT_EQ(read_result.get_future().get(), error::eof);
  std::promise<void> closed;
  boost::asio::post(waiter_thread.context(), [&] {
    waiter.reset();
    closed.set_value();
  });
  closed.get_future().wait();
}

TEST(PipeStreamTest, EndDestroyedWithItsOwnPendingOperations) {
  boost::asio::io_context context;
  auto tracker = std::make_shared<int>(0);
  std::optional<error_code> waited;
  std::optional<error_code> written;
  std::string data(100, 'q');
  auto [a, b] = MakePipe(context, context, 10);
  {
    PipeStream doomed = std::move(a);
    doomed.AsyncWaitReadable([&, tracker](error_code wait_error) { waited = wait_error; });
    doomed.AsyncWrite(boost::asio::buffer(data), [&, tracker](error_code write_error, std::size_t) {
      written = write_error;
    });
  }
  context.poll();
  ASSERT_TRUE(waited.has_value());
  EXPECT_EQ(*waited, error::operation_aborted);
  ASSERT_TRUE(written.has_value());
  EXPECT_EQ(*written, error::operation_aborted);
  EXPECT_EQ(tracker.use_count(), 1) << "handlers must be released after running";
  char out[200];
  error_code read_error;
  EXPECT_EQ(b.ReadSome(boost::asio::buffer(out), read_error), 10u);
  EXPECT_EQ(b.ReadSome(boost::asio::buffer(out), read_error), 0u);
  EXPECT_EQ(read_error, error::eof);
}

TEST(PipeStreamTest, AcceptsMoveOnlyHandlers) {
  boost::asio::io_context context;
  auto [a, b] = MakePipe(context, context);
  auto token = std::make_unique<int>(42);
  int seen = 0;
  b.AsyncWaitReadable([token = std::move(token), &seen](error_code) { seen = *token; });
  auto other = std::make_unique<int>(7);
  int written = 0;
  a.AsyncWrite(boost::asio::buffer("abc", 3),
               [other = std::move(other), &written](error_code, std::size_t) { written = *other; });
  context.poll();
  EXPECT_EQ(seen, 42);
  EXPECT_EQ(written, 7);
}

}  // namespace
}  // namespace embed::net
