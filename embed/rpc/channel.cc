#include "embed/rpc/channel.h"

#include <algorithm>
#include <charconv>
#include <condition_variable>
#include <deque>
#include <mutex>
#include <unordered_map>
#include <utility>
#include <vector>

#include "embed/client/connection.h"
#include "embed/rpc/internal/channel_state.h"
#include "embed/rpc/internal/client_call.h"
#include "embed/rpc/internal/frames.h"
#include "embed/subject/subject.h"

namespace embed::rpc {

using internal::ClientCall;
using internal::FrameType;
using Clock = std::chrono::steady_clock;

namespace {

// Checks what a caller passes before anything is sent.
RpcStatus ValidateCall(std::string_view method, const CallOptions& options) {
  if (!subject::IsValidPublishSubject(method)) {
    return RpcStatus(RpcCode::kInvalidArgument,
                     "bad method subject '" + EscapeForLog(method) + "'");
  }
  if (options.timeout.count() < 0 || options.timeout > internal::kMaxTimeout) {
    return RpcStatus(RpcCode::kInvalidArgument, "timeout out of range");
  }
  for (const auto& [key, value] : options.metadata.entries()) {
    if (key.rfind("Embed-", 0) == 0 || key.rfind("Nats-", 0) == 0) {
      return RpcStatus(RpcCode::kInvalidArgument,
                       "metadata key '" + EscapeForLog(key) + "' is reserved (Embed-*, Nats-*)");
    }
    if (!wire::IsValidHeaderKey(key)) {
      return RpcStatus(RpcCode::kInvalidArgument, "bad metadata key '" + EscapeForLog(key) + "'");
    }
  }
  return RpcStatus::Ok();
}

}  // namespace

namespace {

// The caller's handle. Destroying it cancels the call unless it was handed
// out by CallServerStreamingAsync (whose callbacks own the outcome).
class ClientStreamHandle : public ClientStream {
 public:
  enum class OnDestroy { kCancel, kKeep };
  ClientStreamHandle(std::shared_ptr<ClientCall> call, OnDestroy on_destroy)
      : call_(std::move(call)), on_destroy_(on_destroy) {}
  ~ClientStreamHandle() override {
    if (on_destroy_ == OnDestroy::kCancel) {
      call_->Complete(RpcStatus(RpcCode::kCancelled, "the stream was destroyed"), true);
    }
  }
  RpcStatus Write(std::string message) override { return call_->Write(std::move(message)); }
  RpcStatus WritesDone() override { return call_->WritesDone(); }
  bool Read(std::string* message) override { return call_->Read(message); }
  RpcStatus Finish() override { return call_->Finish(); }
  void Cancel() override {
    call_->Complete(RpcStatus(RpcCode::kCancelled, "cancelled by the caller"), true);
  }
  void Abort(RpcStatus status) override { call_->Complete(std::move(status), true); }

