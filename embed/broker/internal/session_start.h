#pragma once
// Starting sessions: one entry point per kind of listener, each compiled in
// its own file so a change to one transport recompiles little. They run on
// the worker's thread that will own the connection, perform the transport's
// own handshake (TLS, WebSocket upgrade), then hand the stream to
// StartSession(), which is the same for every transport.

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <utility>

#include "embed/broker/client_session.h"
#include "embed/broker/internal/io_worker.h"
#include "embed/broker/session_config.h"
#include "embed/net/inproc/pipe_stream.h"
#include "embed/net/tcp_stream.h"
#include "embed/net/websocket/ws_handshake.h"

namespace embed::net {
class TlsContext;
}

namespace embed::broker::internal {

// What a listener's sessions share; owned by the broker, outlives them.
struct ListenerSetup {
  const SessionConfig* config = nullptr;
  // TLS on this listener when set.
  std::shared_ptr<net::TlsContext> tls;
  std::chrono::milliseconds tls_handshake_timeout{2'000};
  // WebSocket listeners only.
  net::WsServerOptions websocket;
  std::chrono::milliseconds ws_handshake_timeout{2'000};
};

// Counts the connection (or rejects it over max_connections) and starts the
// session; nullptr (the stream closed) when the worker has shut down.
// Worker thread only.
template <net::ByteStream Stream>
std::shared_ptr<ClientSession<Stream>> StartSession(IoWorker& worker, Stream stream,
                                                    const SessionConfig& config) {
  if (worker.is_shut_down()) {
    // A handshake that finished while the broker was stopping.
    stream.Close();
    return nullptr;
  }
  BrokerShared& shared = worker.shared();
  // max_connections 0 = unlimited.
  bool is_over_limit = shared.max_connections != 0 &&
                       shared.connections.load(std::memory_order_relaxed) >= shared.max_connections;
  if (!is_over_limit) {
    shared.connections.fetch_add(1, std::memory_order_relaxed);
    shared.total_connections.fetch_add(1, std::memory_order_relaxed);
  }
  std::uint64_t client_id = shared.next_client_id.fetch_add(1, std::memory_order_relaxed);
  auto session =
      std::make_shared<ClientSession<Stream>>(std::move(stream), worker, config, client_id);
  session->Start(is_over_limit);
  return session;
}

// NATS port: plain TCP, or TLS after the clear INFO when setup.tls is set.
void StartTcpSession(IoWorker& worker, net::TcpSocket socket, const ListenerSetup& setup);
// WebSocket port: (TLS handshake,) HTTP upgrade, then the session.
void StartWebSocketSession(IoWorker& worker, net::TcpSocket socket, const ListenerSetup& setup);
// In-process connection: the broker's end of a pipe.
void StartPipeSession(IoWorker& worker, net::PipeStream stream, const SessionConfig& config);

}  // namespace embed::broker::internal
