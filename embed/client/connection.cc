// client::Connection and client::Subscription: thin handles over the
// internal::ConnectionEngine that does the work.

#include "embed/client/connection.h"

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "embed/client/internal/connection_engine.h"
#include "embed/client/server_url.h"

namespace embed::client {
namespace {

using internal::ConnectionEngine;
using internal::SubscriptionState;

class SubscriptionHandle final : public Subscription {
 public:
  SubscriptionHandle(std::shared_ptr<ConnectionEngine> engine, std::shared_ptr<SubscriptionState> state)
      : engine_(std::move(engine)), state_(std::move(state)) {}
  // Always marks the subscription unsubscribed, even when it is no longer
  // valid: its queued messages must not reach a handler whose state is gone.
  ~SubscriptionHandle() override { engine_->Unsubscribe(*state_, 0).IgnoreError(); }

  Status Unsubscribe() override { return engine_->Unsubscribe(*state_, 0); }
  Status AutoUnsubscribe(std::uint64_t max_messages) override {
    if (max_messages == 0) return InvalidArgumentError("max_messages must be positive");
    return engine_->Unsubscribe(*state_, max_messages);
  }
  Status Drain(std::chrono::milliseconds timeout) override {
    return engine_->DrainSubscription(*state_, timeout);
  }
  const std::string& subject() const override { return state_->subject; }
  bool is_valid() const override { return !state_->is_unsubscribed && !state_->is_finished; }
  std::uint64_t delivered() const override { return state_->delivered.load(); }
  std::uint64_t dropped() const override { return state_->dropped.load(); }
  std::size_t pending_messages() const override { return engine_->PendingMessages(*state_); }
  std::size_t pending_bytes() const override { return engine_->PendingBytes(*state_); }

 private:
  std::shared_ptr<ConnectionEngine> engine_;
  std::shared_ptr<SubscriptionState> state_;
};

class ConnectionHandle final : public Connection {
 public:
  explicit ConnectionHandle(std::shared_ptr<ConnectionEngine> engine) : engine_(std::move(engine)) {}
  ~ConnectionHandle() override { engine_->Close(); }

  Status Publish(std::string_view subject, ByteView payload, std::string_view reply_to) override {
    return engine_->Publish(subject, payload, reply_to, nullptr);
  }
  Status Publish(const Message& message) override {
    const bool with_headers = message.has_headers || !message.headers.empty();
    return engine_->Publish(message.subject, message.payload, message.reply_to,
                            with_headers ? &message.headers : nullptr);
  }
  Result<std::unique_ptr<Subscription>> Subscribe(std::string_view subject,
                                                  MessageHandler handler,
                                                  const SubscribeOptions& options) override {
    EMBED_ASSIGN_OR_RETURN(auto state, engine_->Subscribe(subject, std::move(handler), options));
    return std::unique_ptr<Subscription>(
        std::make_unique<SubscriptionHandle>(engine_, std::move(state)));
  }
  Result<Message> Request(std::string_view subject, ByteView payload,
                          std::chrono::milliseconds timeout) override {
    Message request;
    request.subject = std::string(subject);
    request.payload = std::string(payload);
    return engine_->Request(request, timeout);
  }
  Result<Message> Request(const Message& request, std::chrono::milliseconds timeout) override {
    return engine_->Request(request, timeout);
  }
  void RequestAsync(const Message& request, std::chrono::milliseconds timeout,
                    ReplyHandler on_reply) override {
    engine_->RequestAsync(request, timeout, std::move(on_reply));
  }
  Status Flush(std::chrono::milliseconds timeout) override { return engine_->Flush(timeout); }
  Status Drain(std::chrono::milliseconds timeout) override { return engine_->Drain(timeout); }
  void Close() override { engine_->Close(); }
  ConnectionState state() const override { return engine_->state(); }
  std::string connected_url() const override { return engine_->connected_url(); }
  std::int64_t max_payload() const override { return engine_->max_payload(); }
  std::string NewInbox() override { return engine_->NewInbox(); }

 private:
  std::shared_ptr<ConnectionEngine> engine_;
};

}  // namespace

Result<std::unique_ptr<Connection>> Connection::Connect(const ConnectionOptions& options) {
  if (options.urls.empty()) return InvalidArgumentError("no server URL given");
  std::vector<ServerUrl> servers;
  for (const std::string& url : options.urls) {
    EMBED_ASSIGN_OR_RETURN(ServerUrl server, ParseServerUrl(url));
    servers.push_back(std::move(server));
  }
  if (options.connect_timeout.count() <= 0) {
    return InvalidArgumentError("connect_timeout must be positive");
  }
  auto engine = std::make_shared<ConnectionEngine>(options, std::move(servers));
  Status status = engine->Start();
  if (!status.ok()) {
    engine->Close();
    return status;
  }
  return std::unique_ptr<Connection>(std::make_unique<ConnectionHandle>(std::move(engine)));
}

}  // namespace embed::client
