#include "embed/rpc/service_host.h"

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
#include "embed/rpc/internal/worker_pool.h"
#include "embed/rpc/micro.h"
#include "embed/subject/subject.h"
#include "embed/wire/nuid.h"

namespace embed::rpc {

using internal::FrameType;
using Clock = std::chrono::steady_clock;

namespace {

std::string Milliseconds(Clock::duration duration) {
  return std::to_string(std::chrono::duration_cast<std::chrono::milliseconds>(duration).count()) +
         " ms";
}

std::string Underscored(std::string_view full_name) {
  std::string name(full_name);
  std::replace(name.begin(), name.end(), '.', '_');
  return name;
}

// Why a call ended early, and whether its caller must still be told.
enum class PeerNotice { kTell, kSilent };

// The context shared by unary and streaming calls.
class CallContext : public ServerContext {
 public:
  CallContext(std::string method, wire::Headers metadata, Clock::time_point deadline)
      : method_(std::move(method)), metadata_(std::move(metadata)), deadline_(deadline) {}

  std::string_view method() const override { return method_; }
  const wire::Headers& metadata() const override { return metadata_; }
  Clock::time_point deadline() const override { return deadline_; }

  bool IsCancelled() const override {
    std::lock_guard lock(mutex_);
    return IsCancelledLocked();
  }
  RpcStatus cancellation() const override {
    std::lock_guard lock(mutex_);
    if (IsCancelledLocked() && cancellation_.ok()) return DeadlineStatus();
    return cancellation_;
  }
  bool WaitForCancellation(std::chrono::milliseconds timeout) const override {
    std::unique_lock lock(mutex_);
    Clock::time_point until = std::min(deadline_, Clock::now() + timeout);
    changed_.wait_until(lock, until, [this] { return IsCancelledLocked(); });
    return IsCancelledLocked();
  }

  // Cancels (first reason wins); returns false when already cancelled.
  bool Cancel(RpcStatus reason, PeerNotice notice) {
    {
      std::lock_guard lock(mutex_);
      if (is_cancelled_) return false;
      is_cancelled_ = true;
      cancellation_ = std::move(reason);
      notice_ = notice;
    }
    changed_.notify_all();
    return true;
  }
  PeerNotice notice() const {
    std::lock_guard lock(mutex_);
    return notice_;
  }

 protected:
  bool IsCancelledLocked() const { return is_cancelled_ || Clock::now() >= deadline_; }
  RpcStatus DeadlineStatus() const {
    return RpcStatus(RpcCode::kDeadlineExceeded, method_ + ": the caller's deadline passed");
  }

  const std::string method_;
  const wire::Headers metadata_;
  const Clock::time_point deadline_;
  mutable std::mutex mutex_;
  mutable std::condition_variable changed_;
  bool is_cancelled_ = false;
  RpcStatus cancellation_;
  PeerNotice notice_ = PeerNotice::kSilent;
};

Clock::time_point DeadlineOf(Clock::time_point now, const internal::Frame& frame) {
  if (!frame.timeout) return Clock::time_point::max();
  return now + *frame.timeout;
}

}  // namespace

class ServerCall;

// Per-endpoint counters for $SRV.STATS.
struct EndpointCounters {
  std::uint64_t num_requests = 0;
  std::uint64_t num_errors = 0;
  std::string last_error;
  std::int64_t processing_time_ns = 0;
};

struct ServedService {
  Service* service = nullptr;
  ServiceOptions options;
  micro::ServiceIdentity identity;
  std::string started;
  std::string queue_group;
  std::unordered_map<std::string, const Service::Method*> methods;  // by name
  std::map<std::string, EndpointCounters> counters;                 // by method name
  std::vector<std::unique_ptr<client::Subscription>> subscriptions;
};

class internal::HostState : public std::enable_shared_from_this<internal::HostState> {
 public:
  HostState(client::Connection& connection, ServiceHostOptions options)
      : connection_(connection),
        options_(std::move(options)),
        id_(wire::Nuid().Next()),
        pool_(options_.max_threads, options_.max_queued_calls) {}

