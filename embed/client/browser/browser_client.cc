// The browser client: the portable ClientCore driven by the browser's
// WebSocket (emscripten/websocket.h), emscripten timers and
// emscripten_get_now(). Everything runs on the page's event loop: no threads,
// no blocking waits. It exports a small C API (embed_browser_*) that
// embed_client.mjs wraps; events go back to JavaScript through the EM_JS
// functions below, synchronously, and the facade defers user callbacks, so
// nothing here is re-entered while it runs.
//
// Connection life cycle, as the native ConnectionEngine: connect to the
// servers in order (each once on the first connect), then on a loss wait as
// ReconnectPolicy says and reconnect; the core buffers publishes made while
// disconnected and resubscribes on reconnect.

#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <memory>
#include <optional>
#include <random>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

#include <emscripten/emscripten.h>
#include <emscripten/eventloop.h>
#include <emscripten/websocket.h>

#include "embed/base/status.h"
#include "embed/client/internal/client_core.h"
#include "embed/client/reconnect_policy.h"

namespace {

using embed::ByteView;
using embed::Status;
using embed::SteadyTime;
using embed::client::Message;
using embed::client::ReconnectPolicy;
namespace core = embed::client::internal;

// State codes reported to JavaScript (embed_client.mjs mirrors them).
enum class JsState : int {
  kConnected = 1,
  kDisconnected = 2,
  kReconnecting = 3,
  kReconnected = 4,
  kClosed = 5,
};

// Close code the client uses for a normal close.
constexpr unsigned short kWsNormalClose = 1000;

// Send back-pressure, as the native client's kMaxQueuedOutputBytes: while the
// WebSocket holds more than this many unsent bytes (bufferedAmount), output
// stays in the core and is retried every kSendRetryMillis; while the core
// itself holds more than this many bytes, publishes and requests fail with
// kResourceExhausted (nothing accepted is dropped or reordered).
constexpr std::size_t kMaxQueuedOutputBytes = 8 * 1024 * 1024;
constexpr double kSendRetryMillis = 10;

SteadyTime Now() {
  const auto micros = static_cast<std::int64_t>(emscripten_get_now() * 1000.0);
  return SteadyTime(std::chrono::duration_cast<embed::Duration>(std::chrono::microseconds(micros)));
}

double MillisUntil(SteadyTime deadline) {
  const auto left = std::chrono::duration<double, std::milli>(deadline - Now()).count();
  return left < 0 ? 0 : left;
}

// Headers travel to and from JavaScript as "key\nvalue\nkey\nvalue..." (a
// value never holds a line break: encoding replaces CR/LF).
std::string FlattenHeaders(const embed::wire::Headers& headers) {
  std::string out;
  for (const auto& [key, value] : headers.entries()) {
    out += key;
    out += '\n';
    out += value;
    out += '\n';
  }
  return out;
}

embed::Result<embed::wire::Headers> ParseFlatHeaders(std::string_view text) {
  embed::wire::Headers headers;
  while (!text.empty()) {
    const std::size_t key_end = text.find('\n');
    if (key_end == std::string_view::npos) {
      return embed::InvalidArgumentError("header without a value");
    }
    const std::string_view key = text.substr(0, key_end);
    text.remove_prefix(key_end + 1);
    const std::size_t value_end = text.find('\n');
    const std::string_view value = text.substr(0, value_end);
    text.remove_prefix(value_end == std::string_view::npos ? text.size() : value_end + 1);
    if (!embed::wire::IsValidHeaderKey(key)) {
      return embed::InvalidArgumentError("invalid header name \"" + embed::EscapeForLog(key) +
                                         "\"");
    }
    headers.Add(key, value);
  }
  return headers;
}

std::vector<std::string> SplitLines(std::string_view text) {
  std::vector<std::string> parts;
  while (!text.empty()) {
    const std::size_t end = text.find('\n');
    const std::string_view part = text.substr(0, end);
    if (!part.empty()) parts.emplace_back(part);
    if (end == std::string_view::npos) break;
    text.remove_prefix(end + 1);
  }
  return parts;
}

}  // namespace

