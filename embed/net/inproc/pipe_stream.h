#pragma once
// PipeStream: one end of an in-process byte pipe, so a client and a broker in
// the same process talk without a socket ("inproc://<name>", in_process.h).
// It models net::ByteStream, net::CrossThreadSendable and net::TrySendable
// (stream.h, layered_stream.h), so broker sessions and the client run over it
// unchanged.
//
// Each direction is a bounded byte buffer (capacity_bytes) shared by the two
// ends under one mutex. A write copies what fits and completes at once;
// the rest waits until the reader made room (back-pressure), so bytes are
// never lost or reordered and memory stays bounded. An empty direction
// releases its buffer, so an idle pipe holds no large allocations.
// Each end belongs to its executor's thread like a socket; only
// TrySendFromAnyThread may be called from other threads. Completion handlers
// run on the executor of the end that started the operation.

#include <cstddef>
#include <functional>
#include <memory>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include <boost/asio/buffer.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/system/error_code.hpp>

namespace embed::net {

namespace internal {
struct PipeState;
}  // namespace internal

class PipeStream {
 public:
  using executor_type = boost::asio::io_context::executor_type;
  using WaitHandler = std::function<void(boost::system::error_code)>;
  using WriteHandler = std::function<void(boost::system::error_code, std::size_t)>;
  // A drained direction keeps its buffer up to this size, so a busy pipe
  // does not allocate for every batch; larger buffers are freed.
  static constexpr std::size_t kMaxIdleBufferBytes = 64 * 1024;

  PipeStream(PipeStream&& other) noexcept = default;
  PipeStream& operator=(PipeStream&& other) noexcept;
  PipeStream(const PipeStream&) = delete;
  PipeStream& operator=(const PipeStream&) = delete;
  // Closes this end (see Close()).
  ~PipeStream();

  executor_type get_executor() const;

  // Copies up to buffer.size() bytes the peer wrote. Never blocks: sets
  // `error` to would_block when none are buffered, to eof once the peer
  // closed and every byte it wrote was read, to bad_descriptor after Close().
  std::size_t ReadSome(boost::asio::mutable_buffer buffer, boost::system::error_code& error);

  // Calls handler(error_code) on this end's executor once bytes can be read
  // or the peer closed (no error), or with operation_aborted when this end is
  // closed first. At most one wait may be outstanding.
  template <typename Handler>
  void AsyncWaitReadable(Handler&& handler) {
    StartWait(WrapWait(std::forward<Handler>(handler)));
  }

  // Writes every byte of `buffers` in order; handler(error_code, bytes) runs
  // on this end's executor when all were buffered for the peer (at once when
  // they fit), with broken_pipe when the peer closed, with operation_aborted
  // when this end was closed first. The buffers must stay valid until then.
  // At most one write may be outstanding.
  template <typename ConstBufferSequence, typename Handler>
  void AsyncWrite(const ConstBufferSequence& buffers, Handler&& handler) {
    std::vector<boost::asio::const_buffer> parts;
    for (auto it = boost::asio::buffer_sequence_begin(buffers);
         it != boost::asio::buffer_sequence_end(buffers); ++it) {
      boost::asio::const_buffer part(*it);
      if (part.size() > 0) parts.push_back(part);
    }
    StartWrite(std::move(parts), WrapWrite(std::forward<Handler>(handler)));
  }

  // Copies what fits now, from ANY thread. Returns the bytes taken; sets
  // would_block when none fit (or an AsyncWrite is still waiting, so bytes
  // are never reordered), broken_pipe when the peer closed.
  std::size_t TrySendFromAnyThread(const char* data, std::size_t size,
                                   boost::system::error_code& error);

  // The same, from the owner's thread (net::TrySendable).
  std::size_t TrySendNow(const char* data, std::size_t size, boost::system::error_code& error) {
    return TrySendFromAnyThread(data, size, error);
  }

  // Closes this end: pending operations complete with operation_aborted, a
  // write of the peer waiting for room fails with broken_pipe, and the peer
  // reads what this end wrote, then eof. Idempotent.
  void Close();

  std::string remote_address() const { return "inproc"; }

  // Bytes the peer wrote that this end has not read yet.
  std::size_t buffered_bytes() const;
  // Memory the pipe's two direction buffers hold right now (both ends).
  std::size_t held_bytes() const;

 private:
  friend std::pair<PipeStream, PipeStream> MakePipe(boost::asio::io_context&,
                                                    boost::asio::io_context&, std::size_t);

  PipeStream(std::shared_ptr<internal::PipeState> state, int side);

  // std::function needs copyable targets; Asio handlers may be move-only.
  template <typename Handler>
  static WaitHandler WrapWait(Handler&& handler) {
    if constexpr (std::is_copy_constructible_v<std::decay_t<Handler>>) {
      return WaitHandler(std::forward<Handler>(handler));
    } else {
      auto shared = std::make_shared<std::decay_t<Handler>>(std::forward<Handler>(handler));
      return [shared](boost::system::error_code error) { (*shared)(error); };
    }
  }
  template <typename Handler>
  static WriteHandler WrapWrite(Handler&& handler) {
    if constexpr (std::is_copy_constructible_v<std::decay_t<Handler>>) {
      return WriteHandler(std::forward<Handler>(handler));
    } else {
      auto shared = std::make_shared<std::decay_t<Handler>>(std::forward<Handler>(handler));
      return [shared](boost::system::error_code error, std::size_t size) {
        (*shared)(error, size);
      };
    }
  }

  void StartWait(WaitHandler handler);
  void StartWrite(std::vector<boost::asio::const_buffer> parts, WriteHandler handler);

  std::shared_ptr<internal::PipeState> state_;
  int side_ = 0;  // 0 = end a, 1 = end b
};

// A connected pair: end a is bound to context_a, end b to context_b (they may
// be the same). Each direction buffers at most capacity_bytes (at least 1);
// a write that does not fit completes when the reader made room.
std::pair<PipeStream, PipeStream> MakePipe(boost::asio::io_context& context_a,
                                           boost::asio::io_context& context_b,
                                           std::size_t capacity_bytes = 1024 * 1024);

}  // namespace embed::net
