// End-to-end tests of `embed rpc`: the test process runs a broker
// (BrokerFixture) and serves echo.v1.Echo (testdata/echo_cli.proto) with a
// DynamicService over hand-encoded protobuf bytes; the `embed` binary runs as
// a child process that calls it.

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "embed/client/connection.h"
#include "embed/client/connection_options.h"
#include "embed/rpc/service.h"
#include "embed/rpc/service_host.h"
#include "embed/testing/broker_fixture.h"
#include "tests/cli/subprocess.h"

namespace embed::cli_test {
namespace {

using std::chrono::milliseconds;
using ::testing::HasSubstr;
using ::testing::StartsWith;

constexpr milliseconds kTimeout{15'000};
const std::string kTestdata = EMBED_RPC_CLI_TESTDATA_DIR;
const std::string kProto = kTestdata + "/echo_cli.proto";

// grpcurl's convention, documented in tools/embed/rpc.cc.
constexpr int kExitRpcErrorBase = 64;

// echo.v1.EchoRequest, decoded by hand (proto3 wire format).
struct EchoRequest {
  std::string text;
  std::uint64_t times = 0;
};

bool ReadVarint(std::string_view& bytes, std::uint64_t* value) {
  *value = 0;
  for (int shift = 0; shift < 64 && !bytes.empty(); shift += 7) {
    const auto byte = static_cast<std::uint8_t>(bytes.front());
    bytes.remove_prefix(1);
    *value |= static_cast<std::uint64_t>(byte & 0x7f) << shift;
    if ((byte & 0x80) == 0) return true;
  }
  return false;
}

std::optional<EchoRequest> DecodeEchoRequest(std::string_view bytes) {
  EchoRequest request;
  while (!bytes.empty()) {
    std::uint64_t tag = 0;
    if (!ReadVarint(bytes, &tag)) return std::nullopt;
    if (tag == ((1 << 3) | 2)) {  // text: length-delimited
      std::uint64_t length = 0;
      if (!ReadVarint(bytes, &length) || length > bytes.size()) return std::nullopt;
      request.text = std::string(bytes.substr(0, length));
      bytes.remove_prefix(length);
    } else if (tag == ((2 << 3) | 0)) {  // times: varint
      if (!ReadVarint(bytes, &request.times)) return std::nullopt;
    } else {
      return std::nullopt;
    }
  }
  return request;
}

void AppendVarint(std::uint64_t value, std::string& out) {
  while (value >= 0x80) {
    out.push_back(static_cast<char>((value & 0x7f) | 0x80));
    value >>= 7;
  }
  out.push_back(static_cast<char>(value));
}

// echo.v1.EchoReply{text, index}; proto3 omits default values.
std::string EncodeEchoReply(std::string_view text, std::uint64_t index = 0) {
  std::string out;
  if (!text.empty()) {
    out.push_back(static_cast<char>((1 << 3) | 2));
    AppendVarint(text.size(), out);
    out.append(text);
  }
  if (index != 0) {
    out.push_back(static_cast<char>(2 << 3));
    AppendVarint(index, out);
  }
  return out;
}

rpc::MethodInfo Method(std::string name, rpc::MethodKind kind) {
  return rpc::MethodInfo{std::move(name), kind, "echo.v1.EchoRequest", "echo.v1.EchoReply"};
}

rpc::RpcStatus BadRequest() {
  return rpc::RpcStatus(rpc::RpcCode::kInvalidArgument, "cannot decode EchoRequest");
}

class EmbedRpcCli : public embed::testing::BrokerFixture {
 protected:
  void SetUp() override {
    StartBroker();
    url_ = "nats://127.0.0.1:" + std::to_string(port());
    client::ConnectionOptions options;
    options.urls = {url_};
    Result<std::unique_ptr<client::Connection>> connection = client::Connection::Connect(options);
    ASSERT_TRUE(connection.ok()) << connection.status().message();
    connection_ = std::move(*connection);
    AddMethods();
    host_ = std::make_unique<rpc::ServiceHost>(*connection_);
    rpc::ServiceOptions service_options;
    service_options.description = "echoes text";
    const Status added = host_->AddService(service_, service_options);
    ASSERT_TRUE(added.ok()) << added.message();
    // The host's subscriptions reach the broker before the child's calls.
    ASSERT_TRUE(connection_->Flush(kTimeout).ok());
  }

  void TearDown() override {
    if (host_ != nullptr) host_->Stop(milliseconds(0));
    host_.reset();
    if (connection_ != nullptr) connection_->Close();
    connection_.reset();
    BrokerFixture::TearDown();
  }

  // Runs `embed rpc -s <url> <args>` to completion.
  RunResult Rpc(std::vector<std::string> args, const SubprocessOptions& options = {}) {
    args.insert(args.begin(), {EMBED_CLI_BINARY, "rpc", "-s", url_});
    RunResult result = RunToExit(args, kTimeout, options);
    if (!result.started) ADD_FAILURE() << "cannot start " << EMBED_CLI_BINARY;
    if (result.started && !result.exited) ADD_FAILURE() << "embed rpc did not exit in time";
    return result;
  }

  std::string url_;
  std::unique_ptr<client::Connection> connection_;
  rpc::DynamicService service_{"echo.v1.Echo"};
  std::unique_ptr<rpc::ServiceHost> host_;

 private:
  void AddMethods() {
    service_.AddUnary(Method("Say", rpc::MethodKind::kUnary),
                      [](rpc::ServerContext& context, std::string_view bytes,
                         std::string* response) -> rpc::RpcStatus {
                        std::optional<EchoRequest> request = DecodeEchoRequest(bytes);
                        if (!request) return BadRequest();
                        const std::string greeting(context.metadata().Get("X-Greeting"));
                        *response = EncodeEchoReply(greeting + request->text);
                        return rpc::RpcStatus::Ok();
                      });
    service_.AddUnary(
        Method("Fail", rpc::MethodKind::kUnary),
        [](rpc::ServerContext&, std::string_view bytes, std::string*) -> rpc::RpcStatus {
          std::optional<EchoRequest> request = DecodeEchoRequest(bytes);
          if (!request) return BadRequest();
          return rpc::RpcStatus(rpc::RpcCode::kNotFound, "no " + request->text + " here");
        });
    service_.AddServerStreaming(Method("Repeat", rpc::MethodKind::kServerStreaming),
                                [](rpc::ServerContext&, std::string_view bytes,
                                   rpc::ServerStream& stream) -> rpc::RpcStatus {
                                  std::optional<EchoRequest> request = DecodeEchoRequest(bytes);
                                  if (!request) return BadRequest();
                                  for (std::uint64_t index = 1; index <= request->times; ++index) {
                                    rpc::RpcStatus written =
                                        stream.Write(EncodeEchoReply(request->text, index));
                                    if (!written.ok()) return written;
                                  }
                                  return rpc::RpcStatus::Ok();
                                });
    service_.AddClientStreaming(Method("Join", rpc::MethodKind::kClientStreaming),
                                [](rpc::ServerContext&, rpc::ServerStream& stream,
                                   std::string* response) -> rpc::RpcStatus {
                                  std::string joined;
                                  std::string bytes;
                                  while (stream.Read(&bytes)) {
                                    std::optional<EchoRequest> request = DecodeEchoRequest(bytes);
                                    if (!request) return BadRequest();
                                    if (!joined.empty()) joined += "+";
                                    joined += request->text;
                                  }
                                  *response = EncodeEchoReply(joined);
                                  return rpc::RpcStatus::Ok();
                                });
    service_.AddBidiStreaming(Method("Chat", rpc::MethodKind::kBidiStreaming),
                              [](rpc::ServerContext&, rpc::ServerStream& stream) -> rpc::RpcStatus {
                                std::string bytes;
                                for (std::uint64_t index = 1; stream.Read(&bytes); ++index) {
                                  std::optional<EchoRequest> request = DecodeEchoRequest(bytes);
                                  if (!request) return BadRequest();
                                  rpc::RpcStatus written =
                                      stream.Write(EncodeEchoReply(request->text, index));
                                  if (!written.ok()) return written;
                                }
                                return rpc::RpcStatus::Ok();
                              });
  }
};

TEST_F(EmbedRpcCli, UnaryCallPrintsTheJsonReply) {
  const RunResult result = Rpc({"--proto", kProto, "echo.v1.Echo.Say", R"({"text":"hi"})"});
  EXPECT_EQ(result.exit_code, 0) << result.err;
  EXPECT_THAT(result.out, HasSubstr(R"("text": "hi")"));
  EXPECT_EQ(result.err, "");
}

TEST_F(EmbedRpcCli, SlashFormImportPathsAndHeadersWork) {
  const RunResult result = Rpc({"-I", kTestdata, "--proto", "echo_cli.proto", "echo.v1.Echo/Say",
                                R"({"text":"hi"})", "--header", "X-Greeting: hey-", "--compact"});
  EXPECT_EQ(result.exit_code, 0) << result.err;
  EXPECT_EQ(result.out, "{\"text\":\"hey-hi\"}\n");
}

TEST_F(EmbedRpcCli, EmitDefaultsPrintsZeroFields) {
  const RunResult result = Rpc(
      {"--proto", kProto, "echo.v1.Echo.Say", R"({"text":"hi"})", "--compact", "--emit-defaults"});
  EXPECT_EQ(result.exit_code, 0) << result.err;
  EXPECT_EQ(result.out, "{\"text\":\"hi\",\"index\":0}\n");
}

TEST_F(EmbedRpcCli, ErrorStatusPrintsCodeAndMessageAndExits64PlusCode) {
  const RunResult result = Rpc({"--proto", kProto, "echo.v1.Echo.Fail", R"({"text":"cake"})"});
  EXPECT_EQ(result.exit_code, kExitRpcErrorBase + 5);
  EXPECT_EQ(result.err, "ERROR: NOT_FOUND: no cake here\n");
  EXPECT_EQ(result.out, "");
}

TEST_F(EmbedRpcCli, MethodTheServiceLacksIsUnimplemented) {
  const RunResult result = Rpc({"--proto", kProto, "echo.v1.Echo.Missing", "{}"});
  EXPECT_EQ(result.exit_code, kExitRpcErrorBase + 12) << result.err;
  EXPECT_THAT(result.err, StartsWith("ERROR: UNIMPLEMENTED: "));
}

TEST_F(EmbedRpcCli, ServiceWithoutInstanceIsUnavailable) {
  const RunResult result = Rpc({"--proto", kProto, "echo.v1.Absent.Say", "{}"});
  EXPECT_EQ(result.exit_code, kExitRpcErrorBase + 14) << result.err;
  EXPECT_THAT(result.err, StartsWith("ERROR: UNAVAILABLE: "));
}

TEST_F(EmbedRpcCli, MethodMissingFromTheProtoIsARuntimeError) {
  const RunResult result = Rpc({"--proto", kProto, "echo.v1.Echo.Nope", "{}"});
  EXPECT_EQ(result.exit_code, 1);
  EXPECT_THAT(result.err, StartsWith("embed: error: no method echo.v1.Echo.Nope"));
  EXPECT_THAT(result.err, HasSubstr("echo.v1.Echo, echo.v1.Absent"));
}

TEST_F(EmbedRpcCli, RequestThatIsNotTheInputTypeIsAUsageError) {
  const RunResult result = Rpc({"--proto", kProto, "echo.v1.Echo.Say", R"({"txet":"hi"})"});
  EXPECT_EQ(result.exit_code, 2);
  EXPECT_THAT(result.err, HasSubstr("echo.v1.EchoRequest"));
}

TEST_F(EmbedRpcCli, ServerStreamingPrintsOneJsonPerMessage) {
  const RunResult result =
      Rpc({"--proto", kProto, "echo.v1.Echo.Repeat", R"({"text":"x","times":3})", "--compact"});
  EXPECT_EQ(result.exit_code, 0) << result.err;
  EXPECT_EQ(result.out,
            "{\"text\":\"x\",\"index\":1}\n{\"text\":\"x\",\"index\":2}\n"
            "{\"text\":\"x\",\"index\":3}\n");
}

TEST_F(EmbedRpcCli, ClientStreamingReadsOneRequestPerStdinLine) {
  SubprocessOptions options;
  options.stdin_text = "{\"text\":\"a\"}\n\n{\"text\":\"b\"}\n";
  const RunResult result = Rpc({"--proto", kProto, "echo.v1.Echo.Join", "--compact"}, options);
  EXPECT_EQ(result.exit_code, 0) << result.err;
  EXPECT_EQ(result.out, "{\"text\":\"a+b\"}\n");
}

TEST_F(EmbedRpcCli, BidiStreamingTakesRequestLinesFromTheArgument) {
  const RunResult result = Rpc(
      {"--proto", kProto, "echo.v1.Echo.Chat", "{\"text\":\"a\"}\n{\"text\":\"b\"}", "--compact"});
  EXPECT_EQ(result.exit_code, 0) << result.err;
  EXPECT_EQ(result.out, "{\"text\":\"a\",\"index\":1}\n{\"text\":\"b\",\"index\":2}\n");
}

TEST_F(EmbedRpcCli, BadStreamingRequestLineEndsTheCall) {
  SubprocessOptions options;
  options.stdin_text = "{\"text\":\"a\"}\n{\"nope\":1}\n";
  const RunResult result = Rpc({"--proto", kProto, "echo.v1.Echo.Join"}, options);
  EXPECT_EQ(result.exit_code, kExitRpcErrorBase + 3) << result.err;
  EXPECT_THAT(result.err, StartsWith("ERROR: INVALID_ARGUMENT: request 2: "));
}

TEST_F(EmbedRpcCli, DescriptorSetWorksInsteadOfProto) {
  const RunResult result = Rpc({"--descriptor-set", EMBED_RPC_CLI_DESCRIPTOR_SET,
                                "echo.v1.Echo.Say", R"({"text":"hi"})", "--compact"});
  EXPECT_EQ(result.exit_code, 0) << result.err;
  EXPECT_EQ(result.out, "{\"text\":\"hi\"}\n");
}

TEST_F(EmbedRpcCli, ListShowsTheServiceAndItsEndpoints) {
  const RunResult result = Rpc({"--list", "--timeout", "300ms"});
  EXPECT_EQ(result.exit_code, 0) << result.err;
  EXPECT_THAT(result.out, HasSubstr("echo_v1_Echo 1.0.0 (id " + host_->id() + ")\n"));
  EXPECT_THAT(result.out, HasSubstr("  service: echo.v1.Echo\n"));
  EXPECT_THAT(result.out, HasSubstr("  description: echoes text\n"));
  EXPECT_THAT(result.out, HasSubstr("  echo.v1.Echo.Say (unary)\n"));
  EXPECT_THAT(result.out, HasSubstr("  echo.v1.Echo.Repeat (server_streaming)\n"));
  EXPECT_THAT(result.out, HasSubstr("  echo.v1.Echo.Join (client_streaming)\n"));

  const RunResult by_name = Rpc({"--list", "echo_v1_Echo", "--timeout", "300ms"});
  EXPECT_EQ(by_name.exit_code, 0) << by_name.err;
  EXPECT_THAT(by_name.out, StartsWith("echo_v1_Echo 1.0.0"));
}

TEST_F(EmbedRpcCli, ListWithoutAnswerFails) {
  const RunResult result = Rpc({"--list", "nobody", "--timeout", "200ms"});
  EXPECT_EQ(result.exit_code, 1);
  EXPECT_THAT(result.err, HasSubstr("no service answered on $SRV.INFO.nobody"));
}

TEST_F(EmbedRpcCli, DescribePrintsMethodSignatures) {
  const RunResult result = Rpc({"--proto", kProto, "--describe", "echo.v1.Echo"});
  EXPECT_EQ(result.exit_code, 0) << result.err;
  EXPECT_THAT(result.out, HasSubstr("service echo.v1.Echo {\n"));
  EXPECT_THAT(result.out,
              HasSubstr("  rpc Repeat(echo.v1.EchoRequest) returns (stream echo.v1.EchoReply);\n"));
  EXPECT_THAT(result.out,
              HasSubstr("  rpc Join(stream echo.v1.EchoRequest) returns (echo.v1.EchoReply);\n"));
}

TEST(EmbedRpcCliHelp, HelpExitsZero) {
  std::unique_ptr<Subprocess> child = Subprocess::Start({EMBED_CLI_BINARY, "rpc", "--help"});
  ASSERT_NE(child, nullptr);
  EXPECT_EQ(child->WaitForExit(kTimeout), 0);
  EXPECT_THAT(child->stdout_text(), HasSubstr("--descriptor-set"));
}

}  // namespace
}  // namespace embed::cli_test