// Calls into embed_client.mjs, which registers Module.embedClients[handle].
// Each copies what it needs before returning.
// clang-format off
EM_JS(void, embed_js_on_state, (int handle, int state, int code, const char* reason), {
  const c = Module.embedClients && Module.embedClients.get(handle);
  if (c) c.onState(state, code, UTF8ToString(reason));
});
EM_JS(void, embed_js_on_message, (int handle, double sid, const char* subject, const char* reply,
                                  int has_headers, int status, const char* description,
                                  const char* headers, const char* payload, int payload_size), {
  const c = Module.embedClients && Module.embedClients.get(handle);
  if (c) c.onMessage(sid, UTF8ToString(subject), UTF8ToString(reply), has_headers, status,
                     UTF8ToString(description), UTF8ToString(headers),
                     HEAPU8.slice(payload, payload + payload_size));
});
EM_JS(void, embed_js_on_reply, (int handle, double id, int code, const char* error,
                                const char* subject, int has_headers, int status,
                                const char* description, const char* headers,
                                const char* payload, int payload_size), {
  const c = Module.embedClients && Module.embedClients.get(handle);
  if (c) c.onReply(id, code, UTF8ToString(error), UTF8ToString(subject), has_headers, status,
                   UTF8ToString(description), UTF8ToString(headers),
                   HEAPU8.slice(payload, payload + payload_size));
});
EM_JS(void, embed_js_on_flush, (int handle, double id, int code, const char* error), {
  const c = Module.embedClients && Module.embedClients.get(handle);
  if (c) c.onFlush(id, code, UTF8ToString(error));
});
EM_JS(void, embed_js_on_error, (int handle, int code, const char* error), {
  const c = Module.embedClients && Module.embedClients.get(handle);
  if (c) c.onError(code, UTF8ToString(error));
});
EM_JS(void, embed_js_on_subscription_done, (int handle, double sid), {
  const c = Module.embedClients && Module.embedClients.get(handle);
  if (c) c.onSubscriptionDone(sid);
});
// emscripten 3.1.6's emscripten_websocket_delete() leaves the WebSocket in its
// table (it deletes the wrong key); a client that retries forever would keep
// every failed socket alive.
EM_JS(void, embed_js_forget_socket, (int socket), {
  if (typeof WS !== 'undefined' && WS.sockets) delete WS.sockets[socket];
});
// The bytes the browser has accepted from send() but not yet written to the
// network (WebSocket.bufferedAmount); 0 for an unknown socket.
EM_JS(double, embed_js_buffered_amount, (int socket), {
  const s = typeof WS !== 'undefined' && WS.sockets ? WS.sockets[socket] : null;
  return s ? Number(s.bufferedAmount) || 0 : 0;
});
// Sends one binary frame. Returns 0, or 1 when the socket is unknown or
// send() threw (it does in the CONNECTING state): a JavaScript exception must
// not unwind through the wasm frames of the caller.
EM_JS(int, embed_js_send, (int socket, const char* data, int size), {
  const s = typeof WS !== 'undefined' && WS.sockets ? WS.sockets[socket] : null;
  if (!s) return 1;
  try {
    s.send(HEAPU8.subarray(data, data + size));
    return 0;
  } catch (e) {
    return 1;
  }
});
// clang-format on

namespace {

struct BrowserOptions {
  std::vector<std::string> servers;
  std::string name;
  std::string user, password, token;
  bool allow_reconnect = true;
  int max_reconnect_attempts = 60;
  std::chrono::milliseconds reconnect_wait{2000};
  std::chrono::milliseconds reconnect_jitter{100};
  std::chrono::milliseconds reconnect_wait_max{0};
  std::chrono::milliseconds connect_timeout{2000};
  std::chrono::milliseconds ping_interval{120'000};
  std::size_t reconnect_buffer_bytes = 8 * 1024 * 1024;
  bool echo = true;
};

class BrowserClient {
 public:
  explicit BrowserClient(BrowserOptions options)
      : options_(std::move(options)),
        core_(CoreOptions(options_)),
        policy_(options_.servers.size(), options_.max_reconnect_attempts, options_.reconnect_wait,
                options_.reconnect_jitter, options_.reconnect_wait_max),
        rng_(std::random_device{}()) {}

  ~BrowserClient() {
    CancelTimers();
    DropSocket();
  }

  BrowserClient(const BrowserClient&) = delete;
  BrowserClient& operator=(const BrowserClient&) = delete;

  int handle() const { return static_cast<int>(reinterpret_cast<std::uintptr_t>(this)); }
  const std::string& last_error() const { return last_error_; }
  int last_code() const { return last_code_; }
  core::ClientCore& core() { return core_; }

