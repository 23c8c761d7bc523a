#include "embed/rpc/protoc/generator.h"

#include <stdlib.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <string_view>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "embed/rpc/protoc/service_model.h"

namespace embed::rpc::protoc {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

MessageType Message(std::string package, std::string name_in_package) {
  std::string cpp_name = "::" + CppNamespace(package);
  if (!package.empty()) cpp_name += "::";
  std::string full_name = package.empty() ? name_in_package : package + "." + name_in_package;
  for (char c : name_in_package) cpp_name += c == '.' ? '_' : c;
  return MessageType{.full_name = full_name, .package = package, .cpp_name = cpp_name};
}

MethodModel Method(std::string name, MethodKind kind, MessageType request, MessageType response,
                   std::string comment = "") {
  return MethodModel{.name = std::move(name),
                     .kind = kind,
                     .request = std::move(request),
                     .response = std::move(response),
                     .comment = std::move(comment)};
}

// The text with line wraps undone ("\n" + indentation -> " "), so checks do
// not depend on where a declaration wraps.
std::string Unwrapped(const std::string& text) {
  std::string result;
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '\n' && i + 1 < text.size() && text[i + 1] == ' ') {
      while (i + 1 < text.size() && text[i + 1] == ' ') ++i;
      if (result.empty() || (result.back() != '(' && result.back() != '{')) result += ' ';
      continue;
    }
    result += text[i];
  }
  return result;
}

// package demo; service Echo { rpc Say(Text) returns (Text); ... }
ServiceModel DemoModel(std::vector<MethodModel> methods) {
  ServiceModel model{.file_name = "demo/echo.proto",
                     .package = "demo",
                     .pb_header = "demo/echo.pb.h",
                     .services = {}};
  model.services.push_back(ServiceDefinition{.name = "Echo",
                                             .full_name = "demo.Echo",
                                             .comment = " Echoes.\n",
                                             .methods = std::move(methods)});
  return model;
}

TEST(ServiceModel, GeneratedFileNameReplacesTheProtoSuffix) {
  EXPECT_EQ(GeneratedFileName("a/b/greeter.proto", ".embed.h"), "a/b/greeter.embed.h");
  EXPECT_EQ(GeneratedFileName("old.protodevel", ".pb.h"), "old.pb.h");
  EXPECT_EQ(GeneratedFileName("no_suffix", ".embed.cc"), "no_suffix.embed.cc");
}

TEST(ServiceModel, CppNamespaceJoinsPackageComponents) {
  EXPECT_EQ(CppNamespace("greeter.v1"), "greeter::v1");
  EXPECT_EQ(CppNamespace("single"), "single");
  EXPECT_EQ(CppNamespace(""), "");
}

TEST(Generator, NamesFilesAfterTheProto) {
  ServiceModel model = DemoModel({});
  EXPECT_EQ(HeaderFileName(model), "demo/echo.embed.h");
  EXPECT_EQ(SourceFileName(model), "demo/echo.embed.cc");
}

TEST(Generator, HeaderDeclaresClientAndServiceOfAUnaryMethod) {
  ServiceModel model = DemoModel(
      {Method("Say", MethodKind::kUnary, Message("demo", "Text"), Message("demo", "Text"))});
  std::string header = Unwrapped(GenerateHeader(model));
  EXPECT_THAT(header, HasSubstr("#pragma once\n"));
  EXPECT_THAT(header, HasSubstr("#include \"demo/echo.pb.h\"\n#include \"embed/rpc/typed.h\"\n"));
  EXPECT_THAT(header, HasSubstr("namespace demo {\n"));
  EXPECT_THAT(header, HasSubstr("// Echoes.\nclass Echo final {"));
  EXPECT_THAT(header, HasSubstr("static constexpr std::string_view kServiceName = \"demo.Echo\";"));
  EXPECT_THAT(header,
              HasSubstr("static constexpr std::string_view kSayMethod = \"demo.Echo.Say\";"));
  EXPECT_THAT(header, HasSubstr("explicit Client(::embed::rpc::Channel& channel)"));
  EXPECT_THAT(header, HasSubstr("::embed::rpc::RpcStatus Say(const Text& request, Text* response,"
                                " const ::embed::rpc::CallOptions& options = {});"));
  EXPECT_THAT(header, HasSubstr("void SayAsync(const Text& request, std::function<void("
                                "::embed::rpc::RpcStatus, Text)> done,"));
  EXPECT_THAT(header, HasSubstr("class Service : public ::embed::rpc::Service {"));
  EXPECT_THAT(header, HasSubstr("virtual ::embed::rpc::RpcStatus Say(::embed::rpc::ServerContext& "
                                "context, const Text& request,"));
  EXPECT_THAT(header, HasSubstr("}  // namespace demo\n"));
}

