// `embed pub`: publishes a message (or --count copies) and waits until the
// server has them (Flush).

#include <cstdint>
#include <iostream>
#include <iterator>
#include <memory>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>

#include "embed/client/connection.h"
#include "tools/embed/command.h"
#include "tools/embed/common_flags.h"
#include "tools/embed/message_printer.h"

namespace embed::tools {
namespace {

struct PubFlags {
  ConnectFlags connect;
  std::string subject;
  std::string payload;
  CLI::Option* payload_option = nullptr;
  std::string reply_to;
  std::vector<std::string> headers;
  std::uint64_t count = 1;
  std::chrono::milliseconds flush_timeout{5'000};
};

Status RunPub(const PubFlags& flags) {
  EMBED_ASSIGN_OR_RETURN(client::Message message,
                         BuildMessage(flags.subject, flags.reply_to, flags.headers));
  if (flags.payload_option->count() > 0) {
    message.payload = flags.payload;
  } else {
    message.payload.assign(std::istreambuf_iterator<char>(std::cin),
                           std::istreambuf_iterator<char>());
    if (std::cin.bad()) return IoError("cannot read the payload from stdin");
  }

  EMBED_ASSIGN_OR_RETURN(std::unique_ptr<client::Connection> connection,
                         Connect(flags.connect, "embed pub", Reconnect::kNever));
  for (std::uint64_t i = 0; i < flags.count; ++i) {
    if (Status status = connection->Publish(message); !status.ok()) {
      return Status(status.code(), "cannot publish to \"" + flags.subject +
                                       "\": " + std::string(status.message()));
    }
  }
  if (Status status = connection->Flush(flags.flush_timeout); !status.ok()) {
    return Status(status.code(),
                  "the server did not confirm the publish: " + std::string(status.message()));
  }
  connection->Close();

  MessagePrinter printer;
  const std::string size = std::to_string(message.payload.size()) + " bytes";
  if (flags.count == 1) {
    printer.PrintLine("Published " + size + " to \"" + flags.subject + "\"");
  } else {
    printer.PrintLine("Published " + std::to_string(flags.count) + " messages of " + size +
                      " to \"" + flags.subject + "\"");
  }
  return Status::Ok();
}

}  // namespace

void AddPubCommand(CLI::App& app, CommandAction& action) {
  CLI::App* command = app.add_subcommand("pub", "Publish a message");
  command->footer("The payload is read from stdin when it is not given.");
  // Shared because the flags must outlive this function until the action runs.
  auto flags = std::make_shared<PubFlags>();
  command->add_option("subject", flags->subject, "Subject to publish to")->required();
  flags->payload_option = command->add_option("payload", flags->payload, "Message payload");
  AddConnectFlags(*command, flags->connect);
  AddHeaderOption(*command, flags->headers);
  command->add_option("--reply", flags->reply_to, "Reply subject")->type_name("SUBJECT");
  command->add_option("--count", flags->count, "Publish the message this many times")
      ->capture_default_str()
      ->check(AtLeastOne());
  AddDurationOption(*command, "--flush-timeout", flags->flush_timeout,
                    "How long to wait for the server to confirm");
  command->callback([flags, &action] { action = [flags] { return RunPub(*flags); }; });
}

}  // namespace embed::tools