  // Publishes and requests are refused while the core holds more output than
  // kMaxQueuedOutputBytes (the WebSocket is not draining it).
  Status CheckOutputSpace() const {
    if (core_.output_bytes() > kMaxQueuedOutputBytes) {
      return embed::ResourceExhaustedError(
          "too much output queued: the WebSocket is not sending fast enough");
    }
    return Status::Ok();
  }
  bool is_closed() const { return is_closed_; }

  void Start() { StartConnectAttempt(0); }

  // Records `status` for embed_browser_last_error() and returns its code.
  int Fail(const Status& status) {
    last_error_ = std::string(status.message());
    last_code_ = static_cast<int>(status.code());
    return last_code_;
  }

  // After any call that may have produced output, events or deadlines.
  void AfterCoreActivity() {
    if (is_closed_) return;
    std::optional<core::DisconnectedEvent> disconnected;
    core_.TakeEvents(events_);
    std::vector<core::ClientEvent> events;
    events.swap(events_);
    for (core::ClientEvent& event : events) {
      if (auto* lost = std::get_if<core::DisconnectedEvent>(&event)) {
        disconnected = std::move(*lost);
      } else {
        Dispatch(event);
      }
    }
    SendOutput();
    if (is_closed_) return;  // a failed send may have ended the client
    ArmCoreTimer();
    if (disconnected) HandleDisconnect(disconnected->reason, disconnected->after);
  }

  void Close() {
    if (is_closed_) return;
    is_closed_ = true;
    CancelTimers();
    if (socket_ > 0 && transport_up_) {
      std::string out;
      core_.TakeOutput(out);
      // Last words (bounded by the publish limit): the browser sends what it
      // holds before the close frame.
      if (!out.empty()) embed_js_send(socket_, out.data(), static_cast<int>(out.size()));
    }
    core_.Close();
    std::vector<core::ClientEvent> events;
    core_.TakeEvents(events);
    for (core::ClientEvent& event : events) {
      if (!std::holds_alternative<core::DisconnectedEvent>(event)) Dispatch(event);
    }
    if (socket_ > 0) {
      // The browser sends what is queued before the close frame.
      emscripten_websocket_close(socket_, kWsNormalClose, "closed");
    }
    DropSocket();
    transport_up_ = false;
    connected_ = false;
    embed_js_on_state(handle(), static_cast<int>(JsState::kClosed),
                      static_cast<int>(close_reason_.code()),
                      std::string(close_reason_.message()).c_str());
  }

 private:
  static core::ClientCoreOptions CoreOptions(const BrowserOptions& options) {
    core::ClientCoreOptions out;
    out.name = options.name;
    out.echo = options.echo;
    out.lang = "cpp-wasm";
    out.ping_interval = options.ping_interval;
    out.reconnect_buffer_bytes = options.reconnect_buffer_bytes;
    out.handshake_timeout = options.connect_timeout;
    return out;
  }

  void Dispatch(core::ClientEvent& event) {
    const int h = handle();
    if (auto* message = std::get_if<core::MessageEvent>(&event)) {
      const Message& m = message->message;
      embed_js_on_message(h, static_cast<double>(message->sid), m.subject.c_str(),
                          m.reply_to.c_str(), m.has_headers || !m.headers.empty(),
                          m.headers.status(), m.headers.description().c_str(),
                          FlattenHeaders(m.headers).c_str(), m.payload.data(),
                          static_cast<int>(m.payload.size()));
    } else if (auto* reply = std::get_if<core::ReplyEvent>(&event)) {
      const double id = static_cast<double>(reply->request_id);
      if (reply->reply.ok()) {
        const Message& m = *reply->reply;
        embed_js_on_reply(h, id, 0, "", m.subject.c_str(), m.has_headers || !m.headers.empty(),
                          m.headers.status(), m.headers.description().c_str(),
                          FlattenHeaders(m.headers).c_str(), m.payload.data(),
                          static_cast<int>(m.payload.size()));
      } else {
        const Status& status = reply->reply.status();
        embed_js_on_reply(h, id, static_cast<int>(status.code()),
                          std::string(status.message()).c_str(), "", 0, 0, "", "", nullptr, 0);
      }
    } else if (auto* flush = std::get_if<core::FlushEvent>(&event)) {
      embed_js_on_flush(h, static_cast<double>(flush->flush_id),
                        static_cast<int>(flush->status.code()),
                        std::string(flush->status.message()).c_str());
    } else if (auto* error = std::get_if<core::ErrorEvent>(&event)) {
      embed_js_on_error(h, static_cast<int>(error->status.code()),
                        std::string(error->status.message()).c_str());
    } else if (auto* done = std::get_if<core::SubscriptionDoneEvent>(&event)) {
      embed_js_on_subscription_done(h, static_cast<double>(done->sid));
    } else if (auto* connected = std::get_if<core::ConnectedEvent>(&event)) {
      policy_.OnConnected();
      connected_ = true;
      embed_js_on_state(h,
                        static_cast<int>(has_connected_ ? JsState::kReconnected
                                                        : JsState::kConnected),
                        0, options_.servers[server_index_].c_str());
      has_connected_ = true;
      (void)connected;
    }
  }