TEST(Generator, SourceRegistersEachKindWithItsWrapper) {
  MessageType text = Message("demo", "Text");
  ServiceModel model = DemoModel({Method("Say", MethodKind::kUnary, text, text),
                                  Method("Watch", MethodKind::kServerStreaming, text, text),
                                  Method("Upload", MethodKind::kClientStreaming, text, text),
                                  Method("Talk", MethodKind::kBidiStreaming, text, text)});
  std::string source = Unwrapped(GenerateSource(model));
  EXPECT_THAT(source, HasSubstr("#include \"demo/echo.embed.h\"\n"));
  EXPECT_THAT(source, HasSubstr("Echo::Service::Service() : ::embed::rpc::Service("
                                "std::string(kServiceName)) {"));
  EXPECT_THAT(source,
              HasSubstr("AddUnary({.name = \"Say\", .kind = ::embed::rpc::MethodKind::kUnary,"
                        " .request_type = \"demo.Text\", .response_type = \"demo.Text\"},"
                        " ::embed::rpc::WrapUnary<Text, Text>("));
  EXPECT_THAT(source, HasSubstr("AddServerStreaming({.name = \"Watch\""));
  EXPECT_THAT(source, HasSubstr("::embed::rpc::WrapServerStreaming<Text, Text>("));
  EXPECT_THAT(source, HasSubstr("return Watch(context, request, writer);"));
  EXPECT_THAT(source, HasSubstr("AddClientStreaming({.name = \"Upload\""));
  EXPECT_THAT(source, HasSubstr("return Upload(context, reader, response);"));
  EXPECT_THAT(source, HasSubstr("AddBidiStreaming({.name = \"Talk\""));
  EXPECT_THAT(source, HasSubstr("return Talk(context, stream);"));
  EXPECT_THAT(source, HasSubstr("\"demo.Echo.Talk is not implemented\""));
  EXPECT_THAT(source, HasSubstr("channel_.OpenStream(kWatchMethod, ::embed::rpc::MethodKind::"
                                "kServerStreaming, request.SerializeAsString(), options);"));
  EXPECT_THAT(source, HasSubstr("channel_.OpenStream(kUploadMethod, "
                                "::embed::rpc::MethodKind::kClientStreaming, \"\", options);"));
  EXPECT_THAT(source, HasSubstr("std::make_unique<::embed::rpc::ClientReaderWriter<Text, Text>>("
                                "std::move(stream));"));
}

TEST(Generator, QualifiesTypesFromOtherPackagesAndHiddenNames) {
  ServiceModel model = DemoModel(
      {Method("Forward", MethodKind::kUnary, Message("other.pkg", "Envelope"),
              Message("demo", "Outer.Inner")),
       // A message named like a method of the service, or like a member of
       // embed::rpc::Service, is hidden inside the generated class.
       Method("Say", MethodKind::kUnary, Message("demo", "Say"), Message("demo", "Method"))});
  std::string header = Unwrapped(GenerateHeader(model));
  EXPECT_THAT(header,
              HasSubstr("Forward(const ::other::pkg::Envelope& request, Outer_Inner* response,"));
  EXPECT_THAT(header, HasSubstr("Say(const ::demo::Say& request, ::demo::Method* response,"));
  std::string source = Unwrapped(GenerateSource(model));
  EXPECT_THAT(source, HasSubstr("WrapUnary<::other::pkg::Envelope, Outer_Inner>("));
  EXPECT_THAT(source, HasSubstr(".request_type = \"other.pkg.Envelope\""));
  EXPECT_THAT(source, HasSubstr(".response_type = \"demo.Outer.Inner\""));
}

