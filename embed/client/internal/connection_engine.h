#pragma once
// ConnectionEngine: the native driver behind client::Connection. It runs
// ClientCore on its own Asio I/O thread over any transport (transport.h:
// TCP, TLS, WebSocket, in-process) and hands user work to a Dispatcher
// thread; it holds no protocol rules and touches no socket. It dials, reads,
// writes (one write per wake-up of everything publishers appended
// meanwhile), starts TLS when the core asks for it, arms the core's timer,
// reconnects, and turns core events into completions and dispatcher items.
// Public methods are thread-safe.

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <random>
#include <string>
#include <string_view>
#include <thread>
#include <unordered_map>
#include <utility>
#include <vector>

#include "embed/base/logger.h"
#include "embed/base/result.h"
#include "embed/client/connection.h"
#include "embed/client/connection_options.h"
#include "embed/client/internal/client_core.h"
#include "embed/client/internal/dispatcher.h"
#include "embed/client/internal/transport.h"
#include "embed/client/reconnect_policy.h"
#include "embed/client/server_url.h"

namespace embed::client::internal {

namespace asio = boost::asio;

// The outcome slot of a blocking Request or Flush.
struct ReplySlot {
  std::condition_variable done_cv;
  bool is_done = false;
  std::optional<Result<Message>> reply;
};
struct FlushSlot {
  std::condition_variable done_cv;
  bool is_done = false;
  Status status;
};
struct PendingRequest {
  std::shared_ptr<ReplySlot> slot;  // blocking Request
  ReplyHandler handler;             // RequestAsync
};

// The connection's shared state. Owned by the Connection handle and by every
// Subscription handle (a Subscription may outlive its Connection), hence
// shared_ptr. The I/O thread never owns it and is joined by Close(); the
// dispatcher is joined too, or detached when Close() runs on it, and its
// tasks then hold copies of what they need, never the engine.
// The public methods keep the contracts of client::Connection's.
class ConnectionEngine : public std::enable_shared_from_this<ConnectionEngine> {
 public:
  ConnectionEngine(ConnectionOptions options, std::vector<ServerUrl> servers);
  // Close()s.
  ~ConnectionEngine();

  // Starts the I/O thread and waits for the first connection.
  Status Start();

  Status Publish(std::string_view subject, ByteView payload, std::string_view reply_to,
                 const wire::Headers* headers);

  // Registers a subscription; the caller wraps the state in a Subscription.
  Result<std::shared_ptr<SubscriptionState>> Subscribe(std::string_view subject,
                                                       MessageHandler handler,
                                                       const SubscribeOptions& options);

  Result<Message> Request(const Message& request, std::chrono::milliseconds timeout);

  void RequestAsync(const Message& request, std::chrono::milliseconds timeout,
                    ReplyHandler on_reply);

  Status Flush(std::chrono::milliseconds timeout);

  Status Drain(std::chrono::milliseconds timeout);
  void Close();

  Status Unsubscribe(SubscriptionState& subscription, std::uint64_t max_messages);

  Status DrainSubscription(SubscriptionState& subscription, std::chrono::milliseconds timeout);

  std::size_t PendingMessages(const SubscriptionState& s) const;
  std::size_t PendingBytes(const SubscriptionState& s) const { return dispatcher_.PendingBytes(s); }

  ConnectionState state() const;
  std::string connected_url() const;
  std::int64_t max_payload() const;
  std::string NewInbox();

 private:
  // ---- Called with mutex_ held, from any thread. ----

  // Makes the I/O thread look at the core when it has something to do.
  void WakeLocked();

  Status FlushLocked(std::unique_lock<std::mutex>& lock,
                     std::chrono::steady_clock::time_point deadline);

  void SetStateLocked(ConnectionState state);

  void EmitEventLocked(ConnectionEvent event);

  // Calls the user's logger; never with mutex_ held.
  void Log(LogLevel level, const std::string& message);
  // With mutex_ held: queues a line for EmitPendingLogs().
  void LogLocked(LogLevel level, std::string message);
  // Without mutex_: logs the queued lines.
  void EmitPendingLogs();

  // ---- I/O thread only. ----

