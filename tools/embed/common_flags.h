#pragma once
// Flags shared by the client subcommands (-s/--server, credentials) and the
// CLI11 glue for durations and sizes, plus Connect(), which turns the flags
// into a connected embed::client::Connection or a one-line error.

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "embed/base/result.h"
#include "embed/client/connection.h"
#include "embed/client/message.h"

namespace CLI {
class App;
class Option;
class Validator;
}  // namespace CLI

namespace embed::tools {

inline constexpr std::string_view kDefaultServerUrl = "nats://127.0.0.1:4222";

struct ConnectFlags {
  // As given: repeated and/or comma-separated. Empty = $NATS_URL, else the default.
  std::vector<std::string> servers;
  std::string user;
  std::string password;
  std::string token;
  std::chrono::milliseconds connect_timeout{2'000};
  // TLS (tls://, wss://, or a server that requires it).
  std::string tls_ca;
  std::string tls_cert;
  std::string tls_key;
  bool tls_insecure = false;
};

// Adds -s/--server, --user, --pass, --token, --connect-timeout and the TLS
// flags (--tls-ca, --tls-cert, --tls-key, --tls-insecure) to `command`.
// `flags` must outlive the parse.
void AddConnectFlags(CLI::App& command, ConnectFlags& flags);

// Adds an option read by ParseDuration(); `target` keeps its value (shown as
// the default in --help) when the flag is absent. `target` must outlive the parse.
CLI::Option* AddDurationOption(CLI::App& command, const std::string& name,
                               std::chrono::milliseconds& target, const std::string& description);

// Adds an option read by ParseSize(); see AddDurationOption().
CLI::Option* AddSizeOption(CLI::App& command, const std::string& name, std::uint64_t& target,
                           const std::string& description);

// Adds -H/--header (repeatable "Key:Value"); each value is checked at parse time.
CLI::Option* AddHeaderOption(CLI::App& command, std::vector<std::string>& headers);

// Accepts whole numbers >= 1 (a clearer message than CLI::PositiveNumber).
CLI::Validator AtLeastOne();

// Returns the server URLs to use: the flags, else $NATS_URL, else the default.
std::vector<std::string> ResolveServerUrls(const ConnectFlags& flags);

// Whether a connection that is lost later is re-established.
enum class Reconnect { kNever, kRetry };

// Connects. `client_name` shows in the server's connection list. The error
// reads "cannot connect to <urls>: <reason>". `on_closed`, when set, runs on
// the client's dispatcher thread once the connection is closed for good
// (reconnects exhausted, or Close()).
Result<std::unique_ptr<client::Connection>> Connect(const ConnectFlags& flags,
                                                    std::string_view client_name,
                                                    Reconnect reconnect,
                                                    std::function<void()> on_closed = {});

// Builds the headers of an outgoing message from "Key:Value" flags.
Result<wire::Headers> BuildHeaders(const std::vector<std::string>& header_flags);

// Builds an outgoing message to `subject` with `reply_to` (may be empty) and
// the headers of "Key:Value" `header_flags`; the payload is left empty.
// Errors as BuildHeaders().
Result<client::Message> BuildMessage(std::string_view subject, std::string_view reply_to,
                                     const std::vector<std::string>& header_flags);

}  // namespace embed::tools