TEST(Generator, FileWithoutPackageUsesTheGlobalNamespace) {
  ServiceModel model{
      .file_name = "ping.proto", .package = "", .pb_header = "ping.pb.h", .services = {}};
  model.services.push_back(ServiceDefinition{
      .name = "Pinger",
      .full_name = "Pinger",
      .comment = "",
      .methods = {Method("Ping", MethodKind::kUnary, Message("", "Ping"), Message("", "Pong"))}});
  std::string header = Unwrapped(GenerateHeader(model));
  EXPECT_THAT(header, Not(HasSubstr("namespace")));
  EXPECT_THAT(header, HasSubstr("kPingMethod = \"Pinger.Ping\";"));
  // "Ping" is also the method's name, so the request type is qualified.
  EXPECT_THAT(header, HasSubstr("Ping(const ::Ping& request, Pong* response,"));
}

TEST(Generator, FileWithoutServicesOnlyIncludesTheMessages) {
  ServiceModel model{
      .file_name = "types.proto", .package = "demo", .pb_header = "types.pb.h", .services = {}};
  EXPECT_EQ(GenerateHeader(model),
            "// Generated by protoc-gen-embed from types.proto. Do not edit.\n"
            "#pragma once\n\n#include \"types.pb.h\"\n");
  EXPECT_EQ(GenerateSource(model),
            "// Generated by protoc-gen-embed from types.proto. Do not edit.\n"
            "#include \"types.embed.h\"\n");
}

TEST(Generator, CopiesCommentsLineByLine) {
  MessageType text = Message("demo", "Text");
  ServiceModel model = DemoModel(
      {Method("Say", MethodKind::kUnary, text, text, " First line.\n\n Third line \\\n")});
  std::string header = GenerateHeader(model);
  // In the Client and in the Service; the trailing backslash would continue
  // the comment onto the next line.
  EXPECT_THAT(header, HasSubstr("    // First line.\n    //\n    // Third line\n"
                                "    ::embed::rpc::RpcStatus Say("));
  EXPECT_THAT(header, HasSubstr("    // First line.\n    //\n    // Third line\n"
                                "    virtual ::embed::rpc::RpcStatus Say("));
}

// With names of ordinary length (a type name too long for a line stays on one
// line).
TEST(Generator, WrapsLinesAtOneHundredColumns) {
  MessageType request = Message("demo", "ShelfRequest");
  MessageType response = Message("demo", "ShelfResponse");
  ServiceModel model =
      DemoModel({Method("GetShelfContents", MethodKind::kUnary, request, response),
                 Method("ExchangeShelves", MethodKind::kBidiStreaming, request, response),
                 Method("UploadShelves", MethodKind::kClientStreaming, request, response),
                 Method("WatchShelfContents", MethodKind::kServerStreaming, request, response)});
  for (const std::string& text : {GenerateHeader(model), GenerateSource(model)}) {
    std::istringstream lines(text);
    std::string line;
    while (std::getline(lines, line)) {
      EXPECT_LE(line.size(), 100u) << line;
    }
  }
}

TEST(Generator, IsDeterministic) {
  MessageType text = Message("demo", "Text");
  ServiceModel model = DemoModel({Method("Say", MethodKind::kUnary, text, text)});
  EXPECT_EQ(GenerateHeader(model), GenerateHeader(model));
  EXPECT_EQ(GenerateSource(model), GenerateSource(model));
}

// --- protoc + the plugin over testdata/*.proto against golden/ ---

namespace fs = std::filesystem;