  void StartConnectAttempt(std::size_t index) {
    if (is_closed_) return;
    server_index_ = index;
    policy_.OnAttempt(index, Now());
    DropSocket();
    EmscriptenWebSocketCreateAttributes attributes;
    emscripten_websocket_init_create_attributes(&attributes);
    attributes.url = options_.servers[index].c_str();
    attributes.protocols = nullptr;  // no subprotocol
    attributes.createOnMainThread = EM_TRUE;
    const EMSCRIPTEN_WEBSOCKET_T socket = emscripten_websocket_new(&attributes);
    if (socket <= 0) {
      HandleDisconnect(embed::UnavailableError("cannot create a WebSocket to " +
                                               options_.servers[index]),
                       core::AfterDisconnect::kReconnect);
      return;
    }
    socket_ = socket;
    emscripten_websocket_set_onopen_callback(socket, this, &BrowserClient::OnOpen);
    emscripten_websocket_set_onmessage_callback(socket, this, &BrowserClient::OnMessage);
    emscripten_websocket_set_onclose_callback(socket, this, &BrowserClient::OnClose);
    emscripten_websocket_set_onerror_callback(socket, this, &BrowserClient::OnError);
    connect_timer_ = emscripten_set_timeout(&BrowserClient::OnConnectTimeout,
                                            static_cast<double>(options_.connect_timeout.count()),
                                            this);
  }

  static EM_BOOL OnOpen(int, const EmscriptenWebSocketOpenEvent* event, void* user) {
    auto* self = static_cast<BrowserClient*>(user);
    if (event->socket != self->socket_ || self->is_closed_) return EM_TRUE;
    self->ClearConnectTimer();
    self->transport_up_ = true;
    // The browser's WebSocket is the transport (wss:// is TLS already):
    // INFO's tls_required is about that layer, not one to add.
    self->core_.StartHandshake(Now(),
                               {self->options_.user, self->options_.password,
                                self->options_.token},
                               core::TlsPolicy::kBelowProtocol);
    self->AfterCoreActivity();
    return EM_TRUE;
  }

  static EM_BOOL OnMessage(int, const EmscriptenWebSocketMessageEvent* event, void* user) {
    auto* self = static_cast<BrowserClient*>(user);
    if (event->socket != self->socket_ || self->is_closed_) return EM_TRUE;
    std::uint32_t size = event->numBytes;
    if (event->isText && size > 0) --size;  // emscripten adds a NUL to text frames
    self->core_.Feed(ByteView(reinterpret_cast<const char*>(event->data), size), Now());
    self->AfterCoreActivity();
    return EM_TRUE;
  }

  static EM_BOOL OnClose(int, const EmscriptenWebSocketCloseEvent* event, void* user) {
    auto* self = static_cast<BrowserClient*>(user);
    if (event->socket != self->socket_ || self->is_closed_) return EM_TRUE;
    std::string reason = "the WebSocket closed (code " + std::to_string(event->code);
    if (event->reason[0] != '\0') reason += ": " + std::string(event->reason);
    reason += ")";
    self->HandleDisconnect(embed::UnavailableError(reason), core::AfterDisconnect::kReconnect);
    return EM_TRUE;
  }

  static EM_BOOL OnError(int, const EmscriptenWebSocketErrorEvent* event, void* user) {
    auto* self = static_cast<BrowserClient*>(user);
    if (event->socket != self->socket_ || self->is_closed_) return EM_TRUE;
    self->HandleDisconnect(embed::UnavailableError("WebSocket error on " +
                                                   self->options_.servers[self->server_index_]),
                           core::AfterDisconnect::kReconnect);
    return EM_TRUE;
  }

