// `embed sub`: prints the messages on a subject until SIGINT/SIGTERM or until
// --count messages arrived.

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>

#include <CLI/CLI.hpp>

#include "embed/client/connection.h"
#include "tools/embed/command.h"
#include "tools/embed/common_flags.h"
#include "tools/embed/message_printer.h"
#include "tools/embed/stop_signal.h"

namespace embed::tools {
namespace {

struct SubFlags {
  ConnectFlags connect;
  std::string subject;
  std::string queue_group;
  std::uint64_t count = 0;
};

Status RunSub(const SubFlags& flags) {
  // Declared before the connection so they outlive its handler threads.
  StopSignal stop;
  MessagePrinter printer;
  std::atomic<std::uint64_t> received{0};
  std::atomic<bool> is_closed{false};

  EMBED_ASSIGN_OR_RETURN(std::unique_ptr<client::Connection> connection,
                         Connect(flags.connect, "embed sub", Reconnect::kRetry, [&] {
                           is_closed = true;
                           stop.Notify();
                         }));
  client::SubscribeOptions options;
  options.queue_group = flags.queue_group;
  const std::uint64_t count = flags.count;
  Result<std::unique_ptr<client::Subscription>> subscribed = connection->Subscribe(
      flags.subject,
      [&](const client::Message& message) {
        const std::uint64_t number = ++received;
        if (count != 0 && number > count) return;
        printer.PrintMessage(number, message);
        if (number == count) stop.Notify();
      },
      options);
  if (!subscribed.ok()) {
    const Status& status = subscribed.status();
    return Status(status.code(), "cannot subscribe to \"" + flags.subject +
                                     "\": " + std::string(status.message()));
  }
  std::unique_ptr<client::Subscription> subscription = std::move(subscribed).value();
  if (count != 0) subscription->AutoUnsubscribe(count).IgnoreError();
  // Once the server has the SUB, publishes that follow the ready line are seen.
  if (Status status = connection->Flush(flags.connect.connect_timeout); !status.ok()) {
    return Status(status.code(),
                  "the server did not confirm the subscription: " + std::string(status.message()));
  }
  std::string ready = "Subscribing on \"" + flags.subject + "\"";
  if (!flags.queue_group.empty()) ready += " in queue group \"" + flags.queue_group + "\"";
  printer.PrintLine(ready);

  stop.Wait();
  // Closed by the client itself (the server went away and reconnecting gave
  // up), not by a signal or by reaching --count.
  if (is_closed && (count == 0 || received.load() < count)) {
    return UnavailableError("lost the connection to the server");
  }
  subscription.reset();
  connection->Close();
  connection.reset();
  return Status::Ok();
}

}  // namespace

void AddSubCommand(CLI::App& app, CommandAction& action) {
  CLI::App* command =
      app.add_subcommand("sub", "Print the messages published on a subject (wildcards allowed)");
  // Shared because the flags must outlive this function until the action runs.
  auto flags = std::make_shared<SubFlags>();
  command->add_option("subject", flags->subject, "Subject, e.g. 'orders.*' or '>'")->required();
  AddConnectFlags(*command, flags->connect);
  command->add_option("--queue,-q", flags->queue_group, "Join this queue group")
      ->type_name("GROUP");
  command->add_option("--count,-c", flags->count, "Exit after this many messages (0 = never)")
      ->capture_default_str();
  command->callback([flags, &action] { action = [flags] { return RunSub(*flags); }; });
}

}  // namespace embed::tools