  void StartConnectAttempt(std::size_t index);

  void TransportConnected(std::uint64_t generation, std::unique_ptr<ClientStream> stream);

  // Waits for readability, then ReadAvailable().
  void StartRead(std::uint64_t generation);
  // Reads what the stream has (bounded per wake-up) into the core.
  void ReadAvailable(std::uint64_t generation);
  void StreamFailed(std::uint64_t generation, const boost::system::error_code& error);
  // With mutex_ held: the core read INFO and waits for TLS. Starts it.
  Status StartTlsLocked();
  // Closes the stream and destroys it later (never inside its own callbacks).
  void RetireStream();

  void StartWriteLocked();

  void ArmTimerLocked();

  // Writes, re-arms the timer and carries out the core's events.
  void AfterCoreActivity();

  void HandleEventLocked(ClientEvent& event);

  // The current transport is gone (or never came up). Decides between the
  // next server of the first connect, a reconnect, or closing.
  void HandleDisconnect(std::uint64_t generation, Status reason, AfterDisconnect after);

  void ScheduleReconnect();

  // Closes for good: writes what is queued (after the write in flight) for
  // at most kCloseFlushTimeout, then FinishClose().
  void CloseFromIo(const Status& reason);
  // The write in flight when CloseFromIo() ran has completed.
  void ClosingWriteDone(const boost::system::error_code& error);
  void WriteCloseBytes();
  // Closes the stream and stops the I/O thread. Idempotent.
  void FinishClose();

  const ConnectionOptions options_;
  const std::vector<ServerUrl> servers_;

  asio::io_context io_;
  asio::executor_work_guard<asio::io_context::executor_type> work_;
  // Made once: at Start() when a URL or the options need TLS, else when a
  // server requires it.
  std::shared_ptr<net::TlsContext> tls_context_;
  // I/O thread only: the transport, and the dial in progress.
  std::unique_ptr<ClientStream> stream_;
  std::shared_ptr<PendingDial> dial_;
  // Bounds the writes of Close().
  asio::steady_timer close_timer_;
  asio::steady_timer core_timer_;
  asio::steady_timer reconnect_timer_;
  std::thread io_thread_;
  Dispatcher dispatcher_;

  // Guards everything below up to the I/O-thread-only section.
  mutable std::mutex mutex_;
  std::condition_variable state_changed_;
  std::condition_variable output_space_;
  ClientCore core_;
  ConnectionState state_ = ConnectionState::kConnecting;
  std::optional<Status> initial_result_;
  bool is_closed_ = false;
  bool transport_up_ = false;
  bool write_in_flight_ = false;
  bool wake_posted_ = false;
  std::optional<std::chrono::steady_clock::time_point> armed_deadline_;
  std::size_t server_index_ = 0;
  std::unordered_map<std::uint64_t, std::shared_ptr<SubscriptionState>> subscriptions_;
  std::unordered_map<std::uint64_t, PendingRequest> requests_;
  std::unordered_map<std::uint64_t, std::shared_ptr<FlushSlot>> flushes_;
  std::vector<Dispatcher::Item> items_;
  std::vector<ClientEvent> events_;
  std::vector<std::pair<LogLevel, std::string>> pending_logs_;

  // I/O thread only.
  std::uint64_t generation_ = 0;
  bool is_closed_flag_ = false;
  Status last_error_;
  ReconnectPolicy reconnect_policy_;
  std::mt19937_64 rng_;
  static constexpr std::size_t kReadBufferBytes = 256 * 1024;
  // Reads per readiness wake-up before timers and writes get a turn.
  static constexpr int kMaxReadsPerWake = 16;
  // Not zeroed: only the pages a read fills become resident.
  std::unique_ptr<char[]> read_buffer_{new char[kReadBufferBytes]};
  std::string write_buffer_;
  // Close: the bytes left to write, and the write in flight then.
  std::string close_bytes_;
  bool closing_write_in_flight_ = false;
  std::uint64_t closing_write_generation_ = 0;
  bool is_close_finished_ = false;

  std::mutex close_mutex_;
  bool close_started_ = false;
};

}  // namespace embed::client::internal
