#include "tools/embed/subscription_loop.h"

#include <atomic>
#include <memory>
#include <string>

#include "tools/embed/message_printer.h"
#include "tools/embed/stop_signal.h"

namespace embed::tools {

Status RunSubscriptionLoop(const ConnectFlags& connect, const SubscriptionLoop& loop) {
  // Declared before the connection so they outlive its handler threads.
  StopSignal stop;
  MessagePrinter printer;
  std::atomic<std::uint64_t> received{0};
  std::atomic<bool> is_closed{false};

  EMBED_ASSIGN_OR_RETURN(std::unique_ptr<client::Connection> connection,
                         Connect(connect, loop.client_name, Reconnect::kRetry, [&] {
                           is_closed = true;
                           stop.Notify();
                         }));
  client::Connection& subscriber = *connection;
  client::SubscribeOptions options;
  options.queue_group = loop.queue_group;
  const std::uint64_t count = loop.count;
  Result<std::unique_ptr<client::Subscription>> subscribed = connection->Subscribe(
      loop.subject,
      [&](const client::Message& message) {
        const std::uint64_t number = ++received;
        if (count != 0 && number > count) return;
        printer.PrintMessage(number, message);
        if (loop.on_message) loop.on_message(subscriber, message);
        if (number == count) stop.Notify();
      },
      options);
  if (!subscribed.ok()) {
    const Status& status = subscribed.status();
    return Status(status.code(),
                  "cannot subscribe to \"" + loop.subject + "\": " + std::string(status.message()));
  }
  std::unique_ptr<client::Subscription> subscription = std::move(subscribed).value();
  if (count != 0) subscription->AutoUnsubscribe(count).IgnoreError();
  // Once the server has the SUB, publishes that follow the ready line are seen.
  if (Status status = connection->Flush(connect.connect_timeout); !status.ok()) {
    return Status(status.code(),
                  "the server did not confirm the subscription: " + std::string(status.message()));
  }
  std::string ready = std::string(loop.ready_prefix) + " \"" + loop.subject + "\"";
  if (!loop.queue_group.empty()) ready += " in queue group \"" + loop.queue_group + "\"";
  printer.PrintLine(ready);

  stop.Wait();
  // Closed by the client itself (the server went away and reconnecting gave
  // up), not by a signal or by reaching --count.
  if (is_closed && (count == 0 || received.load() < count)) {
    return UnavailableError("lost the connection to the server");
  }
  if (loop.final_flush == FinalFlush::kYes) {
    connection->Flush(connect.connect_timeout).IgnoreError();
  }
  subscription.reset();
  connection->Close();
  connection.reset();
  return Status::Ok();
}

}  // namespace embed::tools
