// The WebSocket port's sessions (nats-wire.md §7): for wss the TLS handshake
// first, then the HTTP upgrade within ws_handshake_timeout, then the same
// session as on the NATS port, over WebSocket frames.

#include "embed/broker/internal/session_start.h"
#include "embed/net/layered_stream.h"
#include "embed/net/tls/tls_codec.h"
#include "embed/net/tls/tls_context.h"
#include "embed/net/websocket/ws_codec.h"
#include "embed/net/websocket/ws_connect.h"

namespace embed::broker::internal {
namespace {

template <net::ByteStream Inner>
void Upgrade(IoWorker& worker, Inner inner, const ListenerSetup& setup) {
  net::AsyncWsAccept(
      std::move(inner), setup.websocket, setup.ws_handshake_timeout,
      [&worker, config = setup.config](Result<net::LayeredStream<Inner, net::WsCodec>> stream) {
        if (!stream.ok()) {
          Logger* logger = worker.shared().logger;
          if (logger != nullptr && logger->IsEnabled(LogLevel::kDebug)) {
            logger->Log(LogLevel::kDebug,
                        "websocket upgrade failed: " + stream.status().ToString());
          }
          return;
        }
        StartSession(worker, std::move(stream).value(), *config);
      });
}

}  // namespace

void StartWebSocketSession(IoWorker& worker, net::TcpSocket socket, const ListenerSetup& setup) {
  net::TcpStream tcp(std::move(socket));
  if (!setup.tls) return Upgrade(worker, std::move(tcp), setup);
  using TlsStream = net::LayeredStream<net::TcpStream, net::TlsCodec>;
  // The upgrade's timeout also bounds the TLS handshake: the request only
  // arrives once TLS is up.
  Upgrade(worker,
          TlsStream(std::move(tcp), net::TlsCodec::Server(setup.tls,
                                                          /*plaintext_first_write=*/false)),
          setup);
}

}  // namespace embed::broker::internal
