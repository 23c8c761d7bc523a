// `embed serve`: runs the broker in the foreground until SIGINT or SIGTERM.

#include <cstdint>
#include <cstdio>
#include <fstream>
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
  std::string config_path;
  int ws_port = -1;  // -1: no WebSocket listener
  bool ws_no_compression = false;
  int verbosity = 0;
};

// "<scheme>://host:port", bracketing IPv6 literals.
std::string ListenUrl(const std::string& scheme, const std::string& host, std::uint16_t port) {
  const bool is_ipv6 = host.find(':') != std::string::npos;
  return scheme + "://" + (is_ipv6 ? "[" + host + "]" : host) + ":" + std::to_string(port);
}

// A wildcard listen address is not something a client can dial; suggest loopback.
std::string DialableHost(const std::string& host) {
  if (host == "0.0.0.0" || host.empty()) return "127.0.0.1";
  if (host == "::") return "::1";
  return host;
}

// Applies the `key = value` lines of the TOML file at `path` to the options
// of `command` that the command line did not set (the command line wins).
// Keys are the long flag names without "--"; a [serve] section is allowed.
Status ApplyConfigFile(CLI::App& command, const std::string& path) {
  std::ifstream input(path);
  if (!input) return InvalidArgumentError("cannot read config file " + path);
  std::vector<CLI::ConfigItem> items;
  try {
    items = CLI::ConfigTOML().from_config(input);
  } catch (const CLI::Error& error) {
    return InvalidArgumentError(path + ": " + error.what());
  }
  for (const CLI::ConfigItem& item : items) {
    if (item.name == "++" || item.name == "--") continue;  // CLI11's section markers
    const bool is_top_level =
        item.parents.empty() || (item.parents.size() == 1 && item.parents[0] == "serve");
    CLI::Option* option =
        is_top_level && item.name != "config" ? command.get_option_no_throw("--" + item.name)
                                              : nullptr;
    if (option == nullptr) {
      return InvalidArgumentError(path + ": unknown option '" + item.fullname() + "'");
    }
    if (option->count() > 0) continue;
    try {
      for (const std::string& value : item.inputs) option->add_result(value);
      option->run_callback();
    } catch (const CLI::Error& error) {
      return InvalidArgumentError(path + ": " + item.name + ": " + error.what());
    }
  }
  return Status::Ok();
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
  // The command line enforces these pairs; a config file must too.
  if (flags.user.empty() != flags.password.empty()) {
    return InvalidArgumentError("--user and --pass go together, and the password must not be empty");
  }
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
  if (flags.ws_port >= 0) {
    options.websocket.enabled = true;
    options.websocket.port = static_cast<std::uint16_t>(flags.ws_port);
  }
  options.websocket.compression = !flags.ws_no_compression;
  const bool tls = options.tls.enabled();
  const bool ws_tls = tls && !options.websocket.no_tls;

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
    return Status(status.code(), "cannot start the broker on " +
                                     ListenUrl(tls ? "tls" : "nats", options.host, options.port) +
                                     ": " + std::string(status.message()));
  }
  std::unique_ptr<broker::Broker> broker = std::move(started).value();
  const std::uint16_t port = broker->port();
  const std::string scheme = tls ? "tls" : "nats";
  std::string announcement =
      "embed serve: listening on " + ListenUrl(scheme, options.host, port) + "\n";
  if (options.websocket.enabled) {
    announcement += "embed serve: websocket on " +
                    ListenUrl(ws_tls ? "wss" : "ws", options.websocket.host, broker->ws_port()) +
                    "\n";
  }
  announcement += "  connect with: embed sub -s " +
                  ListenUrl(scheme, DialableHost(options.host), port) + " '>'\n";
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
  command->add_option("--ws-port", flags->ws_port,
                      "Also serve WebSocket clients on this port (0 = ephemeral)")
      ->check(CLI::Range(0, 65535));
  command->add_option("--ws-host", options.websocket.host, "WebSocket listen address")
      ->capture_default_str();
  command->add_flag("--ws-no-compression", flags->ws_no_compression,
                    "Never use permessage-deflate on WebSocket connections");
  command->add_flag("--ws-no-tls", options.websocket.no_tls,
                    "Plain ws:// on the WebSocket port even with --tls-cert");
  CLI::Option* tls_cert =
      command->add_option("--tls-cert", options.tls.cert_file, "PEM certificate: enables TLS")
          ->check(CLI::ExistingFile);
  CLI::Option* tls_key =
      command->add_option("--tls-key", options.tls.key_file, "PEM private key of --tls-cert")
          ->check(CLI::ExistingFile);
  CLI::Option* tls_ca =
      command->add_option("--tls-ca", options.tls.ca_file, "PEM CAs for client certificates")
          ->check(CLI::ExistingFile);
  CLI::Option* tls_verify = command->add_flag(
      "--tls-verify", options.tls.verify_clients, "Require a client certificate (mTLS)");
  AddDurationOption(*command, "--tls-timeout", options.tls.handshake_timeout,
                    "Time a client has to finish the TLS handshake");
  tls_cert->needs(tls_key);
  tls_key->needs(tls_cert);
  tls_ca->needs(tls_cert);
  tls_verify->needs(tls_ca);
  command->add_flag("-v,--verbose", flags->verbosity, "Log connections (-vv: protocol detail)");
  command
      ->add_option("--config", flags->config_path,
                   "Read options from this TOML file (key = value; the command line wins)")
      ->check(CLI::ExistingFile);

  command->callback([flags, command, &action] {
    action = [flags, command] {
      if (!flags->config_path.empty()) {
        EMBED_RETURN_IF_ERROR(ApplyConfigFile(*command, flags->config_path));
      }
      return RunServe(*flags);
    };
  });
}

}  // namespace embed::tools
