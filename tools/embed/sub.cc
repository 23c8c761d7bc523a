// `embed sub`: prints the messages on a subject until SIGINT/SIGTERM or until
// --count messages arrived.

#include <cstdint>
#include <memory>
#include <string>

#include <CLI/CLI.hpp>

#include "tools/embed/command.h"
#include "tools/embed/common_flags.h"
#include "tools/embed/subscription_loop.h"

namespace embed::tools {
namespace {

struct SubFlags {
  ConnectFlags connect;
  std::string subject;
  std::string queue_group;
  std::uint64_t count = 0;
};

Status RunSub(const SubFlags& flags) {
  SubscriptionLoop loop;
  loop.client_name = "embed sub";
  loop.ready_prefix = "Subscribing on";
  loop.subject = flags.subject;
  loop.queue_group = flags.queue_group;
  loop.count = flags.count;
  return RunSubscriptionLoop(flags.connect, loop);
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
