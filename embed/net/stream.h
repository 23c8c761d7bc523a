#pragma once
// The byte-stream concept every transport in net provides (TCP now; TLS,
// WebSocket and the in-process pipe next) and every session is written
// against. A stream knows no protocol. Used from its executor's thread only.

#include <concepts>
#include <cstddef>
#include <string>

#include <boost/asio/buffer.hpp>
#include <boost/system/error_code.hpp>

namespace embed::net {

// What a session needs from a stream:
//  - ReadSome: copy available bytes without blocking (would_block when none);
//  - AsyncWaitReadable: wait for readability without holding a buffer, so
//    idle connections own no read memory;
//  - AsyncWrite: one gathered write at a time;
//  - Close: idempotent; pending operations complete with operation_aborted.
template <typename Stream>
concept ByteStream = requires(Stream& stream, const Stream& const_stream,
                              boost::asio::mutable_buffer buffer,
                              boost::system::error_code& error) {
  typename Stream::executor_type;
  { stream.get_executor() } -> std::convertible_to<typename Stream::executor_type>;
  { stream.ReadSome(buffer, error) } -> std::same_as<std::size_t>;
  stream.AsyncWaitReadable([](boost::system::error_code) {});
  stream.AsyncWrite(boost::asio::const_buffer(), [](boost::system::error_code, std::size_t) {});
  stream.Close();
  { const_stream.remote_address() } -> std::convertible_to<std::string>;
};

// Streams that can also write from a thread other than their executor's
// (plain TCP; not TLS, whose state is single-threaded). Sessions use it to
// deliver to a receiver on another I/O thread without waking that thread.
template <typename Stream>
concept CrossThreadSendable =
    ByteStream<Stream> && requires(Stream& stream, const char* data, std::size_t size,
                                   boost::system::error_code& error) {
      { stream.TrySendFromAnyThread(data, size, error) } -> std::same_as<std::size_t>;
    };

}  // namespace embed::net
