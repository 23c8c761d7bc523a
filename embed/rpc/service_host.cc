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
#include "embed/rpc/internal/host_state.h"
#include "embed/rpc/internal/server_call.h"
#include "embed/rpc/micro.h"
#include "embed/subject/subject.h"
#include "embed/wire/nuid.h"

namespace embed::rpc {

using internal::CallContext;
using internal::EndpointCounters;
using internal::FrameType;
using internal::PeerNotice;
using internal::ServedService;
using internal::ServerCall;
using Clock = std::chrono::steady_clock;

namespace {

std::string Underscored(std::string_view full_name) {
  std::string name(full_name);
  std::replace(name.begin(), name.end(), '.', '_');
  return name;
}

// Runs a handler; an exception becomes INTERNAL instead of ending the host.
template <class Handler>
RpcStatus RunHandler(std::string_view method, Handler&& handler) {
  try {
    return handler();
  } catch (const std::exception& error) {
    return RpcStatus(RpcCode::kInternal,
                     std::string(method) + ": the handler threw: " + error.what());
  } catch (...) {
    return RpcStatus(RpcCode::kInternal, std::string(method) + ": the handler threw");
  }
}

// Why a call could not be queued for a handler thread.
RpcStatus NotQueued(const internal::WorkerPool& pool, std::size_t max_queued_calls) {
  if (pool.is_shut_down()) {
    return RpcStatus(RpcCode::kUnavailable, "the service host is stopping");
  }
  return RpcStatus(RpcCode::kResourceExhausted, "the service host is busy: " +
                                                    std::to_string(max_queued_calls) +
                                                    " calls are waiting");
}

Clock::time_point DeadlineOf(Clock::time_point now, const internal::Frame& frame) {
  if (!frame.timeout) return Clock::time_point::max();
  return now + *frame.timeout;
}

}  // namespace

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
    auto subscription = connection_.Subscribe(prefix + "*", [weak](client::Message& message) {
      // Stream frames touch calls only, never a Service: no callback guard,
      // so streams keep working while Stop() lets them finish.
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
      [weak, raw](client::Message& message) {
        if (auto state = weak.lock(); state && state->EnterCallback()) {
          state->OnMethodMessage(*raw, message);
          state->LeaveCallback();
        }
      },
      queue);
  if (!methods.ok()) return methods.status();
  served->subscriptions.push_back(std::move(*methods));
  for (micro::Verb verb : {micro::Verb::kPing, micro::Verb::kInfo, micro::Verb::kStats}) {
    for (const std::string& subject : micro::VerbSubjects(verb, served->identity.name, id_)) {
      auto subscription =
          connection_.Subscribe(subject, [weak, raw, verb](const client::Message& message) {
            if (auto state = weak.lock(); state && state->EnterCallback()) {
              state->OnMicroRequest(*raw, verb, message);
              state->LeaveCallback();
            }
          });
      if (!subscription.ok()) {
        // Its method subscription's callback may be running: keep it alive.
        served->subscriptions.clear();
        failed_services_.push_back(std::move(served));
        return subscription.status();
      }
      served->subscriptions.push_back(std::move(*subscription));
    }
  }
  services_.emplace(service.full_name(), std::move(served));
  return Status::Ok();
}

void internal::HostState::OnMethodMessage(ServedService& served, client::Message& message) {
  Result<internal::Frame> frame = internal::DecodeFrame(message);
  if (!frame.ok()) {
    // A malformed open is refused as a stream (an end frame), else as unary.
    internal::Frame refused;
    if (message.headers.Get(internal::kFrameHeader) ==
        internal::FrameTypeName(internal::FrameType::kOpen)) {
      refused.type = internal::FrameType::kOpen;
    }
    return Refuse(message, refused,
                  RpcStatus(RpcCode::kInvalidArgument, std::string(frame.status().message())));
  }
  std::string_view subject = message.subject;
  std::string_view name = subject.substr(subject.rfind('.') + 1);
  auto found = served.methods.find(std::string(name));
  if (found == served.methods.end()) {
    return Refuse(
        message, *frame,
        RpcStatus(RpcCode::kUnimplemented,
                  served.service->full_name() + " has no method '" + EscapeForLog(name, 64) + "'"));
  }
  const Service::Method& method = *found->second;
  if (frame->type == FrameType::kUnary) {
    if (method.info.kind != MethodKind::kUnary) {
      return Refuse(
          message, *frame,
          RpcStatus(RpcCode::kUnimplemented, std::string(subject) + " is a " +
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
    return Refuse(
        message, *frame,
        RpcStatus(RpcCode::kUnimplemented,
                  std::string(subject) + " is a " + std::string(MethodKindName(method.info.kind)) +
                      " method, called as " + std::string(MethodKindName(frame->kind))));
  }
  OpenStream(served, method, message, *frame);
}

bool internal::HostState::EnterCallback() {
  std::lock_guard lock(callbacks_mutex_);
  if (are_callbacks_closed_) return false;
  ++callbacks_running_;
  return true;
}

void internal::HostState::LeaveCallback() {
  std::lock_guard lock(callbacks_mutex_);
  if (--callbacks_running_ == 0) callbacks_idle_.notify_all();
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
                                     client::Message& message, const internal::Frame& frame) {
  Clock::time_point now = Clock::now();
  auto context = std::make_shared<CallContext>(message.subject, std::move(message.headers),
                                               DeadlineOf(now, frame));
  std::string reply_to = message.reply_to;
  if (!BeginCall(context)) {
    return Refuse(message, frame, RpcStatus(RpcCode::kUnavailable, "the service host is stopping"));
  }
  std::weak_ptr<internal::HostState> weak = weak_from_this();
  bool queued = pool_.Submit([weak, context, &served, &method, now, reply_to,
                              request = std::move(message.payload)]() {
    auto state = weak.lock();
    if (!state) return;
    RpcStatus status;
    std::string response;
    if (context->IsCancelled()) {
      status = context->cancellation();
    } else {
      status = RunHandler(context->method(), [&] {
        return std::get<UnaryMethod>(method.handler)(*context, request, &response);
      });
      if (context->IsCancelled()) status = context->cancellation();
    }
    state->Record(served, method.info.name, status, Clock::now() - now);
    // A caller whose deadline passed has given up: no reply. One cancelled
    // because the host stops is told (UNAVAILABLE) so it can retry elsewhere.
    bool tell = !context->IsCancelled() || context->notice() == PeerNotice::kTell;
    if (!reply_to.empty() && tell) {
      Status sent =
          state->connection_.Publish(internal::MakeUnaryReply(reply_to, status, std::move(response)));
      if (!sent.ok() && status.ok()) {
        // Too big for the broker's max_payload, say: the caller must not wait
        // for its deadline to learn it.
        state->connection_
            .Publish(internal::MakeUnaryReply(
                reply_to,
                RpcStatus(RpcCode::kResourceExhausted,
                          std::string(context->method()) + ": the response was not sent: " +
                              std::string(sent.message())),
                {}))
            .IgnoreError();
      }
    }
    state->EndCall(context);
  });
  if (!queued) {
    EndCall(context);
    RpcStatus busy = NotQueued(pool_, options_.max_queued_calls);
    Record(served, method.info.name, busy, Clock::duration::zero());
    Refuse(message, frame, std::move(busy));
  }
}

void internal::HostState::OpenStream(ServedService& served, const Service::Method& method,
                                     const client::Message& message, const internal::Frame& frame) {
  if (message.reply_to.empty()) return;  // nobody to stream to
  Clock::time_point now = Clock::now();
  std::chrono::milliseconds keepalive =
      frame.keepalive.value_or(std::clamp(options_.keepalive_interval, internal::kMinKeepalive,
                                          internal::kMaxKeepalive));
  std::uint32_t window = std::clamp<std::uint32_t>(options_.stream_window, 1, internal::kMaxWindow);
  auto call = std::make_shared<ServerCall>(weak_from_this(), connection_, method, message.subject,
                                           message.headers, DeadlineOf(now, frame),
                                           message.reply_to, frame.window, window, keepalive);
  call->self_ = call;
  {
    std::unique_lock lock(mutex_);
    if (is_stopped_) {
      lock.unlock();
      return Refuse(message, frame,
                    RpcStatus(RpcCode::kUnavailable, "the service host is stopping"));
    }
    std::uint64_t token = next_token_++;
    call->set_token(token, inbox_prefix_ + std::to_string(token));
    streams_.emplace(token, call);
    active_.push_back(call);
  }
  connection_
      .Publish(internal::MakeAccept(message.reply_to, call->inbox(), 0))
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
      if (method.info.kind != MethodKind::kServerStreaming) call->OpenReceiveWindow();
      status = RunHandler(call->method(), [&] {
        switch (method.info.kind) {
          case MethodKind::kServerStreaming:
            return std::get<ServerStreamingMethod>(method.handler)(*call, request, *call);
          case MethodKind::kClientStreaming:
            return std::get<ClientStreamingMethod>(method.handler)(*call, *call, &response);
          case MethodKind::kBidiStreaming:
            return std::get<BidiStreamingMethod>(method.handler)(*call, *call);
          case MethodKind::kUnary:
            break;
        }
        return RpcStatus(RpcCode::kInternal, "unary method on a stream");
      });
    }
    RpcStatus final_status = call->Finish(std::move(status), response);
    state->Record(served, method.info.name, final_status, Clock::now() - now);
    state->Unregister(call->token());
    state->EndCall(call);
  });
  if (!queued) {
    RpcStatus busy = NotQueued(pool_, options_.max_queued_calls);
    call->Abort(busy);
    call->Finish(busy, {}).IgnoreError();
    Record(served, method.info.name, busy, Clock::duration::zero());
    Unregister(call->token());
    EndCall(call);
  }
}

void internal::HostState::OnInboxMessage(client::Message& message) {
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
      for (auto& subscription : served->subscriptions)
        subscriptions.push_back(std::move(subscription));
      served->subscriptions.clear();
    }
  }
  // Drained, not just dropped: once the broker has the UNSUB (the drain's
  // flush), new calls go to other instances or get no responders, and the
  // calls it delivered before are answered (UNAVAILABLE, "stopping") instead
  // of left to time out.
  // One deadline for all: a connection that is down makes each drain wait.
  Clock::time_point drain_deadline = Clock::now() + grace;
  for (auto& subscription : subscriptions) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(drain_deadline - Clock::now());
    if (left.count() <= 0) break;
    subscription->Drain(left).IgnoreError();
  }
  subscriptions.clear();
  {
    // A callback that started before the UNSUB may still be running.
    std::unique_lock lock(callbacks_mutex_);
    are_callbacks_closed_ = true;
    callbacks_idle_.wait(lock, [this] { return callbacks_running_ == 0; });
  }
  std::vector<std::shared_ptr<CallContext>> remaining;
  {
    std::unique_lock lock(mutex_);
    calls_done_.wait_until(lock, drain_deadline, [this] { return active_.empty(); });
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
