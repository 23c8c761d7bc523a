#pragma once
// The subcommands of `embed`. Each Add*Command() registers a subcommand, its
// flags and help on `app`; when the command line selects it, CLI11's callback
// stores the work to do in `action`, which main() runs after parsing so that
// usage errors and runtime errors stay apart.
//
// Exit codes: 0 success, 1 runtime failure, 2 usage error. An action returns a
// Status; kInvalidArgument means the user asked for something malformed (exit
// 2), every other error is a runtime failure (exit 1). main() prints the error
// as one line: "embed: error: <message>".

#include <functional>

#include "embed/base/status.h"

namespace CLI {
class App;
}

namespace embed::tools {

inline constexpr int kExitOk = 0;
inline constexpr int kExitFailure = 1;
inline constexpr int kExitUsage = 2;

using CommandAction = std::function<Status()>;

void AddServeCommand(CLI::App& app, CommandAction& action);
void AddPubCommand(CLI::App& app, CommandAction& action);
void AddSubCommand(CLI::App& app, CommandAction& action);
void AddReqCommand(CLI::App& app, CommandAction& action);
void AddReplyCommand(CLI::App& app, CommandAction& action);
void AddBenchCommand(CLI::App& app, CommandAction& action);
void AddRpcCommand(CLI::App& app, CommandAction& action);

}  // namespace embed::tools
