// The NATS port's sessions: plain TCP, and TLS the way nats-server does it
// (INFO with tls_required in clear, then the client starts the handshake).

#include "embed/broker/internal/session_start.h"
#include "embed/net/layered_stream.h"
#include "embed/net/tls/tls_codec.h"
#include "embed/net/tls/tls_context.h"

namespace embed::broker::internal {

void StartTcpSession(IoWorker& worker, net::TcpSocket socket, const ListenerSetup& setup) {
  net::TcpStream tcp(std::move(socket));
  if (!setup.tls) {
    StartSession(worker, std::move(tcp), *setup.config);
    return;
  }
  using TlsStream = net::LayeredStream<net::TcpStream, net::TlsCodec>;
  auto session = StartSession(
      worker,
      TlsStream(std::move(tcp), net::TlsCodec::Server(setup.tls, /*plaintext_first_write=*/true)),
      *setup.config);
  if (session) session->SetHandshakeDeadline(worker.shared().clock->Now() + setup.tls_handshake_timeout);
}

}  // namespace embed::broker::internal
