#pragma once
// TcpListener: accepts TCP connections and hands each socket, already bound
// to an io_context chosen by the caller, to a callback. Knows no protocol.
// Callbacks run on the listener's io_context thread. Close() may be called
// from any thread while that io_context runs (or before Start()).
//
//   auto listener = TcpListener::Open(pool.context(0), "127.0.0.1", 0);
//   (*listener)->Start(pick_context, [](TcpSocket socket) { ... });

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>

#include "embed/base/result.h"
#include "embed/net/tcp_stream.h"

namespace embed::net {

// The delay before accepting again after an accept error (EMFILE, ENFILE,
// ...), given the previous delay (zero after a successful accept): 10 ms,
// doubling up to 1 s, as nats-server does. Retrying at once would spin.
std::chrono::milliseconds NextAcceptBackoff(std::chrono::milliseconds previous);

class TcpListener {
 public:
  // Chooses the io_context that will own the next accepted socket.
  using ContextPicker = std::function<boost::asio::io_context&()>;
  using AcceptCallback = std::function<void(TcpSocket socket)>;

  // Binds and listens on host:port (port 0 = ephemeral). kIoError when the
  // address cannot be resolved or bound.
  static Result<std::unique_ptr<TcpListener>> Open(boost::asio::io_context& context,
                                                   const std::string& host, std::uint16_t port);

  ~TcpListener();

  // The bound port.
  std::uint16_t port() const { return port_; }

  // Starts accepting. `pick` and `on_accept` run on the listener's thread.
  void Start(ContextPicker pick, AcceptCallback on_accept);

  // Stops accepting and closes the socket. Idempotent. Posts to the
  // listener's thread and waits, unless called from it, before Start(), or
  // after its io_context stopped.
  void Close();

 private:
  struct State;
  explicit TcpListener(std::shared_ptr<State> state, std::uint16_t port);
  static void AcceptNext(const std::shared_ptr<State>& state);

  std::shared_ptr<State> state_;
  std::uint16_t port_;
};

}  // namespace embed::net
