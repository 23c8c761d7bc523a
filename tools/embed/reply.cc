// `embed reply`: answers every request on a subject with a fixed response
// until SIGINT/SIGTERM or until --count requests were answered.

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

struct ReplyFlags {
  ConnectFlags connect;
  std::string subject;
  std::string response;
  std::string queue_group;
  std::uint64_t count = 0;
};

Status RunReply(const ReplyFlags& flags) {
  // Declared before the connection so they outlive its handler threads.
  StopSignal stop;
  MessagePrinter printer;
  std::atomic<std::uint64_t> received{0};
  std::atomic<bool> is_closed{false};

  EMBED_ASSIGN_OR_RETURN(std::unique_ptr<client::Connection> connection,
                         Connect(flags.connect, "embed reply", Reconnect::kRetry, [&] {
                           is_closed = true;
                           stop.Notify();
                         }));
  client::Connection& replier = *connection;
  client::SubscribeOptions options;
  options.queue_group = flags.queue_group;
  const std::uint64_t count = flags.count;
  Result<std::unique_ptr<client::Subscription>> subscribed = connection->Subscribe(
      flags.subject,
      [&](const client::Message& request) {
        const std::uint64_t number = ++received;
        if (count != 0 && number > count) return;
        printer.PrintMessage(number, request);
        if (!request.reply_to.empty()) {
          if (Status status = replier.Publish(request.reply_to, flags.response); !status.ok()) {
            std::fprintf(stderr, "embed: warning: cannot reply: %s\n", status.ToString().c_str());
          }
        }
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
  if (Status status = connection->Flush(flags.connect.connect_timeout); !status.ok()) {
    return Status(status.code(),
                  "the server did not confirm the subscription: " + std::string(status.message()));
  }
  std::string ready = "Listening for requests on \"" + flags.subject + "\"";
  if (!flags.queue_group.empty()) ready += " in queue group \"" + flags.queue_group + "\"";
  printer.PrintLine(ready);

  stop.Wait();
  // Closed by the client itself (the server went away and reconnecting gave
  // up), not by a signal or by reaching --count.
  if (is_closed && (count == 0 || received.load() < count)) {
    return UnavailableError("lost the connection to the server");
  }
  // Let the last replies leave before closing.
  connection->Flush(flags.connect.connect_timeout).IgnoreError();
  subscription.reset();
  connection->Close();
  connection.reset();
  return Status::Ok();
}

}  // namespace

void AddReplyCommand(CLI::App& app, CommandAction& action) {
  CLI::App* command =
      app.add_subcommand("reply", "Answer requests on a subject with a fixed response");
  // Shared because the flags must outlive this function until the action runs.
  auto flags = std::make_shared<ReplyFlags>();
  command->add_option("subject", flags->subject, "Subject to serve")->required();
  command->add_option("response", flags->response, "Response payload")->required();
  AddConnectFlags(*command, flags->connect);
  command->add_option("--queue,-q", flags->queue_group, "Join this queue group")
      ->type_name("GROUP");
  command->add_option("--count,-c", flags->count, "Exit after this many requests (0 = never)")
      ->capture_default_str();
  command->callback([flags, &action] { action = [flags] { return RunReply(*flags); }; });
}

}  // namespace embed::tools