  client::Connection& connection() { return connection_; }
  const ServiceHostOptions& options() const { return options_; }
  const std::string& id() const { return id_; }
  internal::TimerQueue& timers() { return timers_; }

  Status AddService(Service& service, const ServiceOptions& options);
  void Stop(std::chrono::milliseconds grace);

  // Bookkeeping of running calls (for Stop and the stream inbox).
  void EndCall(const std::shared_ptr<CallContext>& context);
  void Unregister(std::uint64_t token);
  void Record(ServedService& served, const std::string& method, const RpcStatus& status,
              Clock::duration elapsed);

 private:
  void OnMethodMessage(ServedService& served, const client::Message& message);
  void OnInboxMessage(const client::Message& message);
  void OnMicroRequest(ServedService& served, micro::Verb verb, const client::Message& message);
  void ServeUnary(ServedService& served, const Service::Method& method, const client::Message& message,
                  const internal::Frame& frame);
  void OpenStream(ServedService& served, const Service::Method& method, const client::Message& message,
                  const internal::Frame& frame);
  void Refuse(const client::Message& message, const internal::Frame& frame, RpcStatus status);
  bool BeginCall(const std::shared_ptr<CallContext>& context);

  client::Connection& connection_;
  const ServiceHostOptions options_;
  const std::string id_;
  internal::WorkerPool pool_;
  internal::TimerQueue timers_;

  std::mutex mutex_;
  std::condition_variable calls_done_;
  bool is_stopped_ = false;
  std::map<std::string, std::unique_ptr<ServedService>> services_;  // by full name
  std::unique_ptr<client::Subscription> inbox_subscription_;
  std::string inbox_prefix_;  // "_INBOX.<id>."
  std::uint64_t next_token_ = 1;
  std::unordered_map<std::uint64_t, std::shared_ptr<ServerCall>> streams_;
  std::vector<std::shared_ptr<CallContext>> active_;  // unary and streaming
  std::mutex stats_mutex_;
};

// A streaming call on the server: its context and its stream.
class ServerCall : public CallContext, public ServerStream {
 public:
  ServerCall(std::weak_ptr<internal::HostState> host, client::Connection& connection,
             const Service::Method& method, std::string full_method, wire::Headers metadata,
             Clock::time_point deadline, std::string peer_inbox, std::uint32_t client_window,
             std::uint32_t host_window, std::chrono::milliseconds keepalive)
      : CallContext(std::move(full_method), std::move(metadata), deadline),
        host_(std::move(host)),
        connection_(connection),
        method_info_(method.info),
        peer_inbox_(std::move(peer_inbox)),
        receive_(host_window),
        keepalive_(keepalive) {
    send_.Grant(client_window);
  }

  void set_token(std::uint64_t token, std::string inbox) {
    token_ = token;
    inbox_ = std::move(inbox);
  }
  std::uint64_t token() const { return token_; }
  const std::string& inbox() const { return inbox_; }
  const std::string& peer_inbox() const { return peer_inbox_; }

  // ServerStream.
  bool Read(std::string* message) override {
    if (method_info_.kind == MethodKind::kServerStreaming) return false;
    std::unique_lock lock(mutex_);
    WaitLocked(lock, [this] { return !inbound_.empty() || is_half_closed_ || is_cancelled_; });
    if (IsCancelledLocked()) {
      CancelAtDeadline(lock);
      return false;
    }
    if (inbound_.empty()) return false;
    *message = std::move(inbound_.front());
    inbound_.pop_front();
    std::uint32_t credit = receive_.OnConsumed();
    if (credit > 0) {
      last_sent_ = Clock::now();
      lock.unlock();
      connection_.Publish(internal::MakeCredit(peer_inbox_, inbox_, credit)).IgnoreError();
    }
    return true;
  }