  static void OnConnectTimeout(void* user) {
    auto* self = static_cast<BrowserClient*>(user);
    self->connect_timer_ = 0;
    if (self->is_closed_ || self->transport_up_) return;
    self->HandleDisconnect(embed::TimeoutError("cannot connect to " +
                                               self->options_.servers[self->server_index_] +
                                               ": connect timed out"),
                           core::AfterDisconnect::kReconnect);
  }

  static void OnCoreTimer(void* user) {
    auto* self = static_cast<BrowserClient*>(user);
    self->core_timer_ = 0;
    self->armed_deadline_.reset();
    if (self->is_closed_) return;
    self->core_.OnTimer(Now());
    self->AfterCoreActivity();
  }

  static void OnReconnectTimer(void* user) {
    auto* self = static_cast<BrowserClient*>(user);
    self->reconnect_timer_ = 0;
    self->StartConnectAttempt(self->reconnect_index_);
  }

  // Hands the core's output to the WebSocket unless the WebSocket already
  // holds more than kMaxQueuedOutputBytes unsent; then the output stays in
  // the core (in order, behind nothing) and a retry timer is armed.
  void SendOutput() {
    if (!transport_up_ || socket_ <= 0 || !core_.has_output()) return;
    if (embed_js_buffered_amount(socket_) > static_cast<double>(kMaxQueuedOutputBytes)) {
      ArmSendRetry();
      return;
    }
    core_.TakeOutput(write_buffer_);
    if (embed_js_send(socket_, write_buffer_.data(), static_cast<int>(write_buffer_.size())) != 0) {
      HandleDisconnect(embed::UnavailableError("WebSocket send failed"),
                       core::AfterDisconnect::kReconnect);
    }
  }

  void ArmSendRetry() {
    if (send_retry_timer_ != 0) return;
    send_retry_timer_ = emscripten_set_timeout(&BrowserClient::OnSendRetry, kSendRetryMillis, this);
  }

  static void OnSendRetry(void* user) {
    auto* self = static_cast<BrowserClient*>(user);
    self->send_retry_timer_ = 0;
    if (self->is_closed_) return;
    self->AfterCoreActivity();
  }

  void ArmCoreTimer() {
    const std::optional<SteadyTime> deadline = core_.NextDeadline();
    if (deadline == armed_deadline_) return;
    if (core_timer_ != 0) emscripten_clear_timeout(core_timer_);
    core_timer_ = 0;
    armed_deadline_ = deadline;
    if (!deadline) return;
    core_timer_ = emscripten_set_timeout(&BrowserClient::OnCoreTimer, MillisUntil(*deadline), this);
  }

  void HandleDisconnect(Status reason, core::AfterDisconnect after) {
    if (is_closed_) return;
    ClearConnectTimer();
    if (socket_ > 0) emscripten_websocket_close(socket_, kWsNormalClose, "");
    DropSocket();
    transport_up_ = false;
    // The core may have ended the connection itself (stale pings, -ERR, a
    // protocol error) and be disconnected already: what counts is whether the
    // page was told "connected".
    const bool was_connected = connected_;
    connected_ = false;
    core_.OnTransportClosed();
    std::vector<core::ClientEvent> events;
    core_.TakeEvents(events);
    for (core::ClientEvent& event : events) {
      if (!std::holds_alternative<core::DisconnectedEvent>(event)) Dispatch(event);
    }
    ArmCoreTimer();
    if (was_connected) {
      embed_js_on_state(handle(), static_cast<int>(JsState::kDisconnected),
                        static_cast<int>(reason.code()), std::string(reason.message()).c_str());
    }
    if (!has_connected_) {
      // First connect: every server once, then report the failure.
      const std::size_t next = server_index_ + 1;
      if (after == core::AfterDisconnect::kClose || next >= options_.servers.size()) {
        close_reason_ = reason;
        Close();
        return;
      }
      StartConnectAttempt(next);
      return;
    }
    if (after == core::AfterDisconnect::kClose || !options_.allow_reconnect) {
      close_reason_ = reason;
      Close();
      return;
    }
    std::uniform_real_distribution<double> jitter(0.0, 1.0);
    const auto attempt = policy_.Next(Now(), jitter(rng_));
    if (!attempt) {
      close_reason_ = embed::UnavailableError("reconnect attempts exhausted; last error: " +
                                             std::string(reason.message()));
      Close();
      return;
    }
    embed_js_on_state(handle(), static_cast<int>(JsState::kReconnecting),
                      static_cast<int>(reason.code()), std::string(reason.message()).c_str());
    reconnect_index_ = attempt->server_index;
    reconnect_timer_ = emscripten_set_timeout(
        &BrowserClient::OnReconnectTimer,
        std::chrono::duration<double, std::milli>(attempt->delay).count(), this);
  }

