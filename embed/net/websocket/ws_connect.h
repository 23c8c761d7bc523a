#pragma once
// Drivers of the WebSocket opening handshake over any net::ByteStream:
// AsyncWsAccept (server: read the upgrade request, answer 101 or an HTTP
// error) and AsyncWsConnect (client: send the request, check the 101). On
// success they hand over a LayeredStream<Inner, WsCodec>. Header-only and
// Asio-heavy: include it only from .cc files that start handshakes.

#include <chrono>
#include <cstddef>
#include <memory>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>

#include <boost/asio/buffer.hpp>
#include <boost/asio/error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/system/error_code.hpp>

#include "embed/base/result.h"
#include "embed/base/status.h"
#include "embed/net/layered_stream.h"
#include "embed/net/stream.h"
#include "embed/net/websocket/ws_codec.h"
#include "embed/net/websocket/ws_handshake.h"

namespace embed::net {

namespace ws_internal {

// The 101 response head a client accepts (nats-server sends ~200 bytes).
constexpr std::size_t kMaxResponseHeadBytes = 16 * 1024;
constexpr std::string_view kBlankLine = "\r\n\r\n";

// State shared by both handshakes: the stream, a deadline, the bytes read
// so far and the once-only completion. Owned by the pending I/O operations;
// the timer only holds a weak reference, so nothing outlives completion.
template <typename Inner, typename Handler>
class HandshakeOp : public std::enable_shared_from_this<HandshakeOp<Inner, Handler>> {
 public:
  using Stream = LayeredStream<Inner, WsCodec>;

  HandshakeOp(Inner inner, Handler handler)
      : inner_(std::move(inner)), timer_(inner_.get_executor()), handler_(std::move(handler)) {}

  void StartTimer(std::chrono::milliseconds timeout) {
    timer_.expires_after(timeout);
    timer_.async_wait([weak = this->weak_from_this()](boost::system::error_code error) {
      if (error) return;
      if (auto self = weak.lock()) self->Fail(TimeoutError("websocket handshake timed out"));
    });
  }

  // Reads until the head (through the blank line) is complete, then calls
  // on_head(). Fails past `limit` bytes.
  template <typename OnHead>
  void ReadHead(std::size_t limit, OnHead on_head) {
    inner_.AsyncWaitReadable([self = this->shared_from_this(), limit,
                              on_head = std::move(on_head)](boost::system::error_code error) mutable {
      self->OnReadable(error, limit, std::move(on_head));
    });
  }

  void Fail(Status status) {
    if (done_) return;
    done_ = true;
    timer_.cancel();
    inner_.Close();
    Handler handler = std::move(handler_);
    handler(Result<Stream>(std::move(status)));
  }

  void Succeed(const WsCodecOptions& options, std::string_view leftover) {
    if (done_) return;
    done_ = true;
    timer_.cancel();
    Stream stream(std::move(inner_), WsCodec(options));
    if (!leftover.empty()) {
      stream.codec().OnWireInput(leftover);
      // A PONG (or CLOSE) owed for frames that came right after the 101.
      stream.FlushWireOutput();
    }
    Handler handler = std::move(handler_);
    handler(Result<Stream>(std::move(stream)));
  }

  Inner& inner() { return inner_; }
  bool done() const { return done_; }
  std::string& head() { return head_; }
  std::size_t head_size() const { return head_size_; }
  std::string& outgoing() { return outgoing_; }

 private:
  template <typename OnHead>
  void OnReadable(boost::system::error_code error, std::size_t limit, OnHead on_head) {
    if (done_) return;
    if (error) {
      Fail(UnavailableError("websocket handshake: " + error.message()));
      return;
    }
    char chunk[2048];
    while (true) {
      boost::system::error_code read_error;
      const std::size_t count = inner_.ReadSome(boost::asio::buffer(chunk), read_error);
      if (read_error == boost::asio::error::would_block || read_error == boost::asio::error::try_again) break;
      if (read_error) {
        Fail(UnavailableError("websocket handshake: " + read_error.message()));
        return;
      }
      const std::size_t search_from = head_.size() < 3 ? 0 : head_.size() - 3;
      head_.append(chunk, count);
      const std::size_t end = head_.find(kBlankLine, search_from);
      if (end != std::string::npos && end + kBlankLine.size() <= limit) {
        head_size_ = end + kBlankLine.size();
        on_head(*this);
        return;
      }
      if (head_.size() > limit) {
        on_head(*this);  // head_size() == 0: too large
        return;
      }
    }
    ReadHead(limit, std::move(on_head));
  }

