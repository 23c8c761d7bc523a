// End-to-end tests of the `embed` binary: each test runs it as a child
// process (posix_spawn, pipes) and reads its output with deadlines. Servers
// are `embed serve --port 0` children on 127.0.0.1; the test learns the port
// from the "listening on" line.

#include <signal.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "embed/testing/test_certs.h"
#include "tests/cli/subprocess.h"

namespace embed::cli_test {
namespace {

using std::chrono::milliseconds;
using ::testing::HasSubstr;
using ::testing::StartsWith;

constexpr milliseconds kTimeout{15'000};
constexpr const char* kListeningPrefix = "embed serve: listening on ";

std::vector<std::string> EmbedArgs(std::vector<std::string> args) {
  args.insert(args.begin(), EMBED_CLI_BINARY);
  return args;
}

std::unique_ptr<Subprocess> StartEmbed(std::vector<std::string> args,
                                       const SubprocessOptions& options = {}) {
  return Subprocess::Start(EmbedArgs(std::move(args)), options);
}

// Runs `embed <args>` to completion (or fails the test at the deadline).
RunResult RunEmbed(std::vector<std::string> args, const SubprocessOptions& options = {}) {
  RunResult result = RunToExit(EmbedArgs(std::move(args)), kTimeout, options);
  if (!result.started) ADD_FAILURE() << "cannot start " << EMBED_CLI_BINARY;
  if (result.started && !result.exited) ADD_FAILURE() << "embed did not exit in time";
  return result;
}

std::size_t CountLines(const std::string& text) {
  std::size_t lines = 0;
  for (char c : text) lines += c == '\n' ? 1 : 0;
  if (!text.empty() && text.back() != '\n') ++lines;
  return lines;
}

// Expects the one-line error contract: exactly one stderr line, "embed: error: ...".
void ExpectOneErrorLine(const RunResult& result) {
  EXPECT_EQ(CountLines(result.err), 1u) << result.err;
  EXPECT_THAT(result.err, StartsWith("embed: error: "));
}

// An `embed serve --port 0` child, stopped with SIGTERM at the end.
class EmbedServer {
 public:
  explicit EmbedServer(std::vector<std::string> extra_args = {}) {
    std::vector<std::string> args = {"serve", "--port", "0"};
    args.insert(args.end(), extra_args.begin(), extra_args.end());
    process_ = StartEmbed(args);
    if (process_ == nullptr) return;
    std::optional<std::string> line = process_->WaitForLine(kListeningPrefix, kTimeout);
    if (line && line->rfind(kListeningPrefix, 0) == 0) {
      url_ = line->substr(std::string(kListeningPrefix).size());
    }
  }
  ~EmbedServer() {
    if (process_ == nullptr) return;
    process_->SendSignal(SIGTERM);
    process_->WaitForExit(kTimeout);
  }

  // "nats://127.0.0.1:<port>", or "" if the server did not start.
  const std::string& url() const { return url_; }
  Subprocess& process() { return *process_; }

 private:
  std::unique_ptr<Subprocess> process_;
  std::string url_;
};

class EmbedCliWithServer : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_THAT(server_.url(), StartsWith("nats://127.0.0.1:"))
        << "embed serve did not announce its URL: " << server_.process().stderr_text();
  }

  // Starts a long-running client subcommand and waits for its ready line.
  std::unique_ptr<Subprocess> StartReady(std::vector<std::string> args, std::string_view ready,
                                         const SubprocessOptions& options = {}) {
    std::unique_ptr<Subprocess> child = StartEmbed(std::move(args), options);
    if (child == nullptr) {
      ADD_FAILURE() << "cannot start embed";
      return nullptr;
    }
    if (!child->WaitForLine(ready, kTimeout)) {
      ADD_FAILURE() << "no '" << ready << "' line; stderr: " << child->stderr_text();
    }
    return child;
  }

