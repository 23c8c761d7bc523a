#include "embed/client/internal/transport.h"

#include <optional>
#include <utility>
#include <variant>

#include <boost/asio/connect.hpp>
#include <boost/asio/error.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>

#include "embed/net/inproc/in_process.h"
#include "embed/net/inproc/pipe_stream.h"
#include "embed/net/layered_stream.h"
#include "embed/net/tcp_stream.h"
#include "embed/net/tls/tls_codec.h"
#include "embed/net/tls/tls_context.h"
#include "embed/net/websocket/ws_codec.h"
#include "embed/net/websocket/ws_connect.h"

namespace embed::client::internal {
namespace {

namespace asio = boost::asio;
using tcp = boost::asio::ip::tcp;
using Clock = std::chrono::steady_clock;
using TlsStream = net::LayeredStream<net::TcpStream, net::TlsCodec>;
using WsStream = net::LayeredStream<net::TcpStream, net::WsCodec>;
using WssStream = net::LayeredStream<TlsStream, net::WsCodec>;

std::string DescribeTransportError(const boost::system::error_code& error) {
  if (error == asio::error::eof) return "server closed the connection";
  if (error == asio::error::connection_reset) return "connection reset by the server";
  return "transport failed: " + error.message();
}

// Any net::ByteStream as a ClientStream: in-process pipes and WebSocket
// streams (whose TLS, for wss://, is part of the stream).
template <net::ByteStream Stream>
class StreamAdapter final : public ClientStream {
 public:
  explicit StreamAdapter(Stream stream, bool is_tls_transport = false)
      : stream_(std::move(stream)), is_tls_transport_(is_tls_transport) {}
  ~StreamAdapter() override { stream_.Close(); }

  void AsyncWaitReadable(WaitHandler handler) override {
    stream_.AsyncWaitReadable(std::move(handler));
  }
  std::size_t ReadSome(asio::mutable_buffer buffer, boost::system::error_code& error) override {
    return stream_.ReadSome(buffer, error);
  }
  void AsyncWrite(asio::const_buffer buffer, WriteHandler handler) override {
    stream_.AsyncWrite(buffer, std::move(handler));
  }
  bool is_tls() const override { return is_tls_transport_; }
  void Close() override { stream_.Close(); }

 private:
  Stream stream_;
  bool is_tls_transport_;
};

// nats:// and tls://: TCP that can turn into TLS after the plaintext INFO.
// Until StartTls() the bytes go straight to the socket (no copy, no codec).
class TcpClientStream final : public ClientStream {
 public:
  explicit TcpClientStream(net::TcpStream stream)
      : stream_(std::in_place_index<0>, std::move(stream)) {}
  ~TcpClientStream() override { Close(); }

  void AsyncWaitReadable(WaitHandler handler) override {
    std::visit([&](auto& stream) { stream.AsyncWaitReadable(std::move(handler)); }, stream_);
  }
  std::size_t ReadSome(asio::mutable_buffer buffer, boost::system::error_code& error) override {
    return std::visit([&](auto& stream) { return stream.ReadSome(buffer, error); }, stream_);
  }
  void AsyncWrite(asio::const_buffer buffer, WriteHandler handler) override {
    std::visit([&](auto& stream) { stream.AsyncWrite(buffer, std::move(handler)); }, stream_);
  }
  bool is_tls_capable() const override { return true; }
  bool is_tls() const override { return stream_.index() == 1; }

  Status StartTls(std::shared_ptr<net::TlsContext> context, std::string server_name) override {
    auto* tcp_stream = std::get_if<0>(&stream_);
    if (tcp_stream == nullptr) return FailedPreconditionError("TLS already started");
    if (context == nullptr) return InvalidArgumentError("no TLS context");
    // Nothing is buffered in the TCP stream and no operation is pending, so
    // the socket can move under the TLS layer. The ClientHello is queued at
    // once; the caller's next writes wait inside the codec for the handshake.
    TlsStream tls(std::move(*tcp_stream),
                  net::TlsCodec::Client(std::move(context), std::move(server_name),
                                        /*start_in_plaintext=*/false));
    stream_.emplace<1>(std::move(tls));
    std::get<1>(stream_).FlushWireOutput();
    return Status::Ok();
  }

  std::string DescribeError(const boost::system::error_code& error) const override {
    if (const auto* tls = std::get_if<1>(&stream_)) {
      const net::TlsCodec& codec = tls->codec();
      std::string reason = codec.error() ? codec.error_reason() : std::string();
      if (reason.empty() && codec.error()) reason = codec.error().message();
      if (!codec.handshake_done()) {
        if (reason.empty()) reason = DescribeTransportError(error);
        return "TLS handshake failed: " + reason;
      }
      if (!reason.empty()) return "TLS failed: " + reason;
    }
    return ClientStream::DescribeError(error);
  }

  void Close() override {
    std::visit([](auto& stream) { stream.Close(); }, stream_);
  }