std::string ReadFile(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

std::string ShellQuote(const std::string& text) {
  std::string quoted = "'";
  for (char c : text) {
    if (c == '\'') {
      quoted += "'\\''";
    } else {
      quoted += c;
    }
  }
  return quoted + "'";
}

std::vector<std::string> TestdataProtos() {
  std::vector<std::string> protos;
  std::string_view list = EMBED_PROTOC_TESTDATA_PROTOS;
  while (!list.empty()) {
    std::size_t bar = list.find('|');
    protos.emplace_back(list.substr(0, bar));
    list = bar == std::string_view::npos ? std::string_view() : list.substr(bar + 1);
  }
  return protos;
}

class ProtocGenEmbedGolden : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string pattern = (fs::temp_directory_path() / "protoc_gen_embed_XXXXXX").string();
    ASSERT_NE(mkdtemp(pattern.data()), nullptr);
    out_dir_ = pattern;
  }
  void TearDown() override {
    std::error_code ignored;
    fs::remove_all(out_dir_, ignored);
  }

  // Runs protoc with the plugin into `out`; the generated files by path
  // relative to `out`.
  std::map<std::string, std::string> RunProtoc(const fs::path& out) {
    fs::create_directories(out);
    fs::path log = out_dir_ / "protoc.log";
    std::string command =
        ShellQuote(EMBED_PROTOC) + " " +
        ShellQuote(std::string("--plugin=protoc-gen-embed=") + EMBED_PROTOC_GEN_EMBED) + " " +
        ShellQuote("--embed_out=" + out.string()) + " " +
        ShellQuote(std::string("-I") + EMBED_PROTOC_TESTDATA_DIR);
    for (const std::string& proto : TestdataProtos()) command += " " + ShellQuote(proto);
    command += " 2>" + ShellQuote(log.string());
    int status = std::system(command.c_str());
    EXPECT_EQ(status, 0) << command << "\n" << ReadFile(log);
    std::map<std::string, std::string> files;
    for (const fs::directory_entry& entry : fs::recursive_directory_iterator(out)) {
      if (entry.is_regular_file()) {
        files[fs::relative(entry.path(), out).string()] = ReadFile(entry.path());
      }
    }
    return files;
  }

  fs::path out_dir_;
};

TEST_F(ProtocGenEmbedGolden, OutputEqualsGoldenFiles) {
  std::map<std::string, std::string> generated = RunProtoc(out_dir_ / "generated");
  ASSERT_FALSE(generated.empty());
  fs::path golden_dir = EMBED_PROTOC_GOLDEN_DIR;
  const char* update = std::getenv("EMBED_UPDATE_GOLDENS");
  if (update != nullptr && std::string_view(update) == "1") {
    fs::remove_all(golden_dir);
    for (const auto& [name, text] : generated) {
      fs::path path = golden_dir / name;
      fs::create_directories(path.parent_path());
      std::ofstream(path, std::ios::binary) << text;
    }
    GTEST_SKIP() << "EMBED_UPDATE_GOLDENS=1: rewrote " << generated.size() << " files in "
                 << golden_dir.string() << "; review the diff";
  }
  std::map<std::string, std::string> golden;
  for (const fs::directory_entry& entry : fs::recursive_directory_iterator(golden_dir)) {
    if (entry.is_regular_file()) {
      golden[fs::relative(entry.path(), golden_dir).string()] = ReadFile(entry.path());
    }
  }
  const char* hint =
      "\nIf the change is intended: ninja embed_rpc_protoc_update_golden, then review the diff.";
  for (const auto& [name, text] : generated) {
    auto found = golden.find(name);
    if (found == golden.end()) {
      ADD_FAILURE() << "no golden file for generated " << name << hint;
      continue;
    }
    EXPECT_EQ(text, found->second) << "generated " << name << " differs from golden" << hint;
  }
  for (const auto& [name, text] : golden) {
    EXPECT_TRUE(generated.contains(name)) << "golden " << name << " is no longer generated" << hint;
  }
}

TEST_F(ProtocGenEmbedGolden, RunsGiveTheSameBytes) {
  EXPECT_EQ(RunProtoc(out_dir_ / "first"), RunProtoc(out_dir_ / "second"));
}

}  // namespace
}  // namespace embed::rpc::protoc