  EmbedServer server_;
};

TEST(EmbedCliHelp, TopLevelHelpListsEveryCommandAndExitsZero) {
  const RunResult result = RunEmbed({"--help"});
  EXPECT_EQ(result.exit_code, 0) << result.err;
  for (const char* command : {"serve", "pub", "sub", "req", "reply", "bench"}) {
    EXPECT_THAT(result.out, HasSubstr(command));
  }
  EXPECT_EQ(result.err, "");
}

TEST(EmbedCliHelp, EverySubcommandHelpExitsZero) {
  for (const char* command : {"serve", "pub", "sub", "req", "reply", "bench"}) {
    const RunResult result = RunEmbed({command, "--help"});
    EXPECT_EQ(result.exit_code, 0) << command << ": " << result.err;
    EXPECT_THAT(result.out, HasSubstr("Usage")) << command;
    EXPECT_THAT(result.out, HasSubstr(command)) << command;
    EXPECT_EQ(result.err, "") << command;
  }
}

TEST(EmbedCliHelp, ServeHelpShowsDefaults) {
  const RunResult result = RunEmbed({"serve", "--help"});
  EXPECT_EQ(result.exit_code, 0);
  EXPECT_THAT(result.out, HasSubstr("127.0.0.1"));
  EXPECT_THAT(result.out, HasSubstr("4222"));
  EXPECT_THAT(result.out, HasSubstr("--ping-interval"));
  EXPECT_THAT(result.out, HasSubstr("2m"));
}

TEST(EmbedCliUsage, UnknownFlagExitsTwoWithOneLine) {
  const RunResult result = RunEmbed({"pub", "--bogus", "subject"});
  EXPECT_EQ(result.exit_code, 2);
  ExpectOneErrorLine(result);
  EXPECT_THAT(result.err, HasSubstr("--bogus"));
  EXPECT_THAT(result.err, HasSubstr("embed pub --help"));
  EXPECT_EQ(result.out, "");
}

TEST(EmbedCliUsage, MissingCommandExitsTwoWithOneLine) {
  const RunResult result = RunEmbed({});
  EXPECT_EQ(result.exit_code, 2);
  ExpectOneErrorLine(result);
}

TEST(EmbedCliUsage, UnknownCommandExitsTwoWithOneLine) {
  const RunResult result = RunEmbed({"frobnicate"});
  EXPECT_EQ(result.exit_code, 2);
  ExpectOneErrorLine(result);
}

TEST(EmbedCliUsage, MissingSubjectExitsTwoWithOneLine) {
  const RunResult result = RunEmbed({"sub"});
  EXPECT_EQ(result.exit_code, 2);
  ExpectOneErrorLine(result);
  EXPECT_THAT(result.err, HasSubstr("subject"));
}

TEST(EmbedCliUsage, BadDurationExitsTwoWithOneLine) {
  const RunResult result = RunEmbed({"req", "svc", "--timeout", "2 parsecs"});
  EXPECT_EQ(result.exit_code, 2);
  ExpectOneErrorLine(result);
  EXPECT_THAT(result.err, HasSubstr("invalid duration"));
}

TEST(EmbedCliUsage, BadHeaderExitsTwoWithOneLine) {
  const RunResult result = RunEmbed({"pub", "subject", "payload", "-H", "no-colon"});
  EXPECT_EQ(result.exit_code, 2);
  ExpectOneErrorLine(result);
  EXPECT_THAT(result.err, HasSubstr("no-colon"));
}

TEST(EmbedCliUsage, PortOutOfRangeExitsTwoWithOneLine) {
  const RunResult result = RunEmbed({"serve", "--port", "70000"});
  EXPECT_EQ(result.exit_code, 2);
  ExpectOneErrorLine(result);
}

TEST(EmbedCliUsage, TokenWithUserExitsTwoWithOneLine) {
  const RunResult result = RunEmbed({"serve", "--token", "t", "--user", "u", "--pass", "p"});
  EXPECT_EQ(result.exit_code, 2);
  ExpectOneErrorLine(result);
}

TEST(EmbedCliPub, UnreachableServerFailsWithOneLine) {
  const int port = FreeLoopbackPort();
  ASSERT_GT(port, 0);
  const std::string url = "nats://127.0.0.1:" + std::to_string(port);
  const RunResult result = RunEmbed({"pub", "-s", url, "subject", "payload"});
  EXPECT_EQ(result.exit_code, 1);
  ExpectOneErrorLine(result);
  EXPECT_THAT(result.err, HasSubstr(url));
}

TEST(EmbedCliServe, AnnouncesItsUrlAndHowToConnect) {
  EmbedServer server;
  ASSERT_THAT(server.url(), StartsWith("nats://127.0.0.1:"));
  EXPECT_NE(server.url(), "nats://127.0.0.1:0");
  std::optional<std::string> hint = server.process().WaitForLine("connect with:", kTimeout);
  ASSERT_TRUE(hint);
  EXPECT_THAT(*hint, HasSubstr("embed sub -s " + server.url()));
}

TEST(EmbedCliServe, ExitsZeroPromptlyOnSigterm) {
  EmbedServer server;
  ASSERT_FALSE(server.url().empty());
  // A connected client must not hold the shutdown up.
  auto subscriber = StartEmbed({"sub", "-s", server.url(), ">"});
  ASSERT_NE(subscriber, nullptr);
  ASSERT_TRUE(subscriber->WaitForLine("Subscribing on", kTimeout)) << subscriber->stderr_text();

  const auto started = std::chrono::steady_clock::now();
  server.process().SendSignal(SIGTERM);
  std::optional<int> exit_code = server.process().WaitForExit(milliseconds(5'000));
  ASSERT_TRUE(exit_code) << "embed serve did not stop within 5s";
  EXPECT_EQ(*exit_code, 0) << server.process().stderr_text();
  EXPECT_LT(std::chrono::steady_clock::now() - started, milliseconds(5'000));
  subscriber->SendSignal(SIGTERM);
  EXPECT_EQ(subscriber->WaitForExit(kTimeout), 0);
}

TEST(EmbedCliServe, ExitsZeroOnSigint) {
  EmbedServer server;
  ASSERT_FALSE(server.url().empty());
  server.process().SendSignal(SIGINT);
  EXPECT_EQ(server.process().WaitForExit(milliseconds(5'000)), 0);
}

TEST(EmbedCliServe, PortInUseFailsWithOneLine) {
  EmbedServer first;
  ASSERT_FALSE(first.url().empty());
  const std::string port = first.url().substr(first.url().rfind(':') + 1);
  const RunResult result = RunEmbed({"serve", "--port", port});
  EXPECT_EQ(result.exit_code, 1);
  ExpectOneErrorLine(result);
  EXPECT_THAT(result.err, HasSubstr(port));
}

TEST_F(EmbedCliWithServer, SubPrintsWhatPubPublishesAndExitsAfterCount) {
  auto subscriber =
      StartReady({"sub", "-s", server_.url(), "greet.*", "--count", "2"}, "Subscribing on");
  ASSERT_NE(subscriber, nullptr);

  const RunResult first = RunEmbed({"pub", "-s", server_.url(), "greet.joe", "hello"});
  EXPECT_EQ(first.exit_code, 0) << first.err;
  EXPECT_THAT(first.out, HasSubstr("Published 5 bytes to \"greet.joe\""));
  SubprocessOptions from_stdin;
  from_stdin.stdin_text = "from stdin";
  const RunResult second = RunEmbed({"pub", "-s", server_.url(), "greet.ann"}, from_stdin);
  EXPECT_EQ(second.exit_code, 0) << second.err;

  ASSERT_EQ(subscriber->WaitForExit(kTimeout), 0) << subscriber->stderr_text();
  const std::string& out = subscriber->stdout_text();
  EXPECT_THAT(out, HasSubstr("[#1] Received on \"greet.joe\"\nhello\n"));
  EXPECT_THAT(out, HasSubstr("[#2] Received on \"greet.ann\"\nfrom stdin\n"));
  EXPECT_EQ(subscriber->stderr_text(), "");
}

TEST_F(EmbedCliWithServer, SubShowsHeadersAndReplySubject) {
  auto subscriber =
      StartReady({"sub", "-s", server_.url(), "orders", "--count", "1"}, "Subscribing on");
  ASSERT_NE(subscriber, nullptr);
  const RunResult pub = RunEmbed({"pub", "-s", server_.url(), "orders", "one", "-H", "Trace-Id:abc",
                                  "-H", "Kind: new", "--reply", "answers"});
  EXPECT_EQ(pub.exit_code, 0) << pub.err;
  ASSERT_EQ(subscriber->WaitForExit(kTimeout), 0) << subscriber->stderr_text();
  EXPECT_THAT(subscriber->stdout_text(),
              HasSubstr("[#1] Received on \"orders\" with reply \"answers\"\n"
                        "Trace-Id: abc\nKind: new\n\none\n"));
}

TEST_F(EmbedCliWithServer, PubCountPublishesThatManyMessages) {
  auto subscriber =
      StartReady({"sub", "-s", server_.url(), "ticks", "--count", "3"}, "Subscribing on");
  ASSERT_NE(subscriber, nullptr);
  const RunResult pub = RunEmbed({"pub", "-s", server_.url(), "ticks", "t", "--count", "3"});
  EXPECT_EQ(pub.exit_code, 0) << pub.err;
  EXPECT_THAT(pub.out, HasSubstr("Published 3 messages"));
  ASSERT_EQ(subscriber->WaitForExit(kTimeout), 0);
  EXPECT_THAT(subscriber->stdout_text(), HasSubstr("[#3] Received on \"ticks\""));
}

TEST_F(EmbedCliWithServer, ServerUrlComesFromNatsUrlEnvironment) {
  SubprocessOptions with_env;
  with_env.environment = {{"NATS_URL", server_.url()}};
  auto subscriber = StartReady({"sub", "env.test", "--count", "1"}, "Subscribing on", with_env);
  ASSERT_NE(subscriber, nullptr);
  const RunResult pub = RunEmbed({"pub", "env.test", "via env"}, with_env);
  EXPECT_EQ(pub.exit_code, 0) << pub.err;
  ASSERT_EQ(subscriber->WaitForExit(kTimeout), 0);
  EXPECT_THAT(subscriber->stdout_text(), HasSubstr("via env"));
}

TEST_F(EmbedCliWithServer, SubStopsCleanlyOnSigint) {
  auto subscriber = StartReady({"sub", "-s", server_.url(), "quiet"}, "Subscribing on");
  ASSERT_NE(subscriber, nullptr);
  subscriber->SendSignal(SIGINT);
  EXPECT_EQ(subscriber->WaitForExit(kTimeout), 0) << subscriber->stderr_text();
  EXPECT_EQ(subscriber->stderr_text(), "");
}

TEST_F(EmbedCliWithServer, ReqPrintsTheReplyOfEmbedReply) {
  auto replier = StartReady({"reply", "-s", server_.url(), "svc.echo", "pong", "--count", "1"},
                            "Listening for requests");
  ASSERT_NE(replier, nullptr);
  const RunResult request = RunEmbed({"req", "-s", server_.url(), "svc.echo", "ping"});
  EXPECT_EQ(request.exit_code, 0) << request.err;
  EXPECT_EQ(request.out, "pong\n");
  EXPECT_EQ(request.err, "");
  ASSERT_EQ(replier->WaitForExit(kTimeout), 0) << replier->stderr_text();
  EXPECT_THAT(replier->stdout_text(), HasSubstr("Received on \"svc.echo\""));
  EXPECT_THAT(replier->stdout_text(), HasSubstr("ping\n"));
}

TEST_F(EmbedCliWithServer, ReqWithoutRespondersFailsWithOneLine) {
  const RunResult request =
      RunEmbed({"req", "-s", server_.url(), "nobody.home", "hello", "--timeout", "5s"});
  EXPECT_EQ(request.exit_code, 1);
  ExpectOneErrorLine(request);
  EXPECT_THAT(request.err, HasSubstr("no responders"));
  EXPECT_EQ(request.out, "");
}

TEST_F(EmbedCliWithServer, ReqTimesOutWhenNobodyAnswers) {
  // A plain subscriber takes the request but never replies.
  auto listener = StartReady({"sub", "-s", server_.url(), "svc.silent"}, "Subscribing on");
  ASSERT_NE(listener, nullptr);
  const RunResult request =
      RunEmbed({"req", "-s", server_.url(), "svc.silent", "hello", "--timeout", "300ms"});
  EXPECT_EQ(request.exit_code, 1);
  ExpectOneErrorLine(request);
  EXPECT_THAT(request.err, HasSubstr("no reply on \"svc.silent\" within 300ms"));
  listener->SendSignal(SIGTERM);
  EXPECT_EQ(listener->WaitForExit(kTimeout), 0);
}

TEST_F(EmbedCliWithServer, PayloadAboveMaxPayloadFailsWithOneLine) {
  SubprocessOptions big_stdin;
  big_stdin.stdin_text = std::string(2 * 1024 * 1024, 'x');
  const RunResult pub = RunEmbed({"pub", "-s", server_.url(), "big"}, big_stdin);
  EXPECT_EQ(pub.exit_code, 1);
  ExpectOneErrorLine(pub);
  EXPECT_THAT(pub.err, HasSubstr("\"big\""));
}

TEST_F(EmbedCliWithServer, BenchReportsPubSubThroughput) {
  const RunResult bench = RunEmbed(
      {"bench", "-s", server_.url(), "bench.test", "--msgs", "2000", "--size", "16", "--sub", "2"});
  EXPECT_EQ(bench.exit_code, 0) << bench.err;
  EXPECT_THAT(bench.out, HasSubstr("Pub stats: "));
  EXPECT_THAT(bench.out, HasSubstr("Sub stats: "));
  EXPECT_THAT(bench.out, HasSubstr("msgs/s"));
  EXPECT_THAT(bench.out, HasSubstr("MB/s"));
}

TEST_F(EmbedCliWithServer, BenchReportsRequestLatency) {
  const RunResult bench = RunEmbed(
      {"bench", "-s", server_.url(), "bench.rpc", "--request", "--msgs", "200", "--pub", "2"});
  EXPECT_EQ(bench.exit_code, 0) << bench.err;
  EXPECT_THAT(bench.out, HasSubstr("Req stats: "));
  EXPECT_THAT(bench.out, HasSubstr("p50"));
  EXPECT_THAT(bench.out, HasSubstr("p99"));
}

TEST(EmbedCliAuth, TokenIsRequiredAndAccepted) {
  EmbedServer server({"--token", "s3cret"});
  ASSERT_FALSE(server.url().empty());
  const RunResult without = RunEmbed({"pub", "-s", server.url(), "x", "y"});
  EXPECT_EQ(without.exit_code, 1);
  ExpectOneErrorLine(without);
  const RunResult with = RunEmbed({"pub", "-s", server.url(), "--token", "s3cret", "x", "y"});
  EXPECT_EQ(with.exit_code, 0) << with.err;
}

TEST(EmbedCliAuth, UserPasswordPairsAreChecked) {
  EmbedServer server({"--user-pass", "alice:wonder", "--user-pass", "bob:builder"});
  ASSERT_FALSE(server.url().empty());
  const RunResult wrong =
      RunEmbed({"pub", "-s", server.url(), "--user", "alice", "--pass", "nope", "x", "y"});
  EXPECT_EQ(wrong.exit_code, 1);
  ExpectOneErrorLine(wrong);
  const RunResult right =
      RunEmbed({"pub", "-s", server.url(), "--user", "bob", "--pass", "builder", "x", "y"});
  EXPECT_EQ(right.exit_code, 0) << right.err;
}

TEST(EmbedCliSub, UnreachableServerFailsWithOneLine) {
  const int port = FreeLoopbackPort();
  ASSERT_GT(port, 0);
  const RunResult result =
      RunEmbed({"sub", "-s", "nats://127.0.0.1:" + std::to_string(port), "anything"});
  EXPECT_EQ(result.exit_code, 1);
  ExpectOneErrorLine(result);
}

// Our client against the reference server: `embed sub/pub` need nothing Embed-specific.
TEST(EmbedCliInterop, PubSubThroughNatsServer) {
  const std::string nats_server_binary = EMBED_NATS_SERVER_BINARY;
  if (nats_server_binary.empty() || ::access(nats_server_binary.c_str(), X_OK) != 0) {
    GTEST_SKIP() << "nats-server not installed";
  }
  const int port = FreeLoopbackPort();
  ASSERT_GT(port, 0);
  auto nats_server =
      Subprocess::Start({nats_server_binary, "-a", "127.0.0.1", "-p", std::to_string(port)});
  ASSERT_NE(nats_server, nullptr);
  const std::string url = "nats://127.0.0.1:" + std::to_string(port);
  ASSERT_TRUE(nats_server->WaitForLine("Server is ready", kTimeout, Subprocess::Stream::kStderr))
      << nats_server->stderr_text();
  auto subscriber = StartEmbed({"sub", "-s", url, "interop", "--count", "1"});
  ASSERT_NE(subscriber, nullptr);
  ASSERT_TRUE(subscriber->WaitForLine("Subscribing on", kTimeout)) << subscriber->stderr_text();
  const RunResult pub = RunEmbed({"pub", "-s", url, "interop", "hi nats"});
  EXPECT_EQ(pub.exit_code, 0) << pub.err;
  ASSERT_EQ(subscriber->WaitForExit(kTimeout), 0);
  EXPECT_THAT(subscriber->stdout_text(), HasSubstr("hi nats"));
  const RunResult request = RunEmbed({"req", "-s", url, "nobody", "x"});
  EXPECT_EQ(request.exit_code, 1);
  EXPECT_THAT(request.err, HasSubstr("no responders"));
  nats_server->SendSignal(SIGTERM);
  nats_server->WaitForExit(kTimeout);
}

}  // namespace
}  // namespace embed::cli_test

namespace embed::cli_test {
namespace {

// A file in a fresh temporary directory, removed with it.
class TempDir {
 public:
  TempDir() {
    char pattern[] = "/tmp/embed-cli-XXXXXX";
    path_ = ::mkdtemp(pattern) != nullptr ? pattern : "";
  }
  ~TempDir() {
    std::error_code ignored;
    if (!path_.empty()) std::filesystem::remove_all(path_, ignored);
  }
  std::string Write(const std::string& name, const std::string& text) const {
    std::string file = path_ + "/" + name;
    std::ofstream(file) << text;
    return file;
  }

 private:
  std::string path_;
};

constexpr const char* kWebSocketPrefix = "embed serve: websocket on ";

TEST(EmbedCliServeTransports, ConfigFileSetsOptionsAndTheCommandLineWins) {
  TempDir dir;
  const std::string config =
      dir.Write("hub.toml", "# hub\nport = 4222\nws-port = 0\ntoken = \"s3cret\"\n");
  // --port on the command line beats the file's 4222.
  EmbedServer server({"--config", config});
  ASSERT_THAT(server.url(), StartsWith("nats://127.0.0.1:"));
  EXPECT_NE(server.url(), "nats://127.0.0.1:4222");
  std::optional<std::string> ws = server.process().WaitForLine(kWebSocketPrefix, kTimeout);
  ASSERT_TRUE(ws);
  EXPECT_THAT(*ws, HasSubstr("ws://127.0.0.1:"));
  const std::string ws_url = ws->substr(std::string(kWebSocketPrefix).size());
  // The file's token is enforced on both listeners.
  EXPECT_EQ(RunEmbed({"pub", "-s", server.url(), "x", "y"}).exit_code, 1);
  const RunResult over_ws = RunEmbed({"pub", "-s", ws_url, "--token", "s3cret", "x", "y"});
  EXPECT_EQ(over_ws.exit_code, 0) << over_ws.err;
}

TEST(EmbedCliServeTransports, ConfigFileErrorsExitTwoWithOneLine) {
  TempDir dir;
  const RunResult unknown =
      RunEmbed({"serve", "--config", dir.Write("bad.toml", "no-such-flag = 1\n")});
  EXPECT_EQ(unknown.exit_code, 2);
  ExpectOneErrorLine(unknown);
  EXPECT_THAT(unknown.err, HasSubstr("no-such-flag"));
  const RunResult bad_value =
      RunEmbed({"serve", "--config", dir.Write("value.toml", "ws-port = \"many\"\n")});
  EXPECT_EQ(bad_value.exit_code, 2);
  ExpectOneErrorLine(bad_value);
}

TEST(EmbedCliServeTransports, ConfigFileCannotCreateAUserWithoutPassword) {
  TempDir dir;
  const RunResult result =
      RunEmbed({"serve", "--port", "0", "--config", dir.Write("user.toml", "user = \"admin\"\n")});
  EXPECT_EQ(result.exit_code, 2);
  ExpectOneErrorLine(result);
  EXPECT_THAT(result.err, HasSubstr("--pass"));
}

TEST(EmbedCliServeTransports, ServesTlsAndClientsUseTheirCaFlag) {
  const testing::TestCerts& certs = testing::SharedTestCerts();
  EmbedServer server({"--tls-cert", certs.server_cert, "--tls-key", certs.server_key,
                      "--ws-port", "0"});
  ASSERT_THAT(server.url(), StartsWith("tls://127.0.0.1:"));
  std::optional<std::string> ws = server.process().WaitForLine(kWebSocketPrefix, kTimeout);
  ASSERT_TRUE(ws);
  const std::string wss_url = ws->substr(std::string(kWebSocketPrefix).size());
  EXPECT_THAT(wss_url, StartsWith("wss://127.0.0.1:"));

  const RunResult trusted = RunEmbed({"pub", "-s", server.url(), "--tls-ca", certs.ca_cert, "x", "y"});
  EXPECT_EQ(trusted.exit_code, 0) << trusted.err;
  const RunResult over_wss = RunEmbed({"pub", "-s", wss_url, "--tls-ca", certs.ca_cert, "x", "y"});
  EXPECT_EQ(over_wss.exit_code, 0) << over_wss.err;
  const RunResult untrusted = RunEmbed({"pub", "-s", server.url(), "x", "y"});
  EXPECT_EQ(untrusted.exit_code, 1);
  ExpectOneErrorLine(untrusted);
}

TEST(EmbedCliServeTransports, TlsFlagsMustComeTogether) {
  const RunResult result = RunEmbed({"serve", "--tls-cert", "/etc/hostname"});
  EXPECT_EQ(result.exit_code, 2);
  ExpectOneErrorLine(result);
  EXPECT_THAT(result.err, HasSubstr("--tls-key"));
}

}  // namespace
}  // namespace embed::cli_test
