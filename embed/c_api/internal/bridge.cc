#include "embed/c_api/internal/bridge.h"

#include <atomic>
#include <chrono>
#include <exception>
#include <optional>
#include <utility>
#include <vector>

#include "embed/base/status.h"
#include "embed/broker/broker.h"
#include "embed/c_api/internal/convert.h"
#include "embed/client/connection.h"
#include "embed/client/subscription.h"
#include "embed/rpc/channel.h"

namespace embed::c_api::internal {
namespace {

using namespace std::chrono_literals;

// embed_call() refuses requests beyond this many waiting for the call thread.
constexpr std::size_t kMaxQueuedCalls = 65'536;

std::chrono::milliseconds OrDefault(std::uint32_t milliseconds,
                                    std::chrono::milliseconds fallback) {
  return milliseconds == 0 ? fallback : std::chrono::milliseconds(milliseconds);
}

v1::ConnectionState ToProto(client::ConnectionEvent event) {
  switch (event) {
    case client::ConnectionEvent::kConnected:
      return v1::CONNECTION_STATE_CONNECTED;
    case client::ConnectionEvent::kDisconnected:
      return v1::CONNECTION_STATE_DISCONNECTED;
    case client::ConnectionEvent::kReconnected:
      return v1::CONNECTION_STATE_RECONNECTED;
    case client::ConnectionEvent::kClosed:
      return v1::CONNECTION_STATE_CLOSED;
  }
  return v1::CONNECTION_STATE_UNSPECIFIED;
}

// Sets the (empty) result case of `op` in a response that has none.
void MarkResult(v1::Request::OpCase op, v1::Response* response) {
  switch (op) {
    case v1::Request::kConnect:
      response->mutable_connect();
      break;
    case v1::Request::kDisconnect:
      response->mutable_disconnect();
      break;
    case v1::Request::kPublish:
      response->mutable_publish();
      break;
    case v1::Request::kSubscribe:
      response->mutable_subscribe();
      break;
    case v1::Request::kUnsubscribe:
      response->mutable_unsubscribe();
      break;
    case v1::Request::kRequest:
      response->mutable_request();
      break;
    case v1::Request::kRpc:
      response->mutable_rpc();
      break;
    case v1::Request::kCancel:
      response->mutable_cancel();
      break;
    case v1::Request::kFlush:
      response->mutable_flush();
      break;
    case v1::Request::kStoreOpen:
      response->mutable_store_open();
      break;
    case v1::Request::kStoreClose:
      response->mutable_store_close();
      break;
    case v1::Request::kStoreMigrate:
      response->mutable_store_migrate();
      break;
    case v1::Request::kStorePut:
      response->mutable_store_put();
      break;
    case v1::Request::kStoreGet:
      response->mutable_store_get();
      break;
    case v1::Request::kStoreDelete:
      response->mutable_store_delete();
      break;
    case v1::Request::kStoreWrite:
      response->mutable_store_write();
      break;
    case v1::Request::kStoreScan:
      response->mutable_store_scan();
      break;
    case v1::Request::kStoreQuery:
      response->mutable_store_query();
      break;
    case v1::Request::kStoreWatch:
      response->mutable_store_watch();
      break;
    case v1::Request::kStoreUnwatch:
      response->mutable_store_unwatch();
      break;
    case v1::Request::kHubStart:
      response->mutable_hub_start();
      break;
    case v1::Request::kHubStop:
      response->mutable_hub_stop();
      break;
    case v1::Request::OP_NOT_SET:
      break;
  }
}

}  // namespace

// The connection and its channel. Calls of other threads hold it through a
// shared_ptr while they use it, so it goes (the channel first, then the
// connection it borrows) only when the last of them lets go; TearDown()
// closes the connection, after which its calls fail at once.
struct Bridge::Connected {
  // Set once Connect() returns; the state callback may run before.
  std::atomic<client::Connection*> raw{nullptr};
  // The first CONNECTED event is sent once, with the server's URL: by the
  // state callback if it runs after Connect() returned, else by Connect().
  std::atomic<bool> connected_reported{false};
  std::unique_ptr<client::Connection> connection;
  std::unique_ptr<rpc::Channel> channel;
};

v1::Response ErrorResponse(std::uint64_t id, v1::StatusCode code, std::string message) {
  v1::Response response;
  response.set_id(id);
  response.mutable_status()->set_code(code);
  response.mutable_status()->set_message(std::move(message));
  return response;
}

Bridge::Bridge(const v1::Config& config, EventQueue& events)
    : config_(config), events_(events), call_thread_([this] { RunCallThread(); }) {
  std::lock_guard lock(mutex_);
  call_thread_id_ = call_thread_.get_id();
}

Bridge::~Bridge() { Close(); }

void Bridge::PushEvent(const v1::Event& event, EventClass event_class) {
  events_.Push(event.SerializeAsString(), event_class);
}

bool Bridge::Submit(v1::Request request) {
  std::lock_guard lock(mutex_);
  if (closed_ || calls_.size() >= kMaxQueuedCalls) return false;
  calls_.push_back(std::move(request));
  calls_changed_.notify_one();
  return true;
}

void Bridge::RunCallThread() {
  std::unique_lock lock(mutex_);
  for (;;) {
    calls_changed_.wait(lock, [&] { return !calls_.empty() || closed_; });
    if (calls_.empty()) return;  // closed
    v1::Request request = std::move(calls_.front());
    calls_.pop_front();
    lock.unlock();
    try {
      Execute(request, [this](v1::Response response) {
        v1::Event event;
        *event.mutable_response() = std::move(response);
        PushEvent(event, EventClass::kKept);
      });
    } catch (...) {
      // Out of memory even for the error response: the call goes
      // unanswered, but the thread must live on for the calls after it.
    }
    lock.lock();
  }
}

void Bridge::Execute(const v1::Request& request, ResponseCallback answer) {
  const std::uint64_t id = request.id();
  // A successful response always names its operation, also when its result
  // is empty (publish, put, ...), so apps can switch on the result case.
  ResponseCallback done = [op = request.op_case(),
                           answer = std::move(answer)](v1::Response response) {
    if (response.status().code() == v1::OK &&
        response.result_case() == v1::Response::RESULT_NOT_SET) {
      MarkResult(op, &response);
    }
    answer(std::move(response));
  };
  {
    std::lock_guard lock(mutex_);
    // The call thread runs its last calls while Close() waits to join it.
    if (closed_ && std::this_thread::get_id() != call_thread_id_) {
      done(ErrorResponse(id, v1::FAILED_PRECONDITION, "the handle is closed"));
      return;
    }
    ++active_calls_;
  }
  struct Leave {
    Bridge* bridge;
    ~Leave() {
      std::lock_guard lock(bridge->mutex_);
      if (--bridge->active_calls_ == 0) bridge->idle_.notify_all();
    }
  } leave{this};
  try {
    switch (request.op_case()) {
      case v1::Request::kConnect:
        return Connect(id, request.connect(), done);
      case v1::Request::kDisconnect:
        return Disconnect(id, request.disconnect(), done);
      case v1::Request::kPublish:
        return Publish(id, request.publish(), done);
      case v1::Request::kSubscribe:
        return Subscribe(id, request.subscribe(), done);
      case v1::Request::kUnsubscribe:
        return Unsubscribe(id, request.unsubscribe(), done);
      case v1::Request::kRequest:
        return NatsRequest(id, request.request(), done);
      case v1::Request::kRpc:
        return Rpc(id, request.rpc(), done);
      case v1::Request::kCancel:
        return Cancel(id, request.cancel(), done);
      case v1::Request::kFlush:
        return Flush(id, request.flush(), done);
      case v1::Request::kHubStart:
        return HubStart(id, request.hub_start(), done);
      case v1::Request::kHubStop:
        return HubStop(id, done);
      case v1::Request::OP_NOT_SET:
        // An operation of a newer bridge.proto parses as an unknown field.
        if (HasUnknownOperation(request)) {
          return done(ErrorResponse(id, v1::UNIMPLEMENTED,
                                    "this library version does not know the operation"));
        }
        return done(ErrorResponse(id, v1::INVALID_ARGUMENT, "the request has no operation"));
      default:
        return StoreOp(request, done);
    }
  } catch (const std::exception& error) {
    // Dependencies may throw (bad_alloc); the C ABI answers INTERNAL, unless
    // the operation had already handed `done` to an asynchronous completion.
    if (done) {
      done(ErrorResponse(id, v1::INTERNAL, std::string("internal error: ") + error.what()));
    }
  }
}

bool Bridge::ReserveId(std::uint64_t id, ResponseCallback& done) {
  if (id == 0) {
    done(ErrorResponse(id, v1::INVALID_ARGUMENT,
                       "this operation needs a request id (it names what it opens)"));
    return false;
  }
  std::lock_guard lock(mutex_);
  if (!ids_in_use_.insert(id).second) {
    done(ErrorResponse(id, v1::ALREADY_EXISTS,
                       "id " + std::to_string(id) +
                           " names an open subscription, stream, "
                           "store or watch"));
    return false;
  }
  return true;
}

void Bridge::ReleaseId(std::uint64_t id) {
  std::lock_guard lock(mutex_);
  ids_in_use_.erase(id);
}

std::shared_ptr<Bridge::Connected> Bridge::RequireConnection(std::uint64_t id,
                                                             ResponseCallback& done) {
  std::shared_ptr<Connected> connected;
  {
    std::lock_guard lock(mutex_);
    connected = connected_;
  }
  if (connected == nullptr) {
    done(ErrorResponse(id, v1::FAILED_PRECONDITION, "not connected (send a connect request)"));
  }
  return connected;
}

void Bridge::Connect(std::uint64_t id, const v1::ConnectRequest& op, ResponseCallback& done) {
  client::ConnectionOptions options;
  options.urls.assign(op.urls().begin(), op.urls().end());
  {
    std::lock_guard lock(mutex_);
    if (connected_ != nullptr || connecting_) {
      return done(
          ErrorResponse(id, v1::FAILED_PRECONDITION, "already connected (disconnect first)"));
    }
    if (op.use_hub()) {
      if (hub_ == nullptr) {
        return done(ErrorResponse(id, v1::FAILED_PRECONDITION,
                                  "use_hub: no hub runs in this handle (send hub_start)"));
      }
      options.urls.insert(options.urls.begin(), hub_->in_process_url());
    }
    if (options.urls.empty()) {
      return done(ErrorResponse(id, v1::INVALID_ARGUMENT, "connect: no urls and not use_hub"));
    }
    connecting_ = true;
  }
  options.user = op.user();
  options.password = op.password();
  options.token = op.token();
  options.name = config_.name();
  options.tls.ca_file = op.tls().ca_file();
  options.tls.cert_file = op.tls().cert_file();
  options.tls.key_file = op.tls().key_file();
  options.tls.verify = !op.tls().insecure_skip_verify();
  options.tls.server_name = op.tls().server_name();
  options.connect_timeout = OrDefault(op.connect_timeout_ms(), 2'000ms);
  options.allow_reconnect = !op.no_reconnect();
  if (op.max_reconnect_attempts() != 0)
    options.max_reconnect_attempts = op.max_reconnect_attempts();
  options.reconnect_wait = OrDefault(op.reconnect_wait_ms(), 2'000ms);

  auto connected = std::make_shared<Connected>();
  // The callbacks run on the connection's dispatcher, which Close() stops
  // before the Bridge goes, so `this` and the raw pointer stay valid.
  Connected* raw_connected = connected.get();
  options.on_event = [this, raw_connected](client::ConnectionEvent event) {
    client::Connection* connection = raw_connected->raw.load();
    if (event == client::ConnectionEvent::kConnected &&
        (connection == nullptr || raw_connected->connected_reported.exchange(true))) {
      return;  // Connect() reports it (or did)
    }
    v1::Event out;
    auto* state = out.mutable_connection_state();
    state->set_state(ToProto(event));
    if (connection != nullptr && (event == client::ConnectionEvent::kConnected ||
                                  event == client::ConnectionEvent::kReconnected)) {
      state->set_url(connection->connected_url());
    }
    PushEvent(out, EventClass::kKept);
  };
  options.on_error = [this](const Status& status) {
    v1::Event out;
    *out.mutable_error()->mutable_status() = ToProto(status);
    PushEvent(out, EventClass::kDroppable);
  };

  Result<std::unique_ptr<client::Connection>> connection = client::Connection::Connect(options);
  std::lock_guard lock(mutex_);
  connecting_ = false;
  if (!connection.ok()) return done(StatusResponse(id, connection.status()));
  if (closed_) {
    return done(ErrorResponse(id, v1::CANCELLED, "the handle closed while connecting"));
  }
  connected->connection = std::move(connection).value();
  connected->raw.store(connected->connection.get());
  connected->channel = std::make_unique<rpc::Channel>(*connected->connection);
  v1::Response response;
  response.set_id(id);
  response.mutable_status();
  response.mutable_connect()->set_connected_url(connected->connection->connected_url());
  response.mutable_connect()->set_max_payload(connected->connection->max_payload());
  if (!connected->connected_reported.exchange(true)) {
    v1::Event event;
    event.mutable_connection_state()->set_state(v1::CONNECTION_STATE_CONNECTED);
    event.mutable_connection_state()->set_url(connected->connection->connected_url());
    PushEvent(event, EventClass::kKept);
  }
  connected_ = std::move(connected);
  done(std::move(response));
}

void Bridge::TearDown(std::shared_ptr<Connected> connected,
                      std::optional<std::chrono::milliseconds> drain_timeout) {
  std::vector<std::shared_ptr<rpc::ClientStream>> streams;
  std::vector<std::unique_ptr<client::Subscription>> subscriptions;
  {
    std::lock_guard lock(mutex_);
    for (auto& [id, stream] : streams_) streams.push_back(stream);
    for (auto& [id, subscription] : subscriptions_) {
      subscriptions.push_back(std::move(subscription));
      ids_in_use_.erase(id);
    }
    subscriptions_.clear();
  }
  // Cancelling runs each stream's done callback (which answers and forgets
  // the stream) on this thread, so no lock is held here.
  for (auto& stream : streams) {
    if (stream != nullptr) stream->Cancel();  // null: still starting; the close ends it
  }
  if (drain_timeout.has_value()) {
    connected->connection->Drain(*drain_timeout).IgnoreError();
  }
  subscriptions.clear();
  connected->connection->Close();
}

void Bridge::Disconnect(std::uint64_t id, const v1::DisconnectRequest& op, ResponseCallback& done) {
  std::shared_ptr<Connected> connected;
  {
    std::lock_guard lock(mutex_);
    connected = std::move(connected_);
  }
  if (connected == nullptr) {
    return done(ErrorResponse(id, v1::FAILED_PRECONDITION, "not connected"));
  }
  std::optional<std::chrono::milliseconds> drain_timeout;
  if (op.drain()) drain_timeout = OrDefault(op.timeout_ms(), 5'000ms);
  TearDown(std::move(connected), drain_timeout);
  done(OkResponse(id));
}

void Bridge::Publish(std::uint64_t id, const v1::PublishRequest& op, ResponseCallback& done) {
  auto connected = RequireConnection(id, done);
  if (connected == nullptr) return;
  client::Message message;
  message.subject = op.subject();
  message.reply_to = op.reply_to();
  for (const auto& header : op.headers()) message.headers.Add(header.name(), header.value());
  message.payload = op.payload();
  Status status = connected->connection->Publish(message);
  done(status.ok() ? OkResponse(id) : StatusResponse(id, status));
}

void Bridge::Subscribe(std::uint64_t id, const v1::SubscribeRequest& op, ResponseCallback& done) {
  auto connected = RequireConnection(id, done);
  if (connected == nullptr || !ReserveId(id, done)) return;
  client::SubscribeOptions options;
  options.queue_group = op.queue_group();
  auto subscription = connected->connection->Subscribe(
      op.subject(),
      [this, id](client::Message& message) {
        v1::Event event;
        auto* out = event.mutable_message();
        out->set_subscription_id(id);
        ToProto(std::move(message), out->mutable_message());
        PushEvent(event, EventClass::kDroppable);
      },
      options);
  if (!subscription.ok()) {
    ReleaseId(id);
    return done(StatusResponse(id, subscription.status()));
  }
  if (op.max_messages() > 0) {
    Status status = subscription.value()->AutoUnsubscribe(op.max_messages());
    if (!status.ok()) {
      ReleaseId(id);
      return done(StatusResponse(id, status));
    }
  }
  {
    std::lock_guard lock(mutex_);
    if (connected_ != connected) {
      // Disconnected (or closed) while subscribing: the subscription died
      // with its connection.
      ids_in_use_.erase(id);
      return done(ErrorResponse(id, v1::CANCELLED, "disconnected while subscribing"));
    }
    // Subscriptions that ended by themselves (max_messages) are forgotten
    // here, so their ids can be reused and the map does not grow.
    for (auto it = subscriptions_.begin(); it != subscriptions_.end();) {
      if (!it->second->is_valid()) {
        ids_in_use_.erase(it->first);
        it = subscriptions_.erase(it);
      } else {
        ++it;
      }
    }
    subscriptions_[id] = std::move(subscription).value();
  }
  done(OkResponse(id));
}

void Bridge::Unsubscribe(std::uint64_t id, const v1::UnsubscribeRequest& op,
                         ResponseCallback& done) {
  std::unique_ptr<client::Subscription> subscription;
  {
    std::lock_guard lock(mutex_);
    auto it = subscriptions_.find(op.subscription_id());
    if (it != subscriptions_.end()) {
      subscription = std::move(it->second);
      subscriptions_.erase(it);
      ids_in_use_.erase(op.subscription_id());
    }
  }
  if (subscription == nullptr) {
    return done(ErrorResponse(id, v1::NOT_FOUND,
                              "no subscription " + std::to_string(op.subscription_id())));
  }
  Status status = subscription->Unsubscribe();
  done(status.ok() ? OkResponse(id) : StatusResponse(id, status));
}

void Bridge::NatsRequest(std::uint64_t id, const v1::RequestRequest& op, ResponseCallback& done) {
  auto connected = RequireConnection(id, done);
  if (connected == nullptr) return;
  client::Message message;
  message.subject = op.subject();
  for (const auto& header : op.headers()) message.headers.Add(header.name(), header.value());
  message.payload = op.payload();
  connected->connection->RequestAsync(message, OrDefault(op.timeout_ms(), 5'000ms),
                                      [id, done = std::move(done)](Result<client::Message> reply) {
                                        if (!reply.ok())
                                          return done(StatusResponse(id, reply.status()));
                                        v1::Response response = OkResponse(id);
                                        ToProto(std::move(reply).value(),
                                                response.mutable_request()->mutable_reply());
                                        done(std::move(response));
                                      });
}

void Bridge::Rpc(std::uint64_t id, const v1::RpcRequest& op, ResponseCallback& done) {
  auto connected = RequireConnection(id, done);
  if (connected == nullptr) return;
  rpc::CallOptions options;
  options.timeout = std::chrono::milliseconds(op.timeout_ms());
  for (const auto& header : op.metadata()) options.metadata.Add(header.name(), header.value());
  if (op.kind() == v1::RPC_KIND_UNARY) {
    connected->channel->CallUnaryAsync(
        op.method(), op.payload(), options,
        [id, done = std::move(done)](rpc::RpcStatus status, std::string payload) {
          if (!status.ok()) return done(RpcStatusResponse(id, status));
          v1::Response response = OkResponse(id);
          response.mutable_rpc()->set_payload(std::move(payload));
          done(std::move(response));
        });
    return;
  }
  if (op.kind() != v1::RPC_KIND_SERVER_STREAMING) {
    return done(ErrorResponse(id, v1::UNIMPLEMENTED, "rpc: unknown kind"));
  }
  if (!ReserveId(id, done)) return;
  // Messages queued, and whether the queue's bound dropped one: then the
  // rest are not queued either and the call ends RESOURCE_EXHAUSTED, so the
  // app never takes a stream with a hole in it for complete.
  struct StreamProgress {
    std::atomic<std::uint64_t> queued{0};
    std::atomic<bool> lost{false};
  };
  auto progress = std::make_shared<StreamProgress>();
  // The id is registered (without a handle) before the call starts, since
  // on_done may run at once on this thread and forgets it; the handle is
  // filled in only if the call is still open then.
  {
    std::lock_guard lock(mutex_);
    streams_[id] = nullptr;
  }
  auto stream = connected->channel->CallServerStreamingAsync(
      op.method(), op.payload(), options,
      [this, id, progress](std::string_view message) {
        if (progress->lost.load()) return;
        v1::Event event;
        event.mutable_rpc_message()->set_call_id(id);
        event.mutable_rpc_message()->set_payload(std::string(message));
        if (events_.Push(event.SerializeAsString(), EventClass::kDroppable)) {
          progress->queued.fetch_add(1);
        } else {
          progress->lost.store(true);
        }
      },
      [this, id, progress, done = std::move(done)](rpc::RpcStatus status) {
        {
          std::lock_guard lock(mutex_);
          streams_.erase(id);
          ids_in_use_.erase(id);
        }
        if (progress->lost.load() && status.ok()) {
          status = rpc::RpcStatus(rpc::RpcCode::kResourceExhausted,
                                  "stream messages were dropped: the event queue was full "
                                  "(Config.event_queue_max_bytes)");
        }
        v1::Response response = status.ok() ? OkResponse(id) : RpcStatusResponse(id, status);
        response.mutable_rpc()->set_messages(progress->queued.load());
        done(std::move(response));
      });
  std::shared_ptr<rpc::ClientStream> orphan;
  {
    std::lock_guard lock(mutex_);
    auto it = streams_.find(id);
    if (it == streams_.end()) return;  // over already
    if (connected_ == connected) {
      it->second = std::move(stream);
      return;
    }
    orphan = std::move(stream);  // disconnected while starting: TearDown() saw no handle
  }
  orphan->Cancel();
}

void Bridge::Cancel(std::uint64_t id, const v1::CancelRequest& op, ResponseCallback& done) {
  std::shared_ptr<rpc::ClientStream> stream;
  {
    std::lock_guard lock(mutex_);
    auto it = streams_.find(op.call_id());
    if (it != streams_.end()) stream = it->second;
  }
  if (stream == nullptr) {
    return done(ErrorResponse(id, v1::NOT_FOUND, "no open stream " + std::to_string(op.call_id())));
  }
  stream->Cancel();
  done(OkResponse(id));
}

void Bridge::Flush(std::uint64_t id, const v1::FlushRequest& op, ResponseCallback& done) {
  auto connected = RequireConnection(id, done);
  if (connected == nullptr) return;
  Status status = connected->connection->Flush(OrDefault(op.timeout_ms(), 5'000ms));
  done(status.ok() ? OkResponse(id) : StatusResponse(id, status));
}

void Bridge::HubStart(std::uint64_t id, const v1::HubStartRequest& op, ResponseCallback& done) {
  if (op.port() > 65'535 || op.websocket_port() > 65'535) {
    return done(ErrorResponse(id, v1::INVALID_ARGUMENT, "hub_start: port above 65535"));
  }
  std::lock_guard lock(mutex_);
  if (hub_ != nullptr) {
    return done(ErrorResponse(id, v1::ALREADY_EXISTS, "the hub runs already"));
  }
  broker::BrokerOptions options;
  if (!op.host().empty()) options.host = op.host();
  options.port = static_cast<std::uint16_t>(op.port());
  options.websocket.enabled = op.websocket();
  options.websocket.host = options.host;
  options.websocket.port = static_cast<std::uint16_t>(op.websocket_port());
  // An embedded hub shares the app's cores: one I/O thread is plenty.
  options.io_threads = 1;
  auto broker = broker::Broker::Start(options);
  if (!broker.ok()) return done(StatusResponse(id, broker.status()));
  hub_ = std::move(broker).value();
  v1::Response response = OkResponse(id);
  auto* out = response.mutable_hub_start();
  out->set_url(hub_->url());
  if (op.websocket()) out->set_websocket_url(hub_->ws_url());
  out->set_in_process_url(hub_->in_process_url());
  done(std::move(response));
}

void Bridge::HubStop(std::uint64_t id, ResponseCallback& done) {
  std::unique_ptr<broker::Broker> hub;
  {
    std::lock_guard lock(mutex_);
    hub = std::move(hub_);
  }
  if (hub == nullptr) return done(ErrorResponse(id, v1::FAILED_PRECONDITION, "no hub runs"));
  hub->Stop();
  done(OkResponse(id));
}

void Bridge::Close() {
  std::deque<v1::Request> unstarted;
  {
    std::lock_guard lock(mutex_);
    if (closed_) return;
    closed_ = true;
    unstarted.swap(calls_);
    calls_changed_.notify_all();
  }
  // Closing the connection first releases a call the call thread waits on
  // (a flush, a drain); a connect in progress still runs out its timeout.
  ReleaseEverything();
  if (call_thread_.joinable()) call_thread_.join();
  for (const auto& request : unstarted) {
    v1::Event event;
    *event.mutable_response() =
        ErrorResponse(request.id(), v1::CANCELLED, "the handle closed before the call started");
    PushEvent(event, EventClass::kKept);
  }
  // Closing the connection also releases calls of other threads that wait on
  // it; once they are out, anything they opened meanwhile goes too.
  ReleaseEverything();
  {
    std::unique_lock lock(mutex_);
    idle_.wait(lock, [&] { return active_calls_ == 0; });
  }
  ReleaseEverything();
}

void Bridge::ReleaseEverything() {
  std::shared_ptr<Connected> connected;
  std::unique_ptr<broker::Broker> hub;
  {
    std::lock_guard lock(mutex_);
    connected = std::move(connected_);
  }
  if (connected != nullptr) TearDown(std::move(connected), std::nullopt);
  CloseStores();
  {
    std::lock_guard lock(mutex_);
    hub = std::move(hub_);
  }
  if (hub != nullptr) hub->Stop();
}

}  // namespace embed::c_api::internal
