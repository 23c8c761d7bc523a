#pragma once
// The native client's transports behind one small stream interface, so the
// ConnectionEngine never touches a socket: ClientStream is a type-erased
// net::ByteStream (TCP, TLS, WebSocket over TCP or TLS, in-process pipe), and
// Dial() opens one for a ServerUrl: resolve + connect (nats://, tls://), and
// for ws:// / wss:// also the TLS handshake (wss) and the HTTP upgrade, or
// an in-process dial (inproc://<name>). TLS on the NATS port starts later,
// after the plaintext INFO (ClientStream::StartTls). Internal: includes
// Asio; used by connection_engine.cc and tests only. A stream and a dial are
// used on the thread of their io_context only.

#include <chrono>
#include <cstddef>
#include <functional>
#include <memory>
#include <string>

#include <boost/asio/buffer.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/system/error_code.hpp>

#include "embed/base/result.h"
#include "embed/client/connection_options.h"
#include "embed/client/server_url.h"

namespace embed::net {
class TlsContext;
}  // namespace embed::net

namespace embed::client::internal {

// A connected byte stream to a server (the shape of net::ByteStream, with
// std::function handlers). Handlers run on the stream's io_context.
class ClientStream {
 public:
  using WaitHandler = std::function<void(boost::system::error_code)>;
  using WriteHandler = std::function<void(boost::system::error_code, std::size_t)>;

  virtual ~ClientStream() = default;

  // handler(error) once ReadSome() may return bytes (or an error). At most
  // one wait outstanding.
  virtual void AsyncWaitReadable(WaitHandler handler) = 0;
  // Copies available bytes without blocking; would_block when none, eof when
  // the server closed, another error when the transport failed.
  virtual std::size_t ReadSome(boost::asio::mutable_buffer buffer,
                               boost::system::error_code& error) = 0;
  // Writes every byte of `buffer` (which stays valid until the handler ran);
  // at most one write outstanding.
  virtual void AsyncWrite(boost::asio::const_buffer buffer, WriteHandler handler) = 0;

  // TLS on the NATS port is possible on this stream (plain TCP: nats://, tls://).
  virtual bool is_tls_capable() const { return false; }
  // Starts the TLS handshake as a client of `context`, verifying
  // `server_name`. Call between reads (no wait outstanding) and before any
  // write; later writes are held until the handshake completed, and reads
  // drive it. kFailedPrecondition when not TLS-capable or already started.
  virtual Status StartTls(std::shared_ptr<net::TlsContext> context, std::string server_name);
  // TLS runs on this stream (started, or part of the transport: wss://).
  virtual bool is_tls() const { return false; }

  // A user-facing reason for a ReadSome / wait / write error, e.g. "server
  // closed the connection" or "TLS handshake failed: certificate verify
  // failed".
  virtual std::string DescribeError(const boost::system::error_code& error) const;

  // Closes (orderly where the transport has a closing handshake, best
  // effort); pending operations complete with an error. Idempotent.
  virtual void Close() = 0;
};

// How Dial() connects, besides the URL.
struct DialOptions {
  // Resolve + connect (+ TLS handshake and upgrade for wss:// and ws://).
  std::chrono::milliseconds timeout{2'000};
  // wss://: the client TLS context (required for wss://).
  std::shared_ptr<net::TlsContext> tls_context;
  // SNI and certificate name; empty = the URL's host.
  std::string tls_server_name;
  // ws://, wss://: offer permessage-deflate.
  bool ws_compression = false;
};

// A dial in progress.
class PendingDial {
 public:
  virtual ~PendingDial() = default;
  // Stops the dial; its handler never runs afterwards. Idempotent.
  virtual void Cancel() = 0;
};

using DialHandler = std::function<void(Result<std::unique_ptr<ClientStream>>)>;

// Opens a stream to `server`; handler runs once on `io`'s thread (never from
// inside Dial()) with the stream or an error: kTimeout "connect timed out",
// kUnavailable (cannot resolve, refused, upgrade or WebSocket TLS failed, no
// in-process server under the name), kInvalidArgument (wss:// without a TLS
// context). nats:// and tls:// give a plain TCP stream (TLS comes after INFO).
std::shared_ptr<PendingDial> Dial(boost::asio::io_context& io, const ServerUrl& server,
                                  const DialOptions& options, DialHandler handler);

// The client TLS context of `tls` (certificate, key, CA bundle, verify);
// errors name the bad setting or file.
Result<std::shared_ptr<net::TlsContext>> MakeClientTlsContext(const TlsOptions& tls);

}  // namespace embed::client::internal