  void ClearConnectTimer() {
    if (connect_timer_ != 0) emscripten_clear_timeout(connect_timer_);
    connect_timer_ = 0;
  }

  void CancelTimers() {
    ClearConnectTimer();
    if (core_timer_ != 0) emscripten_clear_timeout(core_timer_);
    core_timer_ = 0;
    armed_deadline_.reset();
    if (reconnect_timer_ != 0) emscripten_clear_timeout(reconnect_timer_);
    reconnect_timer_ = 0;
    if (send_retry_timer_ != 0) emscripten_clear_timeout(send_retry_timer_);
    send_retry_timer_ = 0;
  }

  // Forgets the current socket; its callbacks no longer run.
  void DropSocket() {
    if (socket_ <= 0) return;
    emscripten_websocket_delete(socket_);
    embed_js_forget_socket(socket_);
    socket_ = 0;
  }

  BrowserOptions options_;
  core::ClientCore core_;
  ReconnectPolicy policy_;
  std::mt19937 rng_;
  std::vector<core::ClientEvent> events_;
  std::string write_buffer_;
  std::string last_error_;
  int last_code_ = 0;
  Status close_reason_ = embed::CancelledError("connection closed by the user");

  EMSCRIPTEN_WEBSOCKET_T socket_ = 0;
  bool transport_up_ = false;
  bool has_connected_ = false;
  // The page was told connected/reconnected and not yet disconnected.
  bool connected_ = false;
  bool is_closed_ = false;
  std::size_t server_index_ = 0;
  std::size_t reconnect_index_ = 0;
  long connect_timer_ = 0;
  long core_timer_ = 0;
  long reconnect_timer_ = 0;
  long send_retry_timer_ = 0;
  std::optional<SteadyTime> armed_deadline_;
};

std::chrono::milliseconds Millis(double value) {
  return std::chrono::milliseconds(static_cast<std::int64_t>(value));
}

SteadyTime DeadlineAfter(double timeout_ms) {
  return Now() + std::chrono::duration_cast<embed::Duration>(Millis(timeout_ms));
}

}  // namespace

// The C API wrapped by embed_client.mjs. Ids (sids, request and flush ids)
// are doubles: exact below 2^53, and no BigInt needed.
extern "C" {

// `servers`: URLs separated by '\n'. Returns the client (its handle) or null.
EMSCRIPTEN_KEEPALIVE BrowserClient* embed_browser_create(
    const char* servers, const char* name, const char* user, const char* password,
    const char* token, int allow_reconnect, int max_reconnect_attempts, double reconnect_wait_ms,
    double reconnect_jitter_ms, double reconnect_wait_max_ms, double connect_timeout_ms,
    double ping_interval_ms, double reconnect_buffer_bytes, int echo) {
  BrowserOptions options;
  options.servers = SplitLines(servers);
  if (options.servers.empty()) return nullptr;
  options.name = name;
  options.user = user;
  options.password = password;
  options.token = token;
  options.allow_reconnect = allow_reconnect != 0;
  options.max_reconnect_attempts = max_reconnect_attempts;
  options.reconnect_wait = Millis(reconnect_wait_ms);
  options.reconnect_jitter = Millis(reconnect_jitter_ms);
  options.reconnect_wait_max = Millis(reconnect_wait_max_ms);
  options.connect_timeout = Millis(connect_timeout_ms);
  options.ping_interval = Millis(ping_interval_ms);
  options.reconnect_buffer_bytes = static_cast<std::size_t>(reconnect_buffer_bytes);
  options.echo = echo != 0;
  return new BrowserClient(std::move(options));
}

// Starts connecting; states and events follow through the EM_JS callbacks.
EMSCRIPTEN_KEEPALIVE void embed_browser_start(BrowserClient* client) { client->Start(); }

// The message of the last failed call (valid until the next call).
EMSCRIPTEN_KEEPALIVE const char* embed_browser_last_error(BrowserClient* client) {
  return client->last_error().c_str();
}

// The StatusCode of the last failed call.
EMSCRIPTEN_KEEPALIVE int embed_browser_last_code(BrowserClient* client) {
  return client->last_code();
}

// Returns 0 or a StatusCode (message: embed_browser_last_error()).
EMSCRIPTEN_KEEPALIVE int embed_browser_publish(BrowserClient* client, const char* subject,
                                               const char* reply_to, int has_headers,
                                               const char* headers, const char* payload,
                                               int payload_size) {
  embed::wire::Headers parsed;
  if (has_headers) {
    auto result = ParseFlatHeaders(headers);
    if (!result.ok()) return client->Fail(result.status());
    parsed = std::move(result).value();
  }
  if (Status space = client->CheckOutputSpace(); !space.ok()) return client->Fail(space);
  const Status status =
      client->core().Publish(subject, reply_to, has_headers ? &parsed : nullptr,
                             ByteView(payload, static_cast<std::size_t>(payload_size)));
  if (!status.ok()) return client->Fail(status);
  client->AfterCoreActivity();
  return 0;
}

// Returns the sid, or 0 (error: embed_browser_last_error()).
EMSCRIPTEN_KEEPALIVE double embed_browser_subscribe(BrowserClient* client, const char* subject,
                                                    const char* queue_group) {
  auto sid = client->core().Subscribe(subject, queue_group);
  if (!sid.ok()) {
    client->Fail(sid.status());
    return 0;
  }
  client->AfterCoreActivity();
  return static_cast<double>(*sid);
}

// max_messages 0: now. Returns 0 or a StatusCode.
EMSCRIPTEN_KEEPALIVE int embed_browser_unsubscribe(BrowserClient* client, double sid,
                                                   double max_messages) {
  const Status status = client->core().Unsubscribe(static_cast<std::uint64_t>(sid),
                                                   static_cast<std::uint64_t>(max_messages));
  if (!status.ok()) return client->Fail(status);
  client->AfterCoreActivity();
  return 0;
}

// Returns the request id (a reply event follows), or 0 on error.
EMSCRIPTEN_KEEPALIVE double embed_browser_request(BrowserClient* client, const char* subject,
                                                  int has_headers, const char* headers,
                                                  const char* payload, int payload_size,
                                                  double timeout_ms) {
  Message request;
  request.subject = subject;
  request.payload.assign(payload, static_cast<std::size_t>(payload_size));
  if (has_headers) {
    auto result = ParseFlatHeaders(headers);
    if (!result.ok()) {
      client->Fail(result.status());
      return 0;
    }
    request.headers = std::move(result).value();
    request.has_headers = true;
  }
  if (Status space = client->CheckOutputSpace(); !space.ok()) {
    client->Fail(space);
    return 0;
  }
  auto id = client->core().StartRequest(request, DeadlineAfter(timeout_ms));
  if (!id.ok()) {
    client->Fail(id.status());
    return 0;
  }
  client->AfterCoreActivity();
  return static_cast<double>(*id);
}

EMSCRIPTEN_KEEPALIVE void embed_browser_cancel_request(BrowserClient* client, double id) {
  client->core().CancelRequest(static_cast<std::uint64_t>(id));
}

// Returns the flush id (a flush event follows), or 0 on error.
EMSCRIPTEN_KEEPALIVE double embed_browser_flush(BrowserClient* client, double timeout_ms) {
  auto id = client->core().StartFlush(DeadlineAfter(timeout_ms));
  if (!id.ok()) {
    client->Fail(id.status());
    return 0;
  }
  client->AfterCoreActivity();
  return static_cast<double>(*id);
}

EMSCRIPTEN_KEEPALIVE double embed_browser_max_payload(BrowserClient* client) {
  return static_cast<double>(client->core().max_payload());
}

// Closes for good (a closed state event follows at once); idempotent.
EMSCRIPTEN_KEEPALIVE void embed_browser_close(BrowserClient* client) { client->Close(); }

// Frees a client (closing it first).
EMSCRIPTEN_KEEPALIVE void embed_browser_destroy(BrowserClient* client) {
  if (client == nullptr) return;
  client->Close();
  delete client;
}

}  // extern "C"