 private:
  std::variant<net::TcpStream, TlsStream> stream_;
};

std::string HostPort(const ServerUrl& server) {
  std::string out = server.host.find(':') != std::string::npos ? "[" + server.host + "]"
                                                               : server.host;
  return out + ":" + std::to_string(server.port);
}

// One Dial(): resolve, connect, then the WebSocket steps; bounded by a timer.
class DialOperation final : public PendingDial,
                            public std::enable_shared_from_this<DialOperation> {
 public:
  DialOperation(asio::io_context& io, ServerUrl server, DialOptions options, DialHandler handler)
      : io_(io),
        server_(std::move(server)),
        options_(std::move(options)),
        handler_(std::move(handler)),
        resolver_(io),
        socket_(io),
        timer_(io),
        deadline_(Clock::now() + options_.timeout) {}

  void Start() {
    auto self = shared_from_this();
    if (server_.scheme == UrlScheme::kInproc) {
      auto pipe = net::DialInProcess(server_.host, io_);
      asio::post(io_, [self, pipe = std::make_shared<Result<net::PipeStream>>(std::move(pipe))] {
        if (!pipe->ok()) {
          self->Finish(UnavailableError(pipe->status().message()));
          return;
        }
        self->Finish(std::unique_ptr<ClientStream>(
            std::make_unique<StreamAdapter<net::PipeStream>>(std::move(*pipe).value())));
      });
      return;
    }
    if (server_.scheme == UrlScheme::kWss && options_.tls_context == nullptr) {
      asio::post(io_, [self] { self->Finish(InvalidArgumentError("wss:// needs a TLS context")); });
      return;
    }
    timer_.expires_at(deadline_);
    timer_.async_wait([self](const boost::system::error_code& error) {
      if (error) return;
      self->Finish(TimeoutError("connect timed out"));
    });
    resolver_.async_resolve(
        server_.host, std::to_string(server_.port),
        [self](const boost::system::error_code& error, const tcp::resolver::results_type& results) {
          if (self->done_) return;
          if (error) {
            self->Finish(UnavailableError("cannot resolve " + self->server_.host + ": " +
                                          error.message()));
            return;
          }
          asio::async_connect(self->socket_, results,
                              [self](const boost::system::error_code& connect_error,
                                     const tcp::endpoint&) {
                                if (self->done_) return;
                                if (connect_error) {
                                  self->Finish(UnavailableError(connect_error.message()));
                                  return;
                                }
                                self->Connected();
                              });
        });
  }

  void Cancel() override {
    if (done_) return;
    done_ = true;
    handler_ = nullptr;
    Abort();
  }

 private:
  void Connected() {
    net::TcpStream tcp_stream(std::move(socket_));
    switch (server_.scheme) {
      case UrlScheme::kNats:
      case UrlScheme::kTls:
      case UrlScheme::kInproc:
        Finish(std::unique_ptr<ClientStream>(
            std::make_unique<TcpClientStream>(std::move(tcp_stream))));
        return;
      case UrlScheme::kWs:
        Upgrade(std::move(tcp_stream), /*is_tls=*/false);
        return;
      case UrlScheme::kWss: {
        const std::string name =
            options_.tls_server_name.empty() ? server_.host : options_.tls_server_name;
        TlsStream tls(std::move(tcp_stream),
                      net::TlsCodec::Client(options_.tls_context, name,
                                            /*start_in_plaintext=*/false));
        tls.FlushWireOutput();
        Upgrade(std::move(tls), /*is_tls=*/true);
        return;
      }
    }
  }

  template <typename Inner>
  void Upgrade(Inner inner, bool is_tls) {
    auto remaining =
        std::chrono::duration_cast<std::chrono::milliseconds>(deadline_ - Clock::now());
    if (remaining < std::chrono::milliseconds(1)) remaining = std::chrono::milliseconds(1);
    auto self = shared_from_this();
    net::AsyncWsConnect(
        std::move(inner), HostPort(server_), server_.path.empty() ? "/" : server_.path,
        options_.ws_compression, remaining,
        [self, is_tls](Result<net::LayeredStream<Inner, net::WsCodec>> result) {
          if (!result.ok()) {
            // A refused upgrade (HTTP 404, no WebSocket there) is an
            // unavailable server, like a refused TCP connection.
            const Status& status = result.status();
            self->Finish(status.code() == StatusCode::kTimeout
                             ? status
                             : UnavailableError(status.message()));
            return;
          }
          self->Finish(std::unique_ptr<ClientStream>(
              std::make_unique<StreamAdapter<net::LayeredStream<Inner, net::WsCodec>>>(
                  std::move(result).value(), is_tls)));
        });
  }

  // Reports once; a stream that arrives after the outcome is closed.
  void Finish(Result<std::unique_ptr<ClientStream>> result) {
    if (done_) {
      if (result.ok() && *result != nullptr) (*result)->Close();
      return;
    }
    done_ = true;
    Abort();
    DialHandler handler = std::move(handler_);
    handler_ = nullptr;
    if (handler) handler(std::move(result));
  }

  void Abort() {
    boost::system::error_code ignored;
    timer_.cancel();
    resolver_.cancel();
    socket_.close(ignored);
  }

  asio::io_context& io_;
  const ServerUrl server_;
  const DialOptions options_;
  DialHandler handler_;
  tcp::resolver resolver_;
  net::TcpSocket socket_;
  asio::steady_timer timer_;
  const Clock::time_point deadline_;
  bool done_ = false;
};

}  // namespace

Status ClientStream::StartTls(std::shared_ptr<net::TlsContext> /*context*/,
                              std::string /*server_name*/) {
  return FailedPreconditionError("this transport cannot start TLS");
}

std::string ClientStream::DescribeError(const boost::system::error_code& error) const {
  return DescribeTransportError(error);
}

std::shared_ptr<PendingDial> Dial(asio::io_context& io, const ServerUrl& server,
                                  const DialOptions& options, DialHandler handler) {
  auto operation = std::make_shared<DialOperation>(io, server, options, std::move(handler));
  operation->Start();
  return operation;
}

Result<std::shared_ptr<net::TlsContext>> MakeClientTlsContext(const TlsOptions& tls) {
  EMBED_RETURN_IF_ERROR(ValidateTlsOptions(tls));
  net::TlsConfig config;
  config.ca_file = tls.ca_file;
  config.cert_file = tls.cert_file;
  config.key_file = tls.key_file;
  config.verify_peer = tls.verify;
  return net::TlsContext::CreateClient(config);
}

}  // namespace embed::client::internal
