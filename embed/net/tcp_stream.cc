#include "embed/net/tcp_stream.h"

#include "embed/net/stream.h"

#include <sys/socket.h>

#include <cerrno>

namespace embed::net {

static_assert(ByteStream<TcpStream>);
static_assert(CrossThreadSendable<TcpStream>);

TcpStream::TcpStream(TcpSocket socket)
    : socket_(std::move(socket)), descriptor_(socket_.native_handle()) {
  boost::system::error_code ignored;
  socket_.non_blocking(true, ignored);
  // Latency: a reply must never wait for Nagle's timer.
  socket_.set_option(boost::asio::ip::tcp::no_delay(true), ignored);
}

std::size_t TcpStream::TrySendFromAnyThread(const char* data, std::size_t size,
                                            boost::system::error_code& error) {
  error = {};
  while (true) {
    ssize_t sent = ::send(descriptor_, data, size, MSG_DONTWAIT | MSG_NOSIGNAL);
    if (sent >= 0) return static_cast<std::size_t>(sent);
    if (errno == EINTR) continue;
    if (errno == EAGAIN || errno == EWOULDBLOCK) {
      error = boost::asio::error::would_block;
    } else {
      error = boost::system::error_code(errno, boost::system::system_category());
    }
    return 0;
  }
}

void TcpStream::Close() {
  boost::system::error_code ignored;
  if (!socket_.is_open()) return;
  socket_.shutdown(boost::asio::socket_base::shutdown_both, ignored);
  socket_.close(ignored);
}

std::string TcpStream::remote_address() const {
  boost::system::error_code error;
  auto endpoint = socket_.remote_endpoint(error);
  if (error) return "";
  return endpoint.address().to_string();
}

unsigned short TcpStream::remote_port() const {
  boost::system::error_code error;
  auto endpoint = socket_.remote_endpoint(error);
  if (error) return 0;
  return endpoint.port();
}

}  // namespace embed::net
