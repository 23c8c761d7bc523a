#include "embed/net/tcp_listener.h"

#include <future>
#include <string>

#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>

namespace embed::net {

using boost::asio::ip::tcp;

std::chrono::milliseconds NextAcceptBackoff(std::chrono::milliseconds previous) {
  constexpr std::chrono::milliseconds kMin{10};
  constexpr std::chrono::milliseconds kMax{1000};
  if (previous < kMin) return kMin;
  return previous >= kMax / 2 ? kMax : previous * 2;
}

// Shared with pending accept handlers: they may outlive Close().
struct TcpListener::State {
  explicit State(boost::asio::io_context& io) : context(io), acceptor(io), retry_timer(io) {}
  boost::asio::io_context& context;
  tcp::acceptor acceptor;
  boost::asio::steady_timer retry_timer;
  std::chrono::milliseconds backoff{0};  // zero after a successful accept
  ContextPicker pick;
  AcceptCallback on_accept;
  bool closed = false;
  bool started = false;  // written before Start() posts; read by Close() on the owner's thread
};

Result<std::unique_ptr<TcpListener>> TcpListener::Open(boost::asio::io_context& context,
                                                       const std::string& host,
                                                       std::uint16_t port) {
  boost::system::error_code error;
  auto address = boost::asio::ip::make_address(host.empty() ? "0.0.0.0" : host, error);
  if (error) {
    tcp::resolver resolver(context);
    auto results = resolver.resolve(host, std::to_string(port), error);
    if (error || results.empty()) return IoError("cannot resolve listen host " + host);
    address = results.begin()->endpoint().address();
  }
  auto state = std::make_shared<State>(context);
  tcp::endpoint endpoint(address, port);
  state->acceptor.open(endpoint.protocol(), error);
  if (!error) state->acceptor.set_option(tcp::acceptor::reuse_address(true), error);
  if (!error) state->acceptor.bind(endpoint, error);
  if (!error) state->acceptor.listen(boost::asio::socket_base::max_listen_connections, error);
  if (error) {
    return IoError("cannot listen on " + host + ":" + std::to_string(port) + ": " +
                   error.message());
  }
  auto bound = state->acceptor.local_endpoint(error);
  if (error) return IoError("cannot read the bound port: " + error.message());
  return std::unique_ptr<TcpListener>(new TcpListener(std::move(state), bound.port()));
}

TcpListener::TcpListener(std::shared_ptr<State> state, std::uint16_t port)
    : state_(std::move(state)), port_(port) {}

TcpListener::~TcpListener() { Close(); }

void TcpListener::Start(ContextPicker pick, AcceptCallback on_accept) {
  auto state = state_;
  state->started = true;
  boost::asio::post(state->context, [state, pick = std::move(pick),
                                     on_accept = std::move(on_accept)]() mutable {
    if (state->closed) return;
    state->pick = std::move(pick);
    state->on_accept = std::move(on_accept);
    AcceptNext(state);
  });
}

void TcpListener::AcceptNext(const std::shared_ptr<State>& state) {
  boost::asio::io_context& target = state->pick();
  state->acceptor.async_accept(target, [state](boost::system::error_code error,
                                               TcpSocket socket) {
    if (state->closed || error == boost::asio::error::operation_aborted) return;
    if (!error) {
      state->backoff = std::chrono::milliseconds{0};
      state->on_accept(std::move(socket));
      AcceptNext(state);
      return;
    }
    // Transient errors (EMFILE, ECONNABORTED) must not stop the listener, but
    // retrying at once would spin while they last: back off.
    state->backoff = NextAcceptBackoff(state->backoff);
    state->retry_timer.expires_after(state->backoff);
    state->retry_timer.async_wait([state](boost::system::error_code wait_error) {
      if (state->closed || wait_error == boost::asio::error::operation_aborted) return;
      AcceptNext(state);
    });
  });
}

void TcpListener::Close() {
  auto state = state_;
  if (!state) return;
  auto close = [state] {
    if (state->closed) return;
    state->closed = true;
    boost::system::error_code ignored;
    state->acceptor.close(ignored);
    state->retry_timer.cancel();
    state->on_accept = nullptr;
    state->pick = nullptr;
  };
  if (!state->started || state->context.get_executor().running_in_this_thread() ||
      state->context.stopped()) {
    close();
  } else {
    std::promise<void> done;
    auto future = done.get_future();
    boost::asio::post(state->context, [&close, &done] {
      close();
      done.set_value();
    });
    // If the context is not being run the post never executes; a stopped
    // context is handled above, so this wait only happens while it runs.
    future.wait();
  }
  state_.reset();
}

}  // namespace embed::net
