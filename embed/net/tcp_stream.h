#pragma once
// TcpStream: a connected TCP socket seen as a plain byte stream (it models
// net::ByteStream, stream.h). Sessions are
// templates over a stream type with this shape (TLS, WebSocket and the
// in-process pipe provide the same members), so they never know the
// transport. Not thread-safe: use it from the thread of its io_context.
//
// The stream shape a session needs:
//   executor_type get_executor();
//   std::size_t ReadSome(boost::asio::mutable_buffer, boost::system::error_code&);  // never blocks
//   void AsyncWaitReadable(Handler);                   // Handler(error_code)
//   void AsyncWrite(const ConstBufferSequence&, Handler);  // gathered; Handler(error_code, size_t)
//   void Close();
//   std::string remote_address() const;

#include <cstddef>
#include <string>
#include <utility>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/write.hpp>

namespace embed::net {

// A TCP socket bound to one io_context (no type-erased executor on the hot path).
using TcpSocket =
    boost::asio::basic_stream_socket<boost::asio::ip::tcp, boost::asio::io_context::executor_type>;

class TcpStream {
 public:
  using executor_type = boost::asio::io_context::executor_type;

  // Takes the connected socket; switches it to non-blocking mode and sets
  // TCP_NODELAY (both best effort).
  explicit TcpStream(TcpSocket socket);

  executor_type get_executor() { return socket_.get_executor(); }

  // Copies up to buffer.size() available bytes into `buffer` without
  // blocking. Sets `error` to would_block when nothing is available and to
  // eof when the peer closed.
  std::size_t ReadSome(boost::asio::mutable_buffer buffer, boost::system::error_code& error) {
    return socket_.read_some(buffer, error);
  }

  // Calls handler(error_code) once bytes can be read (or on error/close).
  // Waiting needs no buffer, so an idle connection holds none.
  template <typename Handler>
  void AsyncWaitReadable(Handler&& handler) {
    socket_.async_wait(boost::asio::socket_base::wait_read, std::forward<Handler>(handler));
  }

  // Writes every byte of `buffers` (a gathered write); handler(error_code, size_t).
  // At most one write may be outstanding.
  template <typename ConstBufferSequence, typename Handler>
  void AsyncWrite(const ConstBufferSequence& buffers, Handler&& handler) {
    boost::asio::async_write(socket_, buffers, std::forward<Handler>(handler));
  }

  // Sends what the socket accepts now, without blocking, from ANY thread
  // (a plain send(2) on the descriptor). Sets would_block when nothing fits.
  // The caller must guarantee that no other write is in flight and that
  // Close() cannot run concurrently (the session's outbox mutex does both).
  std::size_t TrySendFromAnyThread(const char* data, std::size_t size,
                                   boost::system::error_code& error);

  // The same, from the owner's thread (net::TrySendable, layered_stream.h).
  std::size_t TrySendNow(const char* data, std::size_t size, boost::system::error_code& error) {
    return TrySendFromAnyThread(data, size, error);
  }

  // Shuts down and closes the socket; pending operations complete with
  // operation_aborted. Idempotent.
  void Close();

  // The peer's IP address ("" if unknown) and port (0 if unknown).
  std::string remote_address() const;
  unsigned short remote_port() const;

 private:
  TcpSocket socket_;
  // The descriptor, copied once so other threads never touch socket_.
  const int descriptor_;
};

}  // namespace embed::net
