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
#include "embed/rpc/internal/frames.h"
#include "embed/rpc/internal/timer_queue.h"
#include "embed/subject/subject.h"

namespace embed::rpc {

using internal::FrameType;
using Clock = std::chrono::steady_clock;

namespace {

std::string Milliseconds(Clock::duration duration) {
  return std::to_string(std::chrono::duration_cast<std::chrono::milliseconds>(duration).count()) +
         " ms";
}

// Checks what a caller passes before anything is sent.
RpcStatus ValidateCall(std::string_view method, const CallOptions& options) {
  if (!subject::IsValidPublishSubject(method)) {
    return RpcStatus(RpcCode::kInvalidArgument, "bad method subject '" + EscapeForLog(method) + "'");
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

// "greeter.v1.Greeter.SayHello: " in front of an error from the transport.
RpcStatus WithMethod(std::string_view method, const RpcStatus& status) {
  return RpcStatus(status.code(), std::string(method) + ": " + status.message());
}

}  // namespace

class ClientCall;

class internal::ChannelState : public std::enable_shared_from_this<internal::ChannelState> {
 public:
  ChannelState(client::Connection& connection, ChannelOptions options)
      : connection_(connection), options_(std::move(options)) {}

  client::Connection& connection() { return connection_; }
  const ChannelOptions& options() const { return options_; }
  internal::TimerQueue& timers() { return timers_; }

  // The stream inbox subscription ("_INBOX.<nuid>.*"), made on first use;
  // returns the inbox of a new call and registers it.
  Result<std::string> Register(const std::shared_ptr<ClientCall>& call, std::uint64_t* token);
  void Unregister(std::uint64_t token);

  // Takes `done` (leaves it as is and returns 0 when the channel is closed).
  std::uint64_t AddUnary(UnaryCallback& done);
  // Removes and returns the pending callback, or an empty one when the call
  // was already completed (channel closed).
  UnaryCallback TakeUnary(std::uint64_t id);
  void BeginCallback();
  void EndCallback();

  // Closes: cancels streams, completes pending unary calls with CANCELLED,
  // waits for running callbacks.
  void Close();

 private:
  void OnStreamMessage(const client::Message& message);

  client::Connection& connection_;
  const ChannelOptions options_;
  internal::TimerQueue timers_;

  std::mutex mutex_;
  std::condition_variable callbacks_done_;
  bool is_closed_ = false;
  std::unique_ptr<client::Subscription> stream_subscription_;
  std::string stream_prefix_;  // "_INBOX.<nuid>."
  std::uint64_t next_token_ = 1;
  std::unordered_map<std::uint64_t, std::shared_ptr<ClientCall>> calls_;
  std::uint64_t next_unary_ = 1;
  std::unordered_map<std::uint64_t, UnaryCallback> unary_pending_;
  int running_callbacks_ = 0;
};

// One streaming call, shared by the caller's handle, the channel's table and
// its timers.
class ClientCall : public std::enable_shared_from_this<ClientCall> {
 public:
  ClientCall(std::weak_ptr<internal::ChannelState> channel, client::Connection& connection,
             std::string method, MethodKind kind, const ChannelOptions& options)
      : channel_(std::move(channel)),
        connection_(connection),
        method_(std::move(method)),
        kind_(kind),
        keepalive_(options.keepalive_interval),
        receive_(options.stream_window) {}

  void SetCallbacks(StreamMessageCallback on_message, StreamDoneCallback on_done) {
    on_message_ = std::move(on_message);
    on_done_ = std::move(on_done);
  }

  // Registers with the channel, sends the open frame, starts the timers.
  void Start(std::string_view request, const CallOptions& options, std::uint32_t window) {
    auto channel = channel_.lock();
    if (!channel) return Complete(RpcStatus(RpcCode::kCancelled, "the channel is closed"), false);
    Result<std::string> inbox = channel->Register(shared_from_this(), &token_);
    if (!inbox.ok()) return Complete(WithMethod(method_, RpcStatus::FromStatus(inbox.status())), false);
    std::optional<std::chrono::milliseconds> timeout;
    if (options.timeout.count() > 0) timeout = options.timeout;
    {
      std::lock_guard lock(mutex_);
      inbox_ = std::move(*inbox);
      last_received_ = last_sent_ = Clock::now();
    }
    Status sent = connection_.Publish(internal::MakeOpen(method_, inbox_, kind_, window, keepalive_,
                                                         timeout, options.metadata, request));
    if (!sent.ok()) return Complete(WithMethod(method_, RpcStatus::FromStatus(sent)), false);
    std::weak_ptr<ClientCall> weak = weak_from_this();
    std::lock_guard lock(mutex_);
    if (is_finished_) return;
    if (timeout) {
      deadline_timer_ = channel->timers().Schedule(Clock::now() + *timeout, [weak, timeout] {
        if (auto call = weak.lock()) {
          // No cancel frame: the server holds the same deadline and ends
          // the call itself, as DEADLINE_EXCEEDED rather than CANCELLED.
          call->Complete(RpcStatus(RpcCode::kDeadlineExceeded,
                                   "deadline of " + Milliseconds(*timeout) + " passed"),
                         false);
        }
      });
    }
    ScheduleKeepaliveLocked(*channel);
  }

  // A frame from the server (on the dispatcher thread).
  void OnMessage(const client::Message& message) {
    Result<internal::Frame> decoded = internal::DecodeFrame(message);
    if (!decoded.ok()) {
      return Complete(RpcStatus(RpcCode::kInternal, "bad frame from the server: " +
                                                        std::string(decoded.status().message())),
                      true);
    }
    const internal::Frame& frame = *decoded;
    if (frame.is_no_responders) {
      std::unique_lock lock(mutex_);
      bool was_accepted = is_accepted_;
      lock.unlock();
      return Complete(RpcStatus(RpcCode::kUnavailable,
                                was_accepted ? method_ + ": the server is gone"
                                             : method_ + ": no responders (is the service running?)"),
                      false);
    }
    std::unique_lock lock(mutex_);
    last_received_ = Clock::now();
    if (is_finished_) {
      // A late accept for a call already given up: tell that server.
      if (frame.type == FrameType::kAccept && !message.reply_to.empty()) {
        lock.unlock();
        connection_.Publish(internal::MakeControl(FrameType::kCancel, message.reply_to, inbox_))
            .IgnoreError();
      }
      return;
    }
    switch (frame.type) {
      case FrameType::kAccept:
        if (is_accepted_ || message.reply_to.empty()) break;
        is_accepted_ = true;
        peer_inbox_ = message.reply_to;
        send_.Grant(frame.window);
        changed_.notify_all();
        return;
      case FrameType::kCredit:
        send_.Grant(frame.credit);
        changed_.notify_all();
        return;
      case FrameType::kKeepalive:
        return;
      case FrameType::kData: {
        if (kind_ == MethodKind::kClientStreaming) break;
        RpcStatus checked = receive_.OnData(frame.seq);
        if (!checked.ok()) {
          lock.unlock();
          return Complete(WithMethod(method_, checked), true);
        }
        if (on_message_) {
          is_delivering_ = true;
          lock.unlock();
          on_message_(message.payload);
          lock.lock();
          is_delivering_ = false;
          TakeCreditLocked(lock);
          if (is_done_pending_) {
            lock.unlock();
            RunDone();
          }
          return;
        }
        inbound_.push_back(message.payload);
        changed_.notify_all();
        return;
      }
      case FrameType::kEnd: {
        RpcStatus status = frame.status;
        if (status.ok()) {
          RpcStatus counted = receive_.OnEnd(frame.seq);
          if (!counted.ok()) status = WithMethod(method_, counted);
        }
        if (status.ok() && kind_ == MethodKind::kClientStreaming) {
          inbound_.push_back(message.payload);
        }
        lock.unlock();
        return Complete(std::move(status), false);
      }
      default:
        break;
    }
    lock.unlock();
    Complete(RpcStatus(RpcCode::kInternal, "unexpected " +
                                               std::string(internal::FrameTypeName(frame.type)) +
                                               " frame from the server"),
             true);
  }

  RpcStatus Write(std::string_view payload) {
    if (kind_ == MethodKind::kServerStreaming) {
      return RpcStatus(RpcCode::kFailedPrecondition,
                       "a server-streaming call sends its one request when it opens");
    }
    std::unique_lock lock(mutex_);
    if (is_writes_done_) return RpcStatus(RpcCode::kFailedPrecondition, "Write after WritesDone");
    changed_.wait(lock, [this] { return is_finished_ || (is_accepted_ && send_.CanSend()); });
    if (is_finished_) return FinishedStatusLocked();
    std::uint64_t seq = send_.TakeSeq();
    last_sent_ = Clock::now();
    std::string to = peer_inbox_;
    lock.unlock();
    Status sent = connection_.Publish(internal::MakeData(to, inbox_, seq, payload));
    if (!sent.ok()) {
      Complete(WithMethod(method_, RpcStatus::FromStatus(sent)), true);
      return Finish();
    }
    return RpcStatus::Ok();
  }

  RpcStatus WritesDone() {
    if (kind_ == MethodKind::kServerStreaming) return RpcStatus::Ok();
    std::unique_lock lock(mutex_);
    if (is_writes_done_) return RpcStatus::Ok();
    changed_.wait(lock, [this] { return is_finished_ || is_accepted_; });
    if (is_finished_) return FinishedStatusLocked();
    is_writes_done_ = true;
    std::uint64_t sent_count = send_.sent();
    last_sent_ = Clock::now();
    std::string to = peer_inbox_;
    lock.unlock();
    Status sent =
        connection_.Publish(internal::MakeEnd(to, inbox_, sent_count, RpcStatus::Ok(), {}));
    if (!sent.ok()) {
      Complete(WithMethod(method_, RpcStatus::FromStatus(sent)), true);
      return Finish();
    }
    return RpcStatus::Ok();
  }

  bool Read(std::string* message) {
    std::unique_lock lock(mutex_);
    changed_.wait(lock, [this] { return !inbound_.empty() || is_finished_; });
    if (inbound_.empty()) return false;
    *message = std::move(inbound_.front());
    inbound_.pop_front();
    TakeCreditLocked(lock);
    return true;
  }

  RpcStatus Finish() {
    std::unique_lock lock(mutex_);
    changed_.wait(lock, [this] { return is_finished_; });
    return status_;
  }

  bool is_finished() {
    std::lock_guard lock(mutex_);
    return is_finished_;
  }

  // Ends the call with `status` (if it is not over yet); `tell_server` sends
  // a cancel frame to the server.
  void Complete(RpcStatus status, bool tell_server) {
    std::unique_lock lock(mutex_);
    if (is_finished_) return;
    is_finished_ = true;
    status_ = std::move(status);
    std::string to = is_accepted_ ? peer_inbox_ : std::string();
    internal::TimerQueue::TimerId timers[] = {deadline_timer_, keepalive_timer_};
    deadline_timer_ = keepalive_timer_ = 0;
    bool run_done = on_done_ && !is_delivering_;
    if (on_done_ && is_delivering_) is_done_pending_ = true;
    changed_.notify_all();
    lock.unlock();

    auto channel = channel_.lock();
    if (channel) {
      for (auto id : timers) {
        if (id != 0) channel->timers().Cancel(id);
      }
      if (token_ != 0) channel->Unregister(token_);
    }
    if (tell_server && !to.empty() && channel) {
      connection_.Publish(internal::MakeControl(FrameType::kCancel, to, inbox_)).IgnoreError();
    }
    if (run_done) RunDone();
  }

 private:
  RpcStatus FinishedStatusLocked() const {
    if (!status_.ok()) return status_;
    return RpcStatus(RpcCode::kFailedPrecondition, "the server ended the call");
  }

  // After a message was consumed: sends credit when the window asks for it.
  void TakeCreditLocked(std::unique_lock<std::mutex>& lock) {
    std::uint32_t credit = receive_.OnConsumed();
    if (credit == 0 || is_finished_ || !is_accepted_) return;
    last_sent_ = Clock::now();
    std::string to = peer_inbox_;
    lock.unlock();
    connection_.Publish(internal::MakeCredit(to, inbox_, credit)).IgnoreError();
    lock.lock();
  }

  void RunDone() {
    StreamDoneCallback done;
    RpcStatus status;
    {
      std::lock_guard lock(mutex_);
      done = std::move(on_done_);
      on_done_ = nullptr;
      is_done_pending_ = false;
      status = status_;
    }
    if (done) done(std::move(status));
  }

  void ScheduleKeepaliveLocked(internal::ChannelState& channel) {
    std::weak_ptr<ClientCall> weak = weak_from_this();
    keepalive_timer_ = channel.timers().Schedule(Clock::now() + keepalive_, [weak] {
      if (auto call = weak.lock()) call->OnKeepaliveTick();
    });
  }

  void OnKeepaliveTick() {
    auto channel = channel_.lock();
    if (!channel) return;
    std::unique_lock lock(mutex_);
    if (is_finished_) return;
    Clock::time_point now = Clock::now();
    if (now - last_received_ > 3 * keepalive_) {
      std::string silence = Milliseconds(now - last_received_);
      lock.unlock();
      return Complete(RpcStatus(RpcCode::kUnavailable,
                                method_ + ": no word from the server for " + silence),
                      true);
    }
    bool send = is_accepted_ && now - last_sent_ >= keepalive_;
    if (send) last_sent_ = now;
    std::string to = peer_inbox_;
    ScheduleKeepaliveLocked(*channel);
    lock.unlock();
    if (send) {
      connection_.Publish(internal::MakeControl(FrameType::kKeepalive, to, inbox_)).IgnoreError();
    }
  }

  const std::weak_ptr<internal::ChannelState> channel_;
  client::Connection& connection_;
  const std::string method_;
  const MethodKind kind_;
  const std::chrono::milliseconds keepalive_;
  std::uint64_t token_ = 0;
  std::string inbox_;  // set once by Start() before any frame can arrive

  std::mutex mutex_;
  std::condition_variable changed_;
  bool is_accepted_ = false;
  std::string peer_inbox_;
  internal::SendWindow send_;
  internal::ReceiveWindow receive_;
  std::deque<std::string> inbound_;
  bool is_writes_done_ = false;
  bool is_finished_ = false;
  RpcStatus status_;
  Clock::time_point last_received_;
  Clock::time_point last_sent_;
  internal::TimerQueue::TimerId deadline_timer_ = 0;
  internal::TimerQueue::TimerId keepalive_timer_ = 0;
  StreamMessageCallback on_message_;
  StreamDoneCallback on_done_;
  bool is_delivering_ = false;
  bool is_done_pending_ = false;
};

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
  RpcStatus Write(std::string_view message) override { return call_->Write(message); }
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
    auto subscription = connection_.Subscribe(prefix + "*", [weak](const client::Message& message) {
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

void internal::ChannelState::OnStreamMessage(const client::Message& message) {
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
    if (found == calls_.end()) return;
    call = found->second;
  }
  call->OnMessage(message);
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
      return RpcStatus(RpcCode::kDeadlineExceeded,
                       std::string(method) + ": deadline of " + Milliseconds(timeout) + " passed");
    }
    if (reply.status().code() == StatusCode::kUnavailable) {
      return RpcStatus(RpcCode::kUnavailable,
                       std::string(method) + ": " + std::string(reply.status().message()));
    }
    return WithMethod(method, RpcStatus::FromStatus(reply.status()));
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
        callback(std::move(status), std::move(response));
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
  call->SetCallbacks(std::move(on_message),
                     [weak, on_done = std::move(on_done)](RpcStatus status) {
                       on_done(std::move(status));
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
