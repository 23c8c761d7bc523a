#pragma once
// TlsCodec: one TLS session as a sans-I/O codec (net::StreamCodec,
// layered_stream.h): wire bytes in, plaintext out and back, through OpenSSL
// memory BIOs. LayeredStream<TcpStream, TlsCodec> is a TLS byte stream.
// NATS starts TLS after a plaintext INFO (server: plaintext_first_write;
// client: start_in_plaintext + StartHandshake()). Not thread-safe: one per
// connection, used on its executor's thread; contexts may be shared.
//
//   LayeredStream<TcpStream, TlsCodec> stream(
//       TcpStream(std::move(socket)), TlsCodec::Client(context, "localhost", false));
//   stream.FlushWireOutput();  // sends the ClientHello

#include <cstddef>
#include <memory>
#include <string>
#include <string_view>

#include <boost/system/error_code.hpp>

#include "embed/net/tls/tls_context.h"

namespace embed::net {

// The error category of TlsCodec::error(): a value is an OpenSSL error code
// (library and reason) and message() is OpenSSL's reason, e.g. "certificate
// verify failed"; tls_errc values are our own.
const boost::system::error_category& TlsCategory();

namespace tls_errc {
// The TLS session failed without an OpenSSL reason.
constexpr int kFailed = 1;
// The peer sent more wire bytes than the codec holds before TLS starts.
constexpr int kTooMuchInput = 2;
}  // namespace tls_errc

class TlsCodec {
 public:
  // Wire bytes the codec holds at most while it may not decode them yet
  // (before the first write in plaintext_first_write mode); more is an error.
  static constexpr std::size_t kMaxPendingWireBytes = 256 * 1024;

  // Server side of `context` (a server context). plaintext_first_write: the
  // first EncodeApp() passes its bytes through in clear (NATS sends INFO in
  // plaintext, then expects the handshake); wire input is decoded as TLS
  // only after that write.
  static TlsCodec Server(std::shared_ptr<TlsContext> context, bool plaintext_first_write);

  // Client side of `context` (a client context). server_name: sent as SNI
  // (unless an IP literal) and, when the context verifies, matched against
  // the server's certificate (a DNS name or an IP address); empty: neither.
  // start_in_plaintext: bytes pass through both ways until StartHandshake();
  // otherwise the ClientHello is queued at once (the caller flushes it with
  // LayeredStream::FlushWireOutput()).
  static TlsCodec Client(std::shared_ptr<TlsContext> context, std::string server_name,
                         bool start_in_plaintext);

  TlsCodec(TlsCodec&&) noexcept;
  TlsCodec& operator=(TlsCodec&&) noexcept;
  ~TlsCodec();

  // Client: ends plaintext mode and queues the ClientHello (the caller then
  // calls LayeredStream::FlushWireOutput()). No effect when TLS has started.
  void StartHandshake();

  // True once the handshake completed (application data is encrypted).
  bool handshake_done() const;

  // The subject of the peer's certificate (RFC 2253), "" if none; for logs.
  std::string peer_certificate_subject() const;

  // The failure in more words than error().message(), e.g. "certificate
  // verify failed (hostname mismatch)"; "" while there is no error.
  const std::string& error_reason() const;

  // net::StreamCodec. EncodeApp leaves TLS records inside the codec and
  // TakeWireOutput hands them out: records must leave in the order they were
  // made, and LayeredStream sends codec output before the application bytes
  // of a write. Plaintext before the handshake ends is held and encrypted
  // when it ends.
  void OnWireInput(std::string_view bytes);
  bool has_app_data() const;
  std::size_t ReadApp(char* out, std::size_t size);
  void EncodeApp(std::string_view bytes, std::string& wire);
  bool has_wire_output() const;
  void TakeWireOutput(std::string& wire);
  boost::system::error_code error() const;
  // Queues close_notify (after the handshake); `code` and `reason` are unused.
  void EncodeClose(int code, std::string_view reason, std::string& wire);

 private:
  struct State;
  explicit TlsCodec(std::unique_ptr<State> state);

  std::unique_ptr<State> state_;
};

}  // namespace embed::net