 private:
  std::shared_ptr<ClientCall> call_;
  OnDestroy on_destroy_;
};

}  // namespace

Result<std::string> internal::ChannelState::Register(const std::shared_ptr<ClientCall>& call,
                                                     std::uint64_t* token) {
  std::lock_guard lock(mutex_);
  if (is_closed_) return CancelledError("the channel is closed");
  if (!stream_subscription_) {
    std::string prefix = connection_.NewInbox() + ".";
    std::weak_ptr<internal::ChannelState> weak = weak_from_this();
    auto subscription = connection_.Subscribe(prefix + "*", [weak](client::Message& message) {
      if (auto state = weak.lock()) state->OnStreamMessage(message);
    });
    if (!subscription.ok()) return subscription.status();
    stream_subscription_ = std::move(*subscription);
    stream_prefix_ = std::move(prefix);
  }
  *token = next_token_++;
  calls_.emplace(*token, call);
  return stream_prefix_ + std::to_string(*token);
}

void internal::ChannelState::Unregister(std::uint64_t token) {
  std::lock_guard lock(mutex_);
  calls_.erase(token);
}

void internal::ChannelState::OnStreamMessage(client::Message& message) {
  std::shared_ptr<ClientCall> call;
  {
    std::lock_guard lock(mutex_);
    std::string_view subject = message.subject;
    if (subject.size() <= stream_prefix_.size()) return;
    subject.remove_prefix(stream_prefix_.size());
    std::uint64_t token = 0;
    auto [end, error] = std::from_chars(subject.data(), subject.data() + subject.size(), token);
    if (error != std::errc() || end != subject.data() + subject.size()) return;
    auto found = calls_.find(token);
    if (found != calls_.end()) call = found->second;
  }
  if (call) return call->OnMessage(message);
  // An accept for a call already given up (cancelled before the server
  // answered): tell that server, or its handler runs on until keepalives lapse.
  if (message.headers.Get(internal::kFrameHeader) ==
          internal::FrameTypeName(FrameType::kAccept) &&
      !message.reply_to.empty()) {
    connection_.Publish(internal::MakeControl(FrameType::kCancel, message.reply_to, message.subject))
        .IgnoreError();
  }
}

std::uint64_t internal::ChannelState::AddUnary(UnaryCallback& done) {
  std::lock_guard lock(mutex_);
  if (is_closed_) return 0;
  std::uint64_t id = next_unary_++;
  unary_pending_.emplace(id, std::move(done));
  return id;
}

UnaryCallback internal::ChannelState::TakeUnary(std::uint64_t id) {
  std::lock_guard lock(mutex_);
  auto found = unary_pending_.find(id);
  if (found == unary_pending_.end()) return nullptr;
  UnaryCallback done = std::move(found->second);
  unary_pending_.erase(found);
  ++running_callbacks_;
  return done;
}

void internal::ChannelState::BeginCallback() {
  std::lock_guard lock(mutex_);
  ++running_callbacks_;
}

void internal::ChannelState::EndCallback() {
  std::lock_guard lock(mutex_);
  if (--running_callbacks_ == 0) callbacks_done_.notify_all();
}

void internal::ChannelState::Close() {
  std::vector<std::shared_ptr<ClientCall>> calls;
  std::vector<UnaryCallback> unary;
  std::unique_ptr<client::Subscription> subscription;
  {
    std::lock_guard lock(mutex_);
    if (is_closed_) return;
    is_closed_ = true;
    for (auto& [token, call] : calls_) calls.push_back(call);
    for (auto& [id, done] : unary_pending_) unary.push_back(std::move(done));
    unary_pending_.clear();
    running_callbacks_ += static_cast<int>(unary.size());
  }
  for (auto& call : calls) {
    call->Complete(RpcStatus(RpcCode::kCancelled, "the channel is closed"), true);
  }
  for (auto& done : unary) {
    done(RpcStatus(RpcCode::kCancelled, "the channel is closed"), std::string());
    EndCallback();
  }
  {
    std::unique_lock lock(mutex_);
    callbacks_done_.wait(lock, [this] { return running_callbacks_ == 0; });
    subscription = std::move(stream_subscription_);
  }
  subscription.reset();
  timers_.Shutdown();
}

Channel::Channel(client::Connection& connection, ChannelOptions options) {
  options.stream_window = std::clamp<std::uint32_t>(options.stream_window, 1, internal::kMaxWindow);
  options.keepalive_interval =
      std::clamp(options.keepalive_interval, internal::kMinKeepalive, internal::kMaxKeepalive);
  if (options.default_timeout.count() <= 0) options.default_timeout = std::chrono::seconds(30);
  state_ = std::make_shared<internal::ChannelState>(connection, std::move(options));
}

Channel::~Channel() { state_->Close(); }

const ChannelOptions& Channel::options() const { return state_->options(); }

namespace {

client::Message MakeUnaryRequest(std::string_view method, std::string_view request,
                                 const CallOptions& options, std::chrono::milliseconds timeout) {
  client::Message message;
  message.subject = std::string(method);
  message.has_headers = true;
  message.headers = options.metadata;
  message.headers.Set(internal::kTimeoutHeader, std::to_string(timeout.count()));
  message.payload = std::string(request);
  return message;
}

// The outcome of a unary call from the connection's answer.
RpcStatus UnaryOutcome(std::string_view method, std::chrono::milliseconds timeout,
                       Result<client::Message>& reply, std::string* response) {
  if (!reply.ok()) {
    if (reply.status().code() == StatusCode::kTimeout) {
      return RpcStatus(
          RpcCode::kDeadlineExceeded,
          std::string(method) + ": deadline of " + internal::DescribeDuration(timeout) + " passed");
    }
    if (reply.status().code() == StatusCode::kUnavailable) {
      return RpcStatus(RpcCode::kUnavailable,
                       std::string(method) + ": " + std::string(reply.status().message()));
    }
    return internal::WithMethod(method, RpcStatus::FromStatus(reply.status()));
  }
  RpcStatus status = internal::StatusOf(*reply);
  if (status.ok()) *response = std::move(reply->payload);
  return status;
}

}  // namespace

RpcStatus Channel::CallUnary(std::string_view method, std::string_view request,
                             std::string* response, const CallOptions& options) {
  RpcStatus valid = ValidateCall(method, options);
  if (!valid.ok()) return valid;
  std::chrono::milliseconds timeout =
      options.timeout.count() > 0 ? options.timeout : state_->options().default_timeout;
  Result<client::Message> reply =
      state_->connection().Request(MakeUnaryRequest(method, request, options, timeout), timeout);
  response->clear();
  return UnaryOutcome(method, timeout, reply, response);
}

void Channel::CallUnaryAsync(std::string_view method, std::string_view request,
                             const CallOptions& options, UnaryCallback done) {
  RpcStatus valid = ValidateCall(method, options);
  if (!valid.ok()) return done(std::move(valid), std::string());
  std::chrono::milliseconds timeout =
      options.timeout.count() > 0 ? options.timeout : state_->options().default_timeout;
  std::uint64_t id = state_->AddUnary(done);
  if (id == 0) return done(RpcStatus(RpcCode::kCancelled, "the channel is closed"), std::string());
  std::weak_ptr<internal::ChannelState> weak = state_;
  state_->connection().RequestAsync(
      MakeUnaryRequest(method, request, options, timeout), timeout,
      [weak, id, timeout, method = std::string(method)](Result<client::Message> reply) {
        auto state = weak.lock();
        if (!state) return;
        UnaryCallback callback = state->TakeUnary(id);
        if (!callback) return;
        std::string response;
        RpcStatus status = UnaryOutcome(method, timeout, reply, &response);
        try {
          callback(std::move(status), std::move(response));
        } catch (...) {
          // The dispatcher would swallow it; the count must still drop.
        }
        state->EndCallback();
      });
}

std::unique_ptr<ClientStream> Channel::OpenStream(std::string_view method, MethodKind kind,
                                                  std::string_view request,
                                                  const CallOptions& options) {
  auto call = std::make_shared<ClientCall>(state_, state_->connection(), std::string(method), kind,
                                           state_->options());
  auto stream = std::make_unique<ClientStreamHandle>(call, ClientStreamHandle::OnDestroy::kCancel);
  RpcStatus valid = ValidateCall(method, options);
  if (valid.ok() && kind == MethodKind::kUnary) {
    valid = RpcStatus(RpcCode::kInvalidArgument, "OpenStream of a unary method");
  }
  if (valid.ok() && kind != MethodKind::kServerStreaming && !request.empty()) {
    valid = RpcStatus(RpcCode::kInvalidArgument,
                      "only a server-streaming call takes its request when it opens");
  }
  if (!valid.ok()) {
    call->Complete(std::move(valid), false);
    return stream;
  }
  call->Start(request, options, state_->options().stream_window);
  return stream;
}

std::shared_ptr<ClientStream> Channel::CallServerStreamingAsync(std::string_view method,
                                                                std::string_view request,
                                                                const CallOptions& options,
                                                                StreamMessageCallback on_message,
                                                                StreamDoneCallback on_done) {
  auto call = std::make_shared<ClientCall>(state_, state_->connection(), std::string(method),
                                           MethodKind::kServerStreaming, state_->options());
  // Callbacks count as running channel callbacks until on_done has run, so
  // the Channel's destructor waits for them.
  state_->BeginCallback();
  std::weak_ptr<internal::ChannelState> weak = state_;
  call->SetCallbacks(std::move(on_message), [weak, on_done = std::move(on_done)](RpcStatus status) {
    try {
      on_done(std::move(status));
    } catch (...) {
      // Not ours to handle; the count must still drop.
    }
    if (auto state = weak.lock()) state->EndCallback();
  });
  auto stream = std::make_shared<ClientStreamHandle>(call, ClientStreamHandle::OnDestroy::kKeep);
  RpcStatus valid = ValidateCall(method, options);
  if (!valid.ok()) {
    call->Complete(std::move(valid), false);
    return stream;
  }
  call->Start(request, options, state_->options().stream_window);
  return stream;
}

}  // namespace embed::rpc
