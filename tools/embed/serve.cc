// `embed serve`: runs the broker in the foreground until SIGINT or SIGTERM.

#include <cstdint>
#include <cstdio>
#include <memory>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>

#include "embed/base/logger.h"
#include "embed/broker/broker.h"
#include "embed/broker/broker_options.h"
#include "tools/embed/command.h"
#include "tools/embed/common_flags.h"
#include "tools/embed/flag_parsing.h"
#include "tools/embed/stop_signal.h"

namespace embed::tools {
namespace {

struct ServeFlags {
  broker::BrokerOptions options;
  std::uint64_t max_payload_bytes = 0;
  std::uint64_t max_pending_bytes = 0;
  std::string user;
  std::string password;
  std::vector<std::string> user_passwords;
  int verbosity = 0;
};

// "nats://host:port", bracketing IPv6 literals.
std::string ListenUrl(const std::string& host, std::uint16_t port) {
  const bool is_ipv6 = host.find(':') != std::string::npos;
  return "nats://" + (is_ipv6 ? "[" + host + "]" : host) + ":" + std::to_string(port);
}

// A wildcard listen address is not something a client can dial; suggest loopback.
std::string DialableHost(const std::string& host) {
  if (host == "0.0.0.0" || host.empty()) return "127.0.0.1";
  if (host == "::") return "::1";
  return host;
}

LogLevel LogLevelFor(int verbosity) {
  if (verbosity >= 2) return LogLevel::kDebug;
  if (verbosity == 1) return LogLevel::kInfo;
  return LogLevel::kWarning;
}

Status RunServe(ServeFlags& flags) {
  broker::BrokerOptions& options = flags.options;
  options.limits.max_payload_bytes = static_cast<std::size_t>(flags.max_payload_bytes);
  options.max_pending_bytes = static_cast<std::size_t>(flags.max_pending_bytes);
  if (!flags.user.empty()) options.users.push_back({flags.user, flags.password});
  for (const std::string& entry : flags.user_passwords) {
    EMBED_ASSIGN_OR_RETURN(auto user_password, ParseUserPassword(entry));
    options.users.push_back({user_password.first, user_password.second});
  }
  if (!options.auth_token.empty() && !options.users.empty()) {
    return InvalidArgumentError("--token cannot be combined with --user/--user-pass");
  }
  if (options.limits.max_payload_bytes == 0)
    return InvalidArgumentError("--max-payload must be > 0");

  StderrLogger logger(LogLevelFor(flags.verbosity));
  options.logger = &logger;

  // Before the broker's threads exist, so that they inherit the blocked signals.
  StopSignal stop;
  Result<std::unique_ptr<broker::Broker>> started = broker::Broker::Start(options);
  if (!started.ok()) {
    const Status& status = started.status();
    if (status.code() == StatusCode::kInvalidArgument) {
      return InvalidArgumentError("invalid broker options: " + std::string(status.message()));
    }
    return Status(status.code(), "cannot listen on " + ListenUrl(options.host, options.port) +
                                     ": " + std::string(status.message()));
  }
  std::unique_ptr<broker::Broker> broker = std::move(started).value();
  const std::uint16_t port = broker->port();
  std::string announcement = "embed serve: listening on " + ListenUrl(options.host, port) + "\n";
  announcement +=
      "  connect with: embed sub -s " + ListenUrl(DialableHost(options.host), port) + " '>'\n";
  std::fputs(announcement.c_str(), stdout);
  std::fflush(stdout);

  const int signal_number = stop.Wait();
  if (logger.IsEnabled(LogLevel::kInfo)) {
    logger.Log(LogLevel::kInfo, "embed serve: stopping on signal " + std::to_string(signal_number));
  }
  broker->Stop();
  broker.reset();
  return Status::Ok();
}

}  // namespace

void AddServeCommand(CLI::App& app, CommandAction& action) {
  CLI::App* command = app.add_subcommand(
      "serve", "Run the broker (NATS protocol) until SIGINT/SIGTERM; defaults to 127.0.0.1:4222");
  // Shared because the flags must outlive this function until the action runs.
  auto flags = std::make_shared<ServeFlags>();
  broker::BrokerOptions& options = flags->options;
  flags->max_payload_bytes = options.limits.max_payload_bytes;
  flags->max_pending_bytes = options.max_pending_bytes;

  command->add_option("--host,-a", options.host, "Listen address")->capture_default_str();
  command->add_option("--port,-p", options.port, "Listen port (0 = ephemeral)")
      ->capture_default_str()
      ->check(CLI::Range(0, 65535));
  command->add_option("--threads", options.io_threads, "I/O threads (0 = one per core)")
      ->capture_default_str()
      ->check(CLI::Range(0, 1024));
  command->add_option("--name", options.server_name, "Server name shown in INFO");
  AddSizeOption(*command, "--max-payload", flags->max_payload_bytes,
                "Largest message payload (e.g. 1MB)");
  AddSizeOption(*command, "--max-pending", flags->max_pending_bytes,
                "Outbound bytes queued per connection before it is a slow consumer");
  command->add_option("--max-connections", options.max_connections, "Most client connections")
      ->capture_default_str()
      ->check(AtLeastOne());
  command
      ->add_option("--max-subscriptions", options.max_subscriptions,
                   "Subscriptions per connection (0 = unlimited)")
      ->capture_default_str();
  AddDurationOption(*command, "--ping-interval", options.ping_interval,
                    "Interval between server PINGs (e.g. 30s, 2m)");
  command->add_option("--ping-max", options.ping_max, "Unanswered PINGs before disconnecting")
      ->capture_default_str()
      ->check(AtLeastOne());
  AddDurationOption(*command, "--auth-timeout", options.auth_timeout,
                    "Time a client has to send CONNECT when auth is required");
  AddDurationOption(*command, "--write-deadline", options.write_deadline,
                    "A write slower than this marks a slow consumer");
  CLI::Option* token =
      command->add_option("--token", options.auth_token, "Require this token")->type_name("TOKEN");
  CLI::Option* user =
      command->add_option("--user", flags->user, "Require this user")->type_name("USER");
  CLI::Option* password =
      command->add_option("--pass", flags->password, "Password of --user")->type_name("PASSWORD");
  CLI::Option* user_passwords =
      command->add_option("--user-pass", flags->user_passwords, "Allow user:password (repeatable)")
          ->type_name("USER:PASS")
          ->expected(1)
          ->allow_extra_args(false)
          ->multi_option_policy(CLI::MultiOptionPolicy::TakeAll);
  user->needs(password);
  password->needs(user);
  token->excludes(user)->excludes(user_passwords);
  command->add_flag("-v,--verbose", flags->verbosity, "Log connections (-vv: protocol detail)");

  command->callback([flags, &action] { action = [flags] { return RunServe(*flags); }; });
}

}  // namespace embed::tools