  RpcStatus Write(std::string_view message) override {
    if (method_info_.kind == MethodKind::kClientStreaming) {
      return RpcStatus(RpcCode::kFailedPrecondition,
                       "a client-streaming method returns its one response");
    }
    std::unique_lock lock(mutex_);
    WaitLocked(lock, [this] { return is_cancelled_ || send_.CanSend(); });
    if (IsCancelledLocked()) {
      CancelAtDeadline(lock);
      return cancellation_;
    }
    std::uint64_t seq = send_.TakeSeq();
    last_sent_ = Clock::now();
    lock.unlock();
    Status sent = connection_.Publish(internal::MakeData(peer_inbox_, inbox_, seq, message));
    if (!sent.ok()) {
      RpcStatus status = RpcStatus::FromStatus(sent);
      Cancel(status, PeerNotice::kTell);
      return status;
    }
    return RpcStatus::Ok();
  }

  void Abort(RpcStatus status) override {
    {
      std::lock_guard lock(mutex_);
      if (!abort_.ok()) return;
      abort_ = status;
    }
    Cancel(std::move(status), PeerNotice::kTell);
  }

  // A frame from the client (on the dispatcher thread).
  void OnMessage(const client::Message& message) {
    Result<internal::Frame> decoded = internal::DecodeFrame(message);
    if (!decoded.ok()) {
      return Fail(RpcStatus(RpcCode::kInvalidArgument,
                            "bad frame: " + std::string(decoded.status().message())));
    }
    const internal::Frame& frame = *decoded;
    if (frame.is_no_responders) {
      Cancel(RpcStatus(RpcCode::kUnavailable, method_ + ": the caller is gone"),
             PeerNotice::kSilent);
      return;
    }
    std::unique_lock lock(mutex_);
    last_received_ = Clock::now();
    if (is_cancelled_) return;
    bool takes_messages = method_info_.kind == MethodKind::kClientStreaming ||
                          method_info_.kind == MethodKind::kBidiStreaming;
    switch (frame.type) {
      case FrameType::kData: {
        if (!takes_messages || is_half_closed_) break;
        RpcStatus checked = receive_.OnData(frame.seq);
        if (!checked.ok()) {
          lock.unlock();
          return Fail(checked);
        }
        inbound_.push_back(message.payload);
        changed_.notify_all();
        return;
      }
      case FrameType::kEnd: {
        if (!takes_messages) return;  // a server-streaming caller's half-close: nothing to do
        RpcStatus counted = receive_.OnEnd(frame.seq);
        if (!counted.ok()) {
          lock.unlock();
          return Fail(counted);
        }
        is_half_closed_ = true;
        changed_.notify_all();
        return;
      }
      case FrameType::kCredit:
        send_.Grant(frame.credit);
        changed_.notify_all();
        return;
      case FrameType::kKeepalive:
        return;
      case FrameType::kCancel:
        lock.unlock();
        Cancel(RpcStatus(RpcCode::kCancelled, method_ + ": cancelled by the caller"),
               PeerNotice::kSilent);
        return;
      default:
        break;
    }
    lock.unlock();
    Fail(RpcStatus(RpcCode::kInvalidArgument,
                   "unexpected " + std::string(internal::FrameTypeName(frame.type)) + " frame"));
  }

  // The protocol broke: the call ends with `status`, which the caller is told.
  void Fail(RpcStatus status) { Abort(std::move(status)); }

  // After the handler returned: sends the end frame unless the caller
  // already knows the outcome.
  RpcStatus Finish(RpcStatus status, std::string_view response) {
    std::unique_lock lock(mutex_);
    if (!abort_.ok()) status = abort_;
    bool tell = true;
    if (is_cancelled_ || Clock::now() >= deadline_) {
      tell = notice_ == PeerNotice::kTell;
      if (abort_.ok()) status = cancellation_.ok() ? DeadlineStatus() : cancellation_;
    }
    if (!is_cancelled_) is_cancelled_ = true;  // no further Read/Write
    std::uint64_t sent = send_.sent();
    internal::TimerQueue::TimerId timer = keepalive_timer_;
    keepalive_timer_ = 0;
    lock.unlock();
    changed_.notify_all();
    if (auto host = host_.lock()) {
      if (timer != 0) host->timers().Cancel(timer);
    }
    if (tell) {
      bool has_response = status.ok() && method_info_.kind == MethodKind::kClientStreaming;
      connection_
          .Publish(internal::MakeEnd(peer_inbox_, inbox_, sent, status,
                                     has_response ? response : std::string_view()))
          .IgnoreError();
    }
    return status;
  }