  Inner inner_;
  boost::asio::steady_timer timer_;
  Handler handler_;
  bool done_ = false;
  std::string head_;          // bytes read so far
  std::size_t head_size_ = 0;  // bytes of the head (through the blank line), 0 until complete
  std::string outgoing_;      // the bytes of the write in flight
};

}  // namespace ws_internal

// Server handshake on an accepted stream: reads the request (bounded by
// max_request_bytes and `timeout`), answers 101 (or an HTTP error and
// fails), and hands over the framed stream. Data pipelined behind the
// request -> fail. Handler: void(Result<LayeredStream<Inner, WsCodec>>),
// called once, on inner's executor. On failure the inner stream is closed.
template <ByteStream Inner, typename Handler>
void AsyncWsAccept(Inner inner, WsServerOptions options, std::chrono::milliseconds timeout, Handler&& handler) {
  using Op = ws_internal::HandshakeOp<Inner, std::decay_t<Handler>>;
  std::shared_ptr<Op> op(new Op(std::move(inner), std::forward<Handler>(handler)));
  op->StartTimer(timeout);
  op->ReadHead(options.max_request_bytes, [options](Op& self) {
    auto reject = [&self](int http_status, Status status) {
      self.outgoing() = WsRejectResponse(http_status, status.message());
      self.inner().AsyncWrite(boost::asio::buffer(self.outgoing()),
                              [keep = self.shared_from_this(), status](boost::system::error_code, std::size_t) {
                                keep->Fail(status);
                              });
    };
    if (self.head_size() == 0) {
      reject(400, ResourceExhaustedError("websocket upgrade request too large"));
      return;
    }
    if (self.head_size() != self.head().size()) {
      // The client must wait for the 101 before sending frames.
      self.Fail(ProtocolError("websocket handshake: data pipelined behind the upgrade request"));
      return;
    }
    auto accepted = AcceptUpgrade(self.head(), options);
    std::string().swap(self.head());
    if (!accepted.ok()) {
      reject(WsRejectStatusFor(accepted.status()), accepted.status());
      return;
    }
    self.outgoing() = std::move(accepted->response);
    self.inner().AsyncWrite(
        boost::asio::buffer(self.outgoing()),
        [keep = self.shared_from_this(), codec = accepted->codec](boost::system::error_code error, std::size_t) {
          if (keep->done()) return;
          if (error) {
            keep->Fail(UnavailableError("websocket handshake: " + error.message()));
            return;
          }
          std::string().swap(keep->outgoing());
          keep->Succeed(codec, {});
        });
  });
}

// Client handshake: sends the upgrade request for ws://host_port/path,
// reads and checks the 101 within `timeout`. Bytes the server sent right
// after the 101 (the NATS INFO) are fed to the codec of the returned
// stream. Handler as for AsyncWsAccept.
template <ByteStream Inner, typename Handler>
void AsyncWsConnect(Inner inner, std::string host_port, std::string path, bool offer_compression,
                    std::chrono::milliseconds timeout, Handler&& handler) {
  using Op = ws_internal::HandshakeOp<Inner, std::decay_t<Handler>>;
  std::shared_ptr<Op> op(new Op(std::move(inner), std::forward<Handler>(handler)));
  op->StartTimer(timeout);
  std::string key = NewWsKey();
  op->outgoing() = BuildUpgradeRequest(host_port, path, key, offer_compression);
  op->inner().AsyncWrite(
      boost::asio::buffer(op->outgoing()),
      [op, key = std::move(key), offer_compression](boost::system::error_code error, std::size_t) mutable {
        if (op->done()) return;
        if (error) {
          op->Fail(UnavailableError("websocket handshake: " + error.message()));
          return;
        }
        std::string().swap(op->outgoing());
        op->ReadHead(ws_internal::kMaxResponseHeadBytes, [key = std::move(key), offer_compression](Op& self) {
          if (self.head_size() == 0) {
            self.Fail(ProtocolError("websocket upgrade response too large"));
            return;
          }
          const std::string_view head(self.head().data(), self.head_size());
          auto parsed = ParseUpgradeResponse(head, key, offer_compression);
          if (!parsed.ok()) {
            self.Fail(parsed.status());
            return;
          }
          const std::string leftover = self.head().substr(self.head_size());
          std::string().swap(self.head());
          self.Succeed(*parsed, leftover);
        });
      });
}

}  // namespace embed::net
