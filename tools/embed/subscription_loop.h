#pragma once
// The loop `embed sub` and `embed reply` share: connect, subscribe, print
// each message, and run until SIGINT/SIGTERM, --count messages, or a lost
// connection. Runs on the main thread; see StopSignal.

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>

#include "embed/base/status.h"
#include "embed/client/connection.h"
#include "embed/client/message.h"
#include "tools/embed/common_flags.h"

namespace embed::tools {

// Whether to flush once more before closing (so that replies sent from
// `on_message` leave before the connection closes).
enum class FinalFlush { kNo, kYes };

// What RunSubscriptionLoop() subscribes to and how it reports.
struct SubscriptionLoop {
  std::string_view client_name;   // e.g. "embed sub"; shows in the server's list
  std::string_view ready_prefix;  // the ready line starts with it, e.g. "Subscribing on"
  std::string subject;
  std::string queue_group;  // empty: no queue group
  std::uint64_t count = 0;  // stop after this many messages; 0 = never
  FinalFlush final_flush = FinalFlush::kNo;
  // Runs, on the client's dispatcher thread, after each of the first `count`
  // messages was printed. May be empty.
  std::function<void(client::Connection& connection, const client::Message& message)> on_message;
};

// Connects with `connect`, subscribes as `loop` says, prints the ready line
// once the server confirmed the SUB, then prints every message until a stop
// signal or `loop.count` messages. Errors: the connect error; "cannot
// subscribe to ..."; the server did not confirm the subscription; kUnavailable
// when the connection was lost for good before the count was reached.
Status RunSubscriptionLoop(const ConnectFlags& connect, const SubscriptionLoop& loop);

}  // namespace embed::tools
