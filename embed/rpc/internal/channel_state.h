#pragma once
// ChannelState: what a Channel shares with its calls and their timers: the
// connection, the stream inbox subscription with its table of open streams,
// the pending asynchronous unary calls. Thread-safe.

#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>

#include "embed/base/result.h"
#include "embed/client/connection.h"
#include "embed/rpc/channel.h"
#include "embed/rpc/internal/timer_queue.h"

namespace embed::rpc::internal {

class ClientCall;

class ChannelState : public std::enable_shared_from_this<ChannelState> {
 public:
  ChannelState(client::Connection& connection, ChannelOptions options)
      : connection_(connection), options_(std::move(options)) {}

  client::Connection& connection() { return connection_; }
  const ChannelOptions& options() const { return options_; }
  TimerQueue& timers() { return timers_; }

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
  void OnStreamMessage(client::Message& message);

  client::Connection& connection_;
  const ChannelOptions options_;
  TimerQueue timers_;

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

}  // namespace embed::rpc::internal