  void StartKeepalive(internal::TimerQueue& timers) {
    std::lock_guard lock(mutex_);
    last_received_ = last_sent_ = Clock::now();
    ScheduleKeepaliveLocked(timers);
  }

 private:
  // Waits for `ready` or the deadline (no timed wait when there is none).
  template <class Predicate>
  void WaitLocked(std::unique_lock<std::mutex>& lock, Predicate ready) {
    if (deadline_ == Clock::time_point::max()) {
      changed_.wait(lock, ready);
    } else {
      changed_.wait_until(lock, deadline_, ready);
    }
  }
  // Called with IsCancelledLocked() true: records a passed deadline as the
  // cancellation (the caller has its DEADLINE_EXCEEDED already).
  void CancelAtDeadline(std::unique_lock<std::mutex>& lock) {
    if (is_cancelled_) return;
    is_cancelled_ = true;
    cancellation_ = DeadlineStatus();
    notice_ = PeerNotice::kSilent;
    lock.unlock();
    changed_.notify_all();
    lock.lock();
  }

  void ScheduleKeepaliveLocked(internal::TimerQueue& timers) {
    std::weak_ptr<ServerCall> weak =
        std::static_pointer_cast<ServerCall>(self_.lock());
    keepalive_timer_ = timers.Schedule(Clock::now() + keepalive_, [weak] {
      if (auto call = weak.lock()) call->OnKeepaliveTick();
    });
  }

  void OnKeepaliveTick() {
    auto host = host_.lock();
    if (!host) return;
    std::unique_lock lock(mutex_);
    if (is_cancelled_) return;
    Clock::time_point now = Clock::now();
    if (now >= deadline_) {
      lock.unlock();
      Cancel(DeadlineStatus(), PeerNotice::kSilent);
      return;
    }
    if (now - last_received_ > 3 * keepalive_) {
      std::string silence = Milliseconds(now - last_received_);
      lock.unlock();
      Cancel(RpcStatus(RpcCode::kUnavailable, method_ + ": no word from the caller for " + silence),
             PeerNotice::kSilent);
      return;
    }
    bool send = now - last_sent_ >= keepalive_;
    if (send) last_sent_ = now;
    // Wake at the deadline if it comes before the next tick.
    ScheduleKeepaliveLocked(host->timers());
    lock.unlock();
    if (send) {
      connection_.Publish(internal::MakeControl(FrameType::kKeepalive, peer_inbox_, inbox_))
          .IgnoreError();
    }
  }

 public:
  // The owning shared_ptr, for timers (set right after construction).
  std::weak_ptr<CallContext> self_;

