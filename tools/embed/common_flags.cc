#include "tools/embed/common_flags.h"

#include <algorithm>
#include <charconv>
#include <cstdio>
#include <cstdlib>

#include <CLI/CLI.hpp>

#include "tools/embed/flag_parsing.h"

namespace embed::tools {
namespace {

std::string JoinUrls(const std::vector<std::string>& urls) {
  std::string joined;
  for (const std::string& url : urls) {
    if (!joined.empty()) joined += ",";
    joined += url;
  }
  return joined;
}

// The long name of a CLI11 option spec ("--timeout,-t" -> "--timeout").
std::string DisplayName(const std::string& spec) {
  std::size_t start = 0;
  while (start <= spec.size()) {
    const std::size_t comma = std::min(spec.find(',', start), spec.size());
    const std::string name = spec.substr(start, comma - start);
    if (name.rfind("--", 0) == 0) return name;
    start = comma + 1;
  }
  return spec;
}

}  // namespace

void AddConnectFlags(CLI::App& command, ConnectFlags& flags) {
  command
      .add_option("-s,--server", flags.servers,
                  "Server URL(s), repeatable or comma-separated (default: $NATS_URL or " +
                      std::string(kDefaultServerUrl) + ")")
      ->type_name("URL")
      ->expected(1)
      ->allow_extra_args(false)
      ->multi_option_policy(CLI::MultiOptionPolicy::TakeAll);
  command.add_option("--user", flags.user, "User name")->type_name("USER");
  command.add_option("--pass", flags.password, "Password")->type_name("PASSWORD");
  command.add_option("--token", flags.token, "Authentication token")->type_name("TOKEN");
  AddDurationOption(command, "--connect-timeout", flags.connect_timeout,
                    "How long to try to reach a server");
  command.add_option("--tls-ca", flags.tls_ca, "PEM CAs to verify the server with")
      ->check(CLI::ExistingFile);
  CLI::Option* cert =
      command.add_option("--tls-cert", flags.tls_cert, "PEM client certificate (mTLS)")
          ->check(CLI::ExistingFile);
  CLI::Option* key = command.add_option("--tls-key", flags.tls_key, "PEM key of --tls-cert")
                         ->check(CLI::ExistingFile);
  cert->needs(key);
  key->needs(cert);
  command.add_flag("--tls-insecure", flags.tls_insecure,
                   "Do not verify the server's certificate (testing only)");
}

CLI::Option* AddDurationOption(CLI::App& command, const std::string& name,
                               std::chrono::milliseconds& target, const std::string& description) {
  const std::string display_name = DisplayName(name);
  CLI::Option* option = command.add_option_function<std::string>(
      name,
      [&target, display_name](const std::string& text) {
        Result<std::chrono::milliseconds> duration = ParseDuration(text);
        if (!duration.ok()) {
          throw CLI::ValidationError(display_name, std::string(duration.status().message()));
        }
        target = *duration;
      },
      description);
  option->type_name("DURATION")->default_str(FormatDuration(target));
  return option;
}

CLI::Option* AddSizeOption(CLI::App& command, const std::string& name, std::uint64_t& target,
                           const std::string& description) {
  const std::string display_name = DisplayName(name);
  CLI::Option* option = command.add_option_function<std::string>(
      name,
      [&target, display_name](const std::string& text) {
        Result<std::uint64_t> size = ParseSize(text);
        if (!size.ok()) {
          throw CLI::ValidationError(display_name, std::string(size.status().message()));
        }
        target = *size;
      },
      description);
  option->type_name("SIZE")->default_str(std::to_string(target));
  return option;
}

CLI::Option* AddHeaderOption(CLI::App& command, std::vector<std::string>& headers) {
  return command.add_option("-H,--header", headers, "Header 'Key:Value' (repeatable)")
      ->type_name("KEY:VALUE")
      ->expected(1)
      ->allow_extra_args(false)
      ->multi_option_policy(CLI::MultiOptionPolicy::TakeAll)
      ->check(CLI::Validator(
          [](std::string& text) -> std::string {
            Result<std::pair<std::string, std::string>> header = ParseHeader(text);
            return header.ok() ? std::string() : std::string(header.status().message());
          },
          "", "header"));
}

CLI::Validator AtLeastOne() {
  return CLI::Validator(
      [](std::string& text) -> std::string {
        std::uint64_t value = 0;
        const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
        if (error != std::errc() || end != text.data() + text.size() || value < 1) {
          return "must be a whole number of at least 1, not '" + text + "'";
        }
        return {};
      },
      "", "at-least-one");
}

std::vector<std::string> ResolveServerUrls(const ConnectFlags& flags) {
  std::vector<std::string> urls = SplitServerUrls(flags.servers);
  if (urls.empty()) {
    if (const char* env = std::getenv("NATS_URL"); env != nullptr) {
      urls = SplitServerUrls({std::string(env)});
    }
  }
  if (urls.empty()) urls.emplace_back(kDefaultServerUrl);
  return urls;
}

Result<std::unique_ptr<client::Connection>> Connect(const ConnectFlags& flags,
                                                    std::string_view client_name,
                                                    Reconnect reconnect,
                                                    std::function<void()> on_closed) {
  client::ConnectionOptions options;
  options.urls = ResolveServerUrls(flags);
  options.user = flags.user;
  options.password = flags.password;
  options.token = flags.token;
  options.name = std::string(client_name);
  options.connect_timeout = flags.connect_timeout;
  options.tls.ca_file = flags.tls_ca;
  options.tls.cert_file = flags.tls_cert;
  options.tls.key_file = flags.tls_key;
  options.tls.verify = !flags.tls_insecure;
  options.allow_reconnect = reconnect == Reconnect::kRetry;
  // Asynchronous errors (a slow consumer, a permissions -ERR) do not end the
  // command, but the user should see them.
  options.on_error = [](const Status& status) {
    std::fprintf(stderr, "embed: warning: %s\n", status.ToString().c_str());
    std::fflush(stderr);
  };
  if (on_closed) {
    options.on_event = [on_closed = std::move(on_closed)](client::ConnectionEvent event) {
      if (event == client::ConnectionEvent::kClosed) on_closed();
    };
  }
  Result<std::unique_ptr<client::Connection>> connection = client::Connection::Connect(options);
  if (!connection.ok()) {
    const Status& status = connection.status();
    const std::string_view reason = status.message();
    // The client may already say where it tried; do not repeat the URLs.
    for (const std::string& url : options.urls) {
      if (reason.find(url) != std::string_view::npos) return status;
    }
    return Status(status.code(),
                  "cannot connect to " + JoinUrls(options.urls) + ": " + std::string(reason));
  }
  return connection;
}

Result<wire::Headers> BuildHeaders(const std::vector<std::string>& header_flags) {
  wire::Headers headers;
  for (const std::string& flag : header_flags) {
    EMBED_ASSIGN_OR_RETURN(auto header, ParseHeader(flag));
    headers.Add(header.first, header.second);
  }
  return headers;
}

Result<client::Message> BuildMessage(std::string_view subject, std::string_view reply_to,
                                     const std::vector<std::string>& header_flags) {
  client::Message message;
  message.subject = subject;
  message.reply_to = reply_to;
  EMBED_ASSIGN_OR_RETURN(message.headers, BuildHeaders(header_flags));
  return message;
}

}  // namespace embed::tools
