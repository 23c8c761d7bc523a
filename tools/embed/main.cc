// `embed`: the command line of Embed. Parses with CLI11, runs the selected
// subcommand, and turns every failure into one line on stderr:
//   embed: error: <what went wrong>
// Exit codes: 0 success, 1 runtime failure, 2 usage error (see command.h).

#include <csignal>
#include <cstdio>
#include <exception>
#include <string>

#include <CLI/CLI.hpp>

#include "tools/embed/command.h"

namespace {

// CLI11 messages may span lines; the contract is one line per error.
std::string OneLine(std::string text) {
  for (char& c : text) {
    if (c == '\n' || c == '\r') c = ' ';
  }
  while (!text.empty() && text.back() == ' ') text.pop_back();
  return text;
}

void PrintError(const std::string& message) {
  std::fprintf(stderr, "embed: error: %s\n", OneLine(message).c_str());
  std::fflush(stderr);
}

// "embed pub" when the error happened while parsing `embed pub ...`.
std::string CommandPath(CLI::App& app) {
  std::string path = "embed";
  CLI::App* current = &app;
  while (true) {
    const std::vector<CLI::App*> selected = current->get_subcommands();
    if (selected.empty()) break;
    current = selected.front();
    path += " " + current->get_name();
  }
  return path;
}

}  // namespace

int main(int argc, char** argv) {
  using embed::tools::kExitFailure;
  using embed::tools::kExitOk;
  using embed::tools::kExitUsage;

  // A closed stdout pipe should fail a write, not kill the process.
  std::signal(SIGPIPE, SIG_IGN);

  CLI::App app("Embed: a NATS-protocol broker and client.", "embed");
  app.require_subcommand(1);
  app.set_version_flag("--version", "embed 0.1.0");
  embed::tools::CommandAction action;
  try {
    embed::tools::AddServeCommand(app, action);
    embed::tools::AddPubCommand(app, action);
    embed::tools::AddSubCommand(app, action);
    embed::tools::AddReqCommand(app, action);
    embed::tools::AddReplyCommand(app, action);
    embed::tools::AddBenchCommand(app, action);
    embed::tools::AddRpcCommand(app, action);
    // After the subcommands, which would otherwise inherit it.
    app.footer("Run 'embed <command> --help' for the flags of a command.");
  } catch (const std::exception& error) {
    PrintError(std::string("internal: ") + error.what());
    return kExitFailure;
  }

  // CLI11 would report "A subcommand is required" for a misspelt command.
  if (argc > 1 && argv[1][0] != '-') {
    const std::string name = argv[1];
    const auto matches =
        app.get_subcommands([&](CLI::App* command) { return command->check_name(name); });
    if (matches.empty()) {
      PrintError("unknown command '" + name + "' (see 'embed --help')");
      return kExitUsage;
    }
  }

  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& help) {
    return app.exit(help);
  } catch (const CLI::CallForAllHelp& help) {
    return app.exit(help);
  } catch (const CLI::CallForVersion& version) {
    return app.exit(version);
  } catch (const CLI::ParseError& error) {
    PrintError(std::string(error.what()) + " (see '" + CommandPath(app) + " --help')");
    return kExitUsage;
  }
  if (!action) {
    PrintError("no command given (see 'embed --help')");
    return kExitUsage;
  }

  try {
    const embed::Status status = action();
    if (status.ok()) return kExitOk;
    PrintError(std::string(status.message()));
    return status.code() == embed::StatusCode::kInvalidArgument ? kExitUsage : kExitFailure;
  } catch (const std::exception& error) {
    PrintError(std::string("internal: ") + error.what());
    return kExitFailure;
  }
}