 private:
  const std::weak_ptr<internal::HostState> host_;
  client::Connection& connection_;
  const MethodInfo method_info_;
  const std::string peer_inbox_;
  std::uint64_t token_ = 0;
  std::string inbox_;
  internal::SendWindow send_;
  internal::ReceiveWindow receive_;
  std::deque<std::string> inbound_;
  bool is_half_closed_ = false;
  RpcStatus abort_;
  const std::chrono::milliseconds keepalive_;
  Clock::time_point last_received_;
  Clock::time_point last_sent_;
  internal::TimerQueue::TimerId keepalive_timer_ = 0;
};

Status internal::HostState::AddService(Service& service, const ServiceOptions& options) {
  auto served = std::make_unique<ServedService>();
  served->service = &service;
  served->options = options;
  served->identity.name =
      options.micro_name.empty() ? Underscored(service.full_name()) : options.micro_name;
  served->identity.id = id_;
  served->identity.version = options.version;
  served->identity.metadata = options.metadata;
  served->identity.metadata["embed.service"] = service.full_name();
  served->queue_group =
      options.queue_group.empty() ? Underscored(service.full_name()) : options.queue_group;
  served->started = micro::FormatRfc3339(std::chrono::system_clock::now());
  if (!subject::IsValidPublishSubject(service.full_name())) {
    return InvalidArgumentError("bad service name '" + EscapeForLog(service.full_name()) + "'");
  }
  if (!micro::IsValidName(served->identity.name)) {
    return InvalidArgumentError("bad service API name '" + EscapeForLog(served->identity.name) +
                                "' (letters, digits, '_' and '-')");
  }
  if (!micro::IsValidVersion(options.version)) {
    return InvalidArgumentError("bad version '" + EscapeForLog(options.version) + "' (SemVer)");
  }
  EMBED_RETURN_IF_ERROR(subject::ValidateQueueName(served->queue_group));
  for (const Service::Method& method : service.methods()) {
    if (!subject::IsValidPublishSubject(service.full_name() + "." + method.info.name) ||
        method.info.name.find('.') != std::string::npos) {
      return InvalidArgumentError("bad method name '" + EscapeForLog(method.info.name) + "'");
    }
    served->methods.emplace(method.info.name, &method);
    served->counters[method.info.name];
  }

  std::lock_guard lock(mutex_);
  if (is_stopped_) return FailedPreconditionError("the service host is stopped");
  if (services_.count(service.full_name()) != 0) {
    return AlreadyExistsError("service " + service.full_name() + " is already served here");
  }
  std::weak_ptr<internal::HostState> weak = weak_from_this();
  if (!inbox_subscription_) {
    std::string prefix = "_INBOX." + id_ + ".";
    auto subscription =
        connection_.Subscribe(prefix + "*", [weak](const client::Message& message) {
          if (auto state = weak.lock()) state->OnInboxMessage(message);
        });
    if (!subscription.ok()) return subscription.status();
    inbox_subscription_ = std::move(*subscription);
    inbox_prefix_ = std::move(prefix);
  }
  ServedService* raw = served.get();
  client::SubscribeOptions queue;
  queue.queue_group = served->queue_group;
  auto methods = connection_.Subscribe(
      service.full_name() + ".*",
      [weak, raw](const client::Message& message) {
        if (auto state = weak.lock()) state->OnMethodMessage(*raw, message);
      },
      queue);
  if (!methods.ok()) return methods.status();
  served->subscriptions.push_back(std::move(*methods));
  for (micro::Verb verb : {micro::Verb::kPing, micro::Verb::kInfo, micro::Verb::kStats}) {
    for (const std::string& subject : micro::VerbSubjects(verb, served->identity.name, id_)) {
      auto subscription =
          connection_.Subscribe(subject, [weak, raw, verb](const client::Message& message) {
            if (auto state = weak.lock()) state->OnMicroRequest(*raw, verb, message);
          });
      if (!subscription.ok()) return subscription.status();
      served->subscriptions.push_back(std::move(*subscription));
    }
  }
  services_.emplace(service.full_name(), std::move(served));
  return Status::Ok();
}

void internal::HostState::OnMethodMessage(ServedService& served, const client::Message& message) {
  Result<internal::Frame> frame = internal::DecodeFrame(message);
  if (!frame.ok()) {
    internal::Frame plain;
    return Refuse(message, plain,
                  RpcStatus(RpcCode::kInvalidArgument, std::string(frame.status().message())));
  }
  std::string_view subject = message.subject;
  std::string_view name = subject.substr(subject.rfind('.') + 1);
  auto found = served.methods.find(std::string(name));
  if (found == served.methods.end()) {
    return Refuse(message, *frame,
                  RpcStatus(RpcCode::kUnimplemented, served.service->full_name() +
                                                         " has no method '" +
                                                         EscapeForLog(name, 64) + "'"));
  }
  const Service::Method& method = *found->second;
  if (frame->type == FrameType::kUnary) {
    if (method.info.kind != MethodKind::kUnary) {
      return Refuse(message, *frame,
                    RpcStatus(RpcCode::kUnimplemented,
                              std::string(subject) + " is a " +
                                  std::string(MethodKindName(method.info.kind)) +
                                  " method; call it as a stream"));
    }
    return ServeUnary(served, method, message, *frame);
  }
  if (frame->type != FrameType::kOpen) {
    return Refuse(message, *frame,
                  RpcStatus(RpcCode::kInvalidArgument,
                            "unexpected " + std::string(internal::FrameTypeName(frame->type)) +
                                " frame on a method subject"));
  }
  if (frame->kind != method.info.kind) {
    return Refuse(message, *frame,
                  RpcStatus(RpcCode::kUnimplemented,
                            std::string(subject) + " is a " +
                                std::string(MethodKindName(method.info.kind)) + " method, called as " +
                                std::string(MethodKindName(frame->kind))));
  }
  OpenStream(served, method, message, *frame);
}

void internal::HostState::Refuse(const client::Message& message, const internal::Frame& frame,
                                RpcStatus status) {
  if (message.reply_to.empty()) return;
  if (frame.type == FrameType::kOpen) {
    connection_.Publish(internal::MakeEnd(message.reply_to, "", 0, status, {})).IgnoreError();
  } else {
    connection_.Publish(internal::MakeUnaryReply(message.reply_to, status, {})).IgnoreError();
  }
}

bool internal::HostState::BeginCall(const std::shared_ptr<CallContext>& context) {
  std::lock_guard lock(mutex_);
  if (is_stopped_) return false;
  active_.push_back(context);
  return true;
}

void internal::HostState::EndCall(const std::shared_ptr<CallContext>& context) {
  std::lock_guard lock(mutex_);
  auto found = std::find(active_.begin(), active_.end(), context);
  if (found != active_.end()) {
    *found = std::move(active_.back());
    active_.pop_back();
  }
  if (active_.empty()) calls_done_.notify_all();
}

void internal::HostState::Unregister(std::uint64_t token) {
  std::lock_guard lock(mutex_);
  streams_.erase(token);
}

void internal::HostState::Record(ServedService& served, const std::string& method,
                                const RpcStatus& status, Clock::duration elapsed) {
  std::lock_guard lock(stats_mutex_);
  EndpointCounters& counters = served.counters[method];
  ++counters.num_requests;
  counters.processing_time_ns +=
      std::chrono::duration_cast<std::chrono::nanoseconds>(elapsed).count();
  if (!status.ok()) {
    ++counters.num_errors;
    counters.last_error = std::to_string(static_cast<int>(status.code())) + ":" + status.message();
  }
}

void internal::HostState::ServeUnary(ServedService& served, const Service::Method& method,
                                    const client::Message& message, const internal::Frame& frame) {
  Clock::time_point now = Clock::now();
  auto context = std::make_shared<CallContext>(message.subject, message.headers,
                                               DeadlineOf(now, frame));
  std::string reply_to = message.reply_to;
  if (!BeginCall(context)) {
    return Refuse(message, frame,
                  RpcStatus(RpcCode::kUnavailable, "the service host is stopping"));
  }
  std::weak_ptr<internal::HostState> weak = weak_from_this();
  bool queued = pool_.Submit([weak, context, &served, &method, now, reply_to,
                              request = message.payload]() {
    auto state = weak.lock();
    if (!state) return;
    RpcStatus status;
    std::string response;
    if (context->IsCancelled()) {
      status = context->cancellation();
    } else {
      status = std::get<UnaryMethod>(method.handler)(*context, request, &response);
      if (context->IsCancelled()) status = context->cancellation();
    }
    state->Record(served, method.info.name, status, Clock::now() - now);
    // A caller whose deadline passed has given up: no reply. One cancelled
    // because the host stops is told (UNAVAILABLE) so it can retry elsewhere.
    bool tell = !context->IsCancelled() || context->notice() == PeerNotice::kTell;
    if (!reply_to.empty() && tell) {
      state->connection_.Publish(internal::MakeUnaryReply(reply_to, status, std::move(response)))
          .IgnoreError();
    }
    state->EndCall(context);
  });
  if (!queued) {
    EndCall(context);
    RpcStatus busy(RpcCode::kResourceExhausted,
                   "the service host is busy: " + std::to_string(options_.max_queued_calls) +
                       " calls are waiting");
    Record(served, method.info.name, busy, Clock::duration::zero());
    Refuse(message, frame, std::move(busy));
  }
}

void internal::HostState::OpenStream(ServedService& served, const Service::Method& method,
                                    const client::Message& message, const internal::Frame& frame) {
  if (message.reply_to.empty()) return;  // nobody to stream to
  Clock::time_point now = Clock::now();
  bool takes_messages = method.info.kind != MethodKind::kServerStreaming;
  std::chrono::milliseconds keepalive = frame.keepalive.value_or(options_.keepalive_interval);
  std::uint32_t window = std::clamp<std::uint32_t>(options_.stream_window, 1, internal::kMaxWindow);
  auto call = std::make_shared<ServerCall>(weak_from_this(), connection_, method, message.subject,
                                           message.headers, DeadlineOf(now, frame),
                                           message.reply_to, frame.window, window, keepalive);
  call->self_ = call;
  {
    std::lock_guard lock(mutex_);
    if (is_stopped_) {
      return Refuse(message, frame, RpcStatus(RpcCode::kUnavailable, "the service host is stopping"));
    }
    std::uint64_t token = next_token_++;
    call->set_token(token, inbox_prefix_ + std::to_string(token));
    streams_.emplace(token, call);
    active_.push_back(call);
  }
  connection_
      .Publish(internal::MakeAccept(message.reply_to, call->inbox(), takes_messages ? window : 0))
      .IgnoreError();
  call->StartKeepalive(timers_);

  std::weak_ptr<internal::HostState> weak = weak_from_this();
  std::string request = method.info.kind == MethodKind::kServerStreaming ? message.payload : "";
  bool queued = pool_.Submit([weak, call, &served, &method, now, request = std::move(request)]() {
    auto state = weak.lock();
    if (!state) return;
    RpcStatus status;
    std::string response;
    if (call->IsCancelled()) {
      status = call->cancellation();
    } else {
      switch (method.info.kind) {
        case MethodKind::kServerStreaming:
          status = std::get<ServerStreamingMethod>(method.handler)(*call, request, *call);
          break;
        case MethodKind::kClientStreaming:
          status = std::get<ClientStreamingMethod>(method.handler)(*call, *call, &response);
          break;
        case MethodKind::kBidiStreaming:
          status = std::get<BidiStreamingMethod>(method.handler)(*call, *call);
          break;
        case MethodKind::kUnary:
          status = RpcStatus(RpcCode::kInternal, "unary method on a stream");
          break;
      }
    }
    RpcStatus final_status = call->Finish(std::move(status), response);
    state->Record(served, method.info.name, final_status, Clock::now() - now);
    state->Unregister(call->token());
    state->EndCall(call);
  });
  if (!queued) {
    RpcStatus busy(RpcCode::kResourceExhausted,
                   "the service host is busy: " + std::to_string(options_.max_queued_calls) +
                       " calls are waiting");
    call->Abort(busy);
    call->Finish(busy, {}).IgnoreError();
    Record(served, method.info.name, busy, Clock::duration::zero());
    Unregister(call->token());
    EndCall(call);
  }
}

void internal::HostState::OnInboxMessage(const client::Message& message) {
  std::shared_ptr<ServerCall> call;
  {
    std::lock_guard lock(mutex_);
    std::string_view subject = message.subject;
    if (subject.size() <= inbox_prefix_.size()) return;
    subject.remove_prefix(inbox_prefix_.size());
    std::uint64_t token = 0;
    auto [end, error] = std::from_chars(subject.data(), subject.data() + subject.size(), token);
    if (error != std::errc() || end != subject.data() + subject.size()) return;
    auto found = streams_.find(token);
    if (found == streams_.end()) return;
    call = found->second;
  }
  call->OnMessage(message);
}

void internal::HostState::OnMicroRequest(ServedService& served, micro::Verb verb,
                                        const client::Message& message) {
  if (message.reply_to.empty()) return;
  std::string json;
  switch (verb) {
    case micro::Verb::kPing:
      json = micro::PingResponseJson(served.identity);
      break;
    case micro::Verb::kInfo: {
      std::vector<micro::EndpointInfo> endpoints;
      for (const Service::Method& method : served.service->methods()) {
        micro::EndpointInfo endpoint;
        endpoint.name = method.info.name;
        endpoint.subject = served.service->full_name() + "." + method.info.name;
        endpoint.queue_group = served.queue_group;
        endpoint.metadata["embed.kind"] = std::string(MethodKindName(method.info.kind));
        endpoint.metadata["embed.request"] = method.info.request_type;
        endpoint.metadata["embed.response"] = method.info.response_type;
        endpoints.push_back(std::move(endpoint));
      }
      json = micro::InfoResponseJson(served.identity, served.options.description, endpoints);
      break;
    }
    case micro::Verb::kStats: {
      std::vector<micro::EndpointStats> endpoints;
      std::lock_guard lock(stats_mutex_);
      for (const Service::Method& method : served.service->methods()) {
        const EndpointCounters& counters = served.counters[method.info.name];
        micro::EndpointStats endpoint;
        endpoint.name = method.info.name;
        endpoint.subject = served.service->full_name() + "." + method.info.name;
        endpoint.queue_group = served.queue_group;
        endpoint.num_requests = counters.num_requests;
        endpoint.num_errors = counters.num_errors;
        endpoint.last_error = counters.last_error;
        endpoint.processing_time_ns = counters.processing_time_ns;
        endpoint.average_processing_time_ns =
            counters.num_requests == 0
                ? 0
                : counters.processing_time_ns / static_cast<std::int64_t>(counters.num_requests);
        endpoints.push_back(std::move(endpoint));
      }
      json = micro::StatsResponseJson(served.identity, served.started, endpoints);
      break;
    }
  }
  connection_.Publish(message.reply_to, json).IgnoreError();
}

void internal::HostState::Stop(std::chrono::milliseconds grace) {
  std::vector<std::unique_ptr<client::Subscription>> subscriptions;
  {
    std::lock_guard lock(mutex_);
    if (is_stopped_) return;
    is_stopped_ = true;
    for (auto& [name, served] : services_) {
      for (auto& subscription : served->subscriptions) subscriptions.push_back(std::move(subscription));
      served->subscriptions.clear();
    }
  }
  // New calls now go to other instances (or get no responders).
  subscriptions.clear();
  std::vector<std::shared_ptr<CallContext>> remaining;
  {
    std::unique_lock lock(mutex_);
    calls_done_.wait_for(lock, grace, [this] { return active_.empty(); });
    remaining = active_;
  }
  for (auto& context : remaining) {
    context->Cancel(RpcStatus(RpcCode::kUnavailable, "the service is stopping"), PeerNotice::kTell);
  }
  pool_.Shutdown();
  std::unique_ptr<client::Subscription> inbox;
  {
    std::lock_guard lock(mutex_);
    inbox = std::move(inbox_subscription_);
    streams_.clear();
  }
  inbox.reset();
  timers_.Shutdown();
}

ServiceHost::ServiceHost(client::Connection& connection, ServiceHostOptions options)
    : state_(std::make_shared<internal::HostState>(connection, std::move(options))) {}

ServiceHost::~ServiceHost() { Stop(std::chrono::milliseconds(0)); }

Status ServiceHost::AddService(Service& service, const ServiceOptions& options) {
  EMBED_RETURN_IF_ERROR(state_->AddService(service, options));
  // The broker has the subscriptions once the flush returns. When the
  // connection is down it fails, and the client subscribes on reconnect.
  state_->connection().Flush(std::chrono::seconds(2)).IgnoreError();
  return Status::Ok();
}

void ServiceHost::Stop(std::chrono::milliseconds grace) { state_->Stop(grace); }

const std::string& ServiceHost::id() const { return state_->id(); }

}  // namespace embed::rpc
