#pragma once
// LayeredStream<Inner, Codec>: a ByteStream (stream.h) made of another
// ByteStream and a sans-I/O codec that turns wire bytes into application
// bytes and back: TLS records (net/tls) or WebSocket frames (net/websocket).
// WSS is LayeredStream<LayeredStream<TcpStream, TlsCodec>, WsCodec>. The
// codecs hold every protocol rule; this class only moves bytes, so broker
// sessions and the client run unchanged over any layering.
// Not thread-safe: use it from the thread of its executor.

#include <algorithm>
#include <chrono>
#include <iterator>
#include <concepts>
#include <functional>
#include <cstddef>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>

#include <boost/asio/basic_waitable_timer.hpp>
#include <boost/asio/buffer.hpp>
#include <boost/asio/error.hpp>
#include <boost/asio/post.hpp>
#include <boost/system/error_code.hpp>

#include "embed/net/stream.h"

namespace embed::net {

// What a codec provides. Every call is non-blocking and does no I/O.
//  - OnWireInput(bytes): takes bytes read from the inner stream; decodes what
//    it can. Never fails directly: failures show in error().
//  - has_app_data() / ReadApp(out, size): decoded application bytes.
//  - EncodeApp(bytes, wire): appends the wire form of application bytes to
//    `wire` (a codec may hold bytes back, e.g. until a TLS handshake ends,
//    and release them later through TakeWireOutput).
//  - has_wire_output() / TakeWireOutput(wire): bytes the codec must send on
//    its own (handshake records, WebSocket PONG or CLOSE echo), appended.
//  - error(): set once the stream cannot go on; eof for an orderly close by
//    the peer (WebSocket CLOSE, TLS close_notify), another code for a
//    protocol violation (the codec has then queued what the peer is owed,
//    e.g. a CLOSE 1002). Reads report it after the decoded bytes ran out.
//  - EncodeClose(code, reason, wire): appends the final bytes of an orderly
//    close (WebSocket CLOSE with `code` and `reason`, TLS close_notify; the
//    codec ignores what does not apply). Called at most once.
template <typename Codec>
concept StreamCodec = requires(Codec& codec, const Codec& const_codec, std::string_view bytes,
                               char* out, std::size_t size, std::string& wire) {
  codec.OnWireInput(bytes);
  { const_codec.has_app_data() } -> std::same_as<bool>;
  { codec.ReadApp(out, size) } -> std::same_as<std::size_t>;
  codec.EncodeApp(bytes, wire);
  { const_codec.has_wire_output() } -> std::same_as<bool>;
  codec.TakeWireOutput(wire);
  { const_codec.error() } -> std::convertible_to<boost::system::error_code>;
  codec.EncodeClose(1000, bytes, wire);
};

// Streams that can push a few bytes out at once without an async write
// (used for the last bytes before Close(): a CLOSE frame, close_notify).
// Best effort: what the transport does not take at once is dropped.
template <typename Stream>
concept TrySendable = requires(Stream& stream, const char* data, std::size_t size,
                               boost::system::error_code& error) {
  { stream.TrySendNow(data, size, error) } -> std::same_as<std::size_t>;
};

template <ByteStream Inner, StreamCodec Codec>
class LayeredStream {
 public:
  using executor_type = typename Inner::executor_type;
  // Wire bytes read from the inner stream per ReadSome step.
  static constexpr std::size_t kScratchBytes = 64 * 1024;
  // Write buffers above this are released after the write instead of reused.
  static constexpr std::size_t kMaxRetainedBufferBytes = 64 * 1024;
  // Inner reads per ReadSome call at most.
  static constexpr int kMaxInnerReadsPerCall = 8;
  // Longest a Close() waits for a write in flight before cutting it off.
  static constexpr std::chrono::milliseconds kCloseLingerTime{1'000};

  LayeredStream(Inner inner, Codec codec)
      : state_(std::make_shared<State>(std::move(inner), std::move(codec))) {}

  executor_type get_executor() { return state_->inner.get_executor(); }
  Inner& inner() { return state_->inner; }
  Codec& codec() { return state_->codec; }
  const Codec& codec() const { return state_->codec; }

  std::size_t ReadSome(boost::asio::mutable_buffer buffer, boost::system::error_code& error) {
    State& state = *state_;
    error = {};
    // Bounded, so a peer sending only control frames (which produce no
    // application bytes) cannot hold the thread: the rest waits in the
    // kernel and the next wait fires at once.
    for (int reads = 0; reads < kMaxInnerReadsPerCall; ++reads) {
      if (state.codec.has_app_data()) return ReadDecoded(buffer);
      if (state.codec.error()) {
        error = state.codec.error();
        FlushWireOutput();
        return 0;
      }
      char* scratch = Scratch();
      std::size_t count = state.inner.ReadSome(boost::asio::buffer(scratch, kScratchBytes), error);
      if (error) return 0;  // would_block, eof or a transport error
      state.codec.OnWireInput(std::string_view(scratch, count));
      FlushWireOutput();
    }
    if (state.codec.has_app_data()) return ReadDecoded(buffer);
    error = boost::asio::error::would_block;
    return 0;
  }

  template <typename Handler>
  void AsyncWaitReadable(Handler&& handler) {
    State& state = *state_;
    if (state.codec.has_app_data() || state.codec.error()) {
      boost::asio::post(get_executor(), [handler = std::forward<Handler>(handler)]() mutable {
        handler(boost::system::error_code());
      });
      return;
    }
    state.inner.AsyncWaitReadable(std::forward<Handler>(handler));
  }

  // Encodes every byte of `buffers` and writes the result; handler(error,
  // application bytes written). At most one AsyncWrite may be outstanding.
  template <typename ConstBufferSequence, typename Handler>
  void AsyncWrite(const ConstBufferSequence& buffers, Handler&& handler) {
    State& state = *state_;
    if (state.is_closed) {
      boost::asio::post(get_executor(), [handler = std::forward<Handler>(handler)]() mutable {
        handler(boost::asio::error::operation_aborted, std::size_t{0});
      });
      return;
    }
    const std::size_t app_bytes = boost::asio::buffer_size(buffers);
    state.app_wire.clear();
    auto begin = boost::asio::buffer_sequence_begin(buffers);
    auto end = boost::asio::buffer_sequence_end(buffers);
    if (begin != end && std::next(begin) == end) {
      boost::asio::const_buffer part(*begin);
      state.codec.EncodeApp(std::string_view(static_cast<const char*>(part.data()), part.size()),
                            state.app_wire);
    } else {
      std::string plain;
      plain.reserve(app_bytes);
      for (auto it = begin; it != end; ++it) {
        boost::asio::const_buffer part(*it);
        plain.append(static_cast<const char*>(part.data()), part.size());
      }
      state.codec.EncodeApp(plain, state.app_wire);
    }
    state.app_handler = [handler = std::forward<Handler>(handler), app_bytes](
                            boost::system::error_code error) mutable {
      handler(error, error ? std::size_t{0} : app_bytes);
    };
    state.has_app_write = true;
    if (!state.write_in_flight) State::StartWrite(state_);
  }

  // Sends what the codec produced on its own (e.g. a TLS ClientHello after
  // the codec was told to start a handshake). Reads and writes call it.
  void FlushWireOutput() {
    State& state = *state_;
    if (state.write_in_flight || state.is_closed || !state.codec.has_wire_output()) return;
    State::StartWrite(state_);
  }

  // The WebSocket close status sent by Close() (ignored by other codecs).
  void SetCloseStatus(int code, std::string reason) {
    state_->close_code = code;
    state_->close_reason = std::move(reason);
  }

  // Sends the codec's closing bytes (best effort), then closes the inner
  // stream. When a write is in flight (often the codec's own CLOSE echo or
  // alert), the inner stream closes once it completes, or after
  // kCloseLingerTime at the latest, so those bytes are not cut off.
  // Idempotent; pending application operations end with operation_aborted.
  void Close() {
    State& state = *state_;
    if (state.is_closed) return;
    state.is_closed = true;
    if (!state.write_in_flight) return State::FinishClose(state, InnerClose::kGraceful);
    state.linger_timer.emplace(state.inner.get_executor());
    state.linger_timer->expires_after(kCloseLingerTime);
    state.linger_timer->async_wait([self = state_](boost::system::error_code error) {
      if (!error) State::FinishClose(*self, InnerClose::kGraceful);
    });
  }

  // Close() without the linger: closes the inner stream now (through its own
  // CloseAtOnce() when it has one), cutting off a write in flight. For an
  // owner whose executor stops next (a broker shutting down): that executor
  // would run neither the write's completion nor the linger timer, so the
  // socket would stay open, and the handlers held here (often owning this
  // stream) would never be released. Idempotent, also after Close().
  void CloseAtOnce() {
    State& state = *state_;
    state.is_closed = true;
    State::FinishClose(state, InnerClose::kAtOnce);
  }

  // Encodes and sends at once what fits (see TrySendable). Returns `size`
  // when everything went out, else 0 (the rest is lost: closing use only).
  std::size_t TrySendNow(const char* data, std::size_t size, boost::system::error_code& error)
    requires TrySendable<Inner>
  {
    State& state = *state_;
    if (state.write_in_flight || state.has_app_write) {
      // Bytes sent now would land inside the write in flight.
      error = boost::asio::error::would_block;
      return 0;
    }
    std::string wire;
    state.codec.TakeWireOutput(wire);
    state.codec.EncodeApp(std::string_view(data, size), wire);
    state.codec.TakeWireOutput(wire);
    if (wire.empty()) return 0;  // the codec took nothing (closed)
    std::size_t sent = state.inner.TrySendNow(wire.data(), wire.size(), error);
    return sent == wire.size() ? size : 0;
  }

  std::string remote_address() const { return state_->inner.remote_address(); }

 private:
  // How FinishClose() closes the inner stream.
  enum class InnerClose { kGraceful, kAtOnce };

  // Shared with in-flight write handlers, so the stream may be moved or
  // destroyed while a write is outstanding (Close() lets it finish, briefly).
  struct State {
    State(Inner inner_stream, Codec stream_codec)
        : inner(std::move(inner_stream)), codec(std::move(stream_codec)) {}

    // One inner write at a time: the application bytes (moved, not copied),
    // then what the codec has to send (TLS records it held back until now,
    // in their order; WebSocket control frames, which may follow data).
    static void StartWrite(const std::shared_ptr<State>& self) {
      State& state = *self;
      state.writing.clear();
      state.app_write_in_flight = false;
      if (state.has_app_write) {
        state.writing.swap(state.app_wire);
        state.has_app_write = false;
        state.app_write_in_flight = true;
      }
      state.codec.TakeWireOutput(state.writing);
      if (state.writing.empty()) {
        if (state.app_write_in_flight) {
          // The codec held everything back (TLS handshake): the caller's
          // bytes are accepted; they leave with the codec's output later.
          state.app_write_in_flight = false;
          boost::asio::post(state.inner.get_executor(),
                            [handler = std::move(state.app_handler)]() mutable {
                              handler(boost::system::error_code());
                            });
        }
        return;
      }
      state.write_in_flight = true;
      state.inner.AsyncWrite(boost::asio::buffer(state.writing),
                             [self](boost::system::error_code error, std::size_t) {
                               OnWriteDone(self, error);
                             });
    }

    // Ends the application write, queued or in flight, with `error`. One in
    // flight ends here, not when the inner write completes: that completion
    // may never run (stopped executor), and the handler often owns this state.
    static void AbortAppWrite(State& state, boost::system::error_code error) {
      if (!state.has_app_write && !state.app_write_in_flight) return;
      state.has_app_write = false;
      state.app_write_in_flight = false;
      state.app_wire.clear();
      boost::asio::post(state.inner.get_executor(),
                        [handler = std::move(state.app_handler), error]() mutable {
                          handler(error);
                        });
      state.app_handler = nullptr;
    }

    // The closing bytes, then the inner stream's Close() (or CloseAtOnce()).
    static void FinishClose(State& state, InnerClose how) {
      AbortAppWrite(state, boost::asio::error::operation_aborted);
      if (state.is_inner_closed) return;
      state.is_inner_closed = true;
      if (state.linger_timer) state.linger_timer->cancel();
      if constexpr (TrySendable<Inner>) {
        if (!state.write_in_flight) {
          std::string last;
          state.codec.TakeWireOutput(last);
          state.codec.EncodeClose(state.close_code, state.close_reason, last);
          boost::system::error_code ignored;
          if (!last.empty()) state.inner.TrySendNow(last.data(), last.size(), ignored);
        }
      }
      if constexpr (requires { state.inner.CloseAtOnce(); }) {
        if (how == InnerClose::kAtOnce) return state.inner.CloseAtOnce();
      }
      state.inner.Close();
    }

    static void OnWriteDone(const std::shared_ptr<State>& self, boost::system::error_code error) {
      State& state = *self;
      state.write_in_flight = false;
      if (state.is_closed) {
        if (state.app_write_in_flight) {
          state.app_write_in_flight = false;
          auto handler = std::move(state.app_handler);
          handler(boost::asio::error::operation_aborted);
        }
        return FinishClose(state, InnerClose::kGraceful);
      }
      if (state.writing.capacity() > kMaxRetainedBufferBytes) std::string().swap(state.writing);
      if (state.app_write_in_flight) {
        state.app_write_in_flight = false;
        auto handler = std::move(state.app_handler);
        handler(error);  // may queue the next application write
      }
      if (error) return AbortAppWrite(state, error);
      if (state.is_closed || state.write_in_flight) return;
      if (state.has_app_write || state.codec.has_wire_output()) StartWrite(self);
    }

    Inner inner;
    Codec codec;
    std::string writing;   // wire bytes of the write in flight
    std::string app_wire;  // wire bytes of the application write waiting
    bool has_app_write = false;
    bool write_in_flight = false;
    bool app_write_in_flight = false;
    bool is_closed = false;        // Close() was called
    bool is_inner_closed = false;  // the inner stream was closed
    // Bounds how long Close() waits for the write in flight.
    std::optional<boost::asio::basic_waitable_timer<
        std::chrono::steady_clock, boost::asio::wait_traits<std::chrono::steady_clock>,
        executor_type>>
        linger_timer;
    std::function<void(boost::system::error_code)> app_handler;
    int close_code = 1000;
    std::string close_reason;
  };

  // Decoding held-back input may produce codec output (a PONG): send it.
  std::size_t ReadDecoded(boost::asio::mutable_buffer buffer) {
    std::size_t count =
        state_->codec.ReadApp(static_cast<char*>(buffer.data()), buffer.size());
    FlushWireOutput();
    return count;
  }

  static char* Scratch() {
    thread_local std::unique_ptr<char[]> scratch(new char[kScratchBytes]);
    return scratch.get();
  }

  std::shared_ptr<State> state_;
};

}  // namespace embed::net
