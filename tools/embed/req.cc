// `embed req`: sends one request and prints the reply.

#include <memory>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>

#include "embed/client/connection.h"
#include "tools/embed/command.h"
#include "tools/embed/common_flags.h"
#include "tools/embed/flag_parsing.h"
#include "tools/embed/message_printer.h"

namespace embed::tools {
namespace {

struct ReqFlags {
  ConnectFlags connect;
  std::string subject;
  std::string payload;
  std::vector<std::string> headers;
  std::chrono::milliseconds timeout{2'000};
};

Status RunReq(const ReqFlags& flags) {
  EMBED_ASSIGN_OR_RETURN(client::Message request,
                         BuildMessage(flags.subject, /*reply_to=*/"", flags.headers));
  request.payload = flags.payload;

  EMBED_ASSIGN_OR_RETURN(std::unique_ptr<client::Connection> connection,
                         Connect(flags.connect, "embed req", Reconnect::kNever));
  Result<client::Message> reply = connection->Request(request, flags.timeout);
  connection->Close();
  if (!reply.ok()) {
    const Status& status = reply.status();
    switch (status.code()) {
      case StatusCode::kUnavailable:
        return UnavailableError("no responders on \"" + flags.subject + "\"");
      case StatusCode::kTimeout:
        return TimeoutError("no reply on \"" + flags.subject + "\" within " +
                            FormatDuration(flags.timeout));
      default:
        return Status(status.code(), "request on \"" + flags.subject +
                                         "\" failed: " + std::string(status.message()));
    }
  }
  MessagePrinter printer;
  printer.PrintBody(*reply);
  return Status::Ok();
}

}  // namespace

void AddReqCommand(CLI::App& app, CommandAction& action) {
  CLI::App* command = app.add_subcommand("req", "Send a request and print the reply");
  // Shared because the flags must outlive this function until the action runs.
  auto flags = std::make_shared<ReqFlags>();
  command->add_option("subject", flags->subject, "Subject to send the request to")->required();
  command->add_option("payload", flags->payload, "Request payload (default: empty)");
  AddConnectFlags(*command, flags->connect);
  AddHeaderOption(*command, flags->headers);
  AddDurationOption(*command, "--timeout,-t", flags->timeout, "How long to wait for the reply");
  command->callback([flags, &action] { action = [flags] { return RunReq(*flags); }; });
}

}  // namespace embed::tools
