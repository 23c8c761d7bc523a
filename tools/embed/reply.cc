// `embed reply`: answers every request on a subject with a fixed response
// until SIGINT/SIGTERM or until --count requests were answered.

#include <cstdint>
#include <cstdio>
#include <memory>
#include <string>

#include <CLI/CLI.hpp>

#include "embed/client/connection.h"
#include "tools/embed/command.h"
#include "tools/embed/common_flags.h"
#include "tools/embed/subscription_loop.h"

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
  SubscriptionLoop loop;
  loop.client_name = "embed reply";
  loop.ready_prefix = "Listening for requests on";
  loop.subject = flags.subject;
  loop.queue_group = flags.queue_group;
  loop.count = flags.count;
  // Let the last replies leave before closing.
  loop.final_flush = FinalFlush::kYes;
  loop.on_message = [&flags](client::Connection& replier, const client::Message& request) {
    if (request.reply_to.empty()) return;
    if (Status status = replier.Publish(request.reply_to, flags.response); !status.ok()) {
      std::fprintf(stderr, "embed: warning: cannot reply: %s\n", status.ToString().c_str());
    }
  };
  return RunSubscriptionLoop(flags.connect, loop);
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
