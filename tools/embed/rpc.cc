// `embed rpc`: calls a method of a protobuf service served over NATS (Embed
// RPC) with a JSON request and prints the JSON response, like grpcurl; lists
// the NATS services that answer $SRV.INFO; describes the loaded services.
//
//   embed rpc --proto greeter.proto greeter.v1.Greeter.SayHello '{"name":"Ann"}'
//   embed rpc --list
//
// A call that fails with an RPC status prints "ERROR: <CODE>: <message>" on
// stderr and exits with 64 + the gRPC code number (grpcurl's convention), so
// it never collides with 1 (other runtime failures) or 2 (usage errors).

#include <google/protobuf/compiler/importer.h>
#include <google/protobuf/descriptor.h>
#include <google/protobuf/descriptor.pb.h>
#include <google/protobuf/descriptor_database.h>
#include <google/protobuf/dynamic_message.h>
#include <google/protobuf/util/json_util.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <iterator>
#include <memory>
#include <mutex>
#include <set>
#include <sstream>
#include <string>
#include <string_view>
#include <thread>
#include <tuple>
#include <vector>

#include "embed/client/connection.h"
#include "embed/rpc/call_options.h"
#include "embed/rpc/channel.h"
#include "embed/rpc/micro.h"
#include "embed/rpc/rpc_status.h"
#include "tools/embed/command.h"
#include "tools/embed/common_flags.h"
#include "tools/embed/flag_parsing.h"

namespace embed::tools {
namespace {

namespace protobuf = google::protobuf;

// grpcurl exits with 64 + the status code when the RPC fails.
constexpr int kExitRpcErrorBase = 64;
constexpr std::chrono::milliseconds kDefaultCallTimeout{10'000};
constexpr std::chrono::milliseconds kDefaultListTimeout{1'000};

struct RpcFlags {
  ConnectFlags connect;
  std::vector<std::string> protos;
  std::vector<std::string> import_paths;
  std::vector<std::string> descriptor_sets;
  // The method to call, or the service/method to --describe, or the $SRV
  // name to --list.
  std::string target;
  // JSON of the request ("-" = stdin); absent = "{}" for one request, stdin
  // for client and bidi streaming.
  std::string request;
  bool has_request = false;
  std::vector<std::string> headers;
  std::chrono::milliseconds timeout = kDefaultCallTimeout;
  bool has_timeout = false;
  bool list = false;
  bool describe = false;
  bool emit_defaults = false;
  bool compact = false;
};

// Collects the parse errors of .proto files, for one error message.
class ProtoErrorCollector : public protobuf::compiler::MultiFileErrorCollector {
 public:
  void AddError(const std::string& filename, int line, int column,
                const std::string& message) override {
    if (!text_.empty()) text_ += "; ";
    // protobuf numbers lines and columns from 0.
    text_ += filename + ":" + std::to_string(line + 1) + ":" + std::to_string(column + 1) + ": " +
             message;
  }
  const std::string& text() const { return text_; }

 private:
  std::string text_;
};

// The descriptors of the --proto files (parsed from source) or of the
// --descriptor-set files (FileDescriptorSets, resolved lazily, so the files
// may come in any order).
class Descriptors {
 public:
  static Result<std::unique_ptr<Descriptors>> Load(const RpcFlags& flags) {
    auto descriptors = std::unique_ptr<Descriptors>(new Descriptors());
    Status loaded = flags.protos.empty() ? descriptors->LoadDescriptorSets(flags.descriptor_sets)
                                         : descriptors->LoadProtos(flags);
    if (!loaded.ok()) return loaded;
    return descriptors;
  }

  const protobuf::DescriptorPool& pool() const {
    return importer_ != nullptr ? *importer_->pool() : *pool_;
  }
  const std::vector<const protobuf::FileDescriptor*>& files() const { return files_; }

  // Every service of the loaded files (not of their imports).
  std::vector<const protobuf::ServiceDescriptor*> Services() const {
    std::vector<const protobuf::ServiceDescriptor*> services;
    for (const protobuf::FileDescriptor* file : files_) {
      for (int i = 0; i < file->service_count(); ++i) services.push_back(file->service(i));
    }
    return services;
  }

 private:
  Descriptors() = default;

  Status LoadProtos(const RpcFlags& flags) {
    source_tree_ = std::make_unique<protobuf::compiler::DiskSourceTree>();
    if (flags.import_paths.empty()) {
      source_tree_->MapPath("", ".");
    } else {
      for (const std::string& path : flags.import_paths) source_tree_->MapPath("", path);
    }
    // A file given outside every import path is found through its own folder.
    std::vector<std::string> virtual_files;
    for (const std::string& proto : flags.protos) {
      std::unique_ptr<protobuf::io::ZeroCopyInputStream> as_virtual(source_tree_->Open(proto));
      if (as_virtual != nullptr) {
        virtual_files.push_back(proto);
        continue;
      }
      std::string virtual_file;
      std::string shadowing_file;
      switch (source_tree_->DiskFileToVirtualFile(proto, &virtual_file, &shadowing_file)) {
        case protobuf::compiler::DiskSourceTree::SUCCESS:
          virtual_files.push_back(virtual_file);
          break;
        case protobuf::compiler::DiskSourceTree::SHADOWED:
          return InvalidArgumentError(proto + " is shadowed by " + shadowing_file +
                                      " in the import paths");
        case protobuf::compiler::DiskSourceTree::CANNOT_OPEN:
          return NotFoundError("cannot open " + proto);
        case protobuf::compiler::DiskSourceTree::NO_MAPPING: {
          const std::filesystem::path path(proto);
          if (!std::filesystem::is_regular_file(path)) return NotFoundError("cannot open " + proto);
          const std::string folder = path.has_parent_path() ? path.parent_path().string() : ".";
          source_tree_->MapPath("", folder);
          virtual_files.push_back(path.filename().string());
          break;
        }
      }
    }
#ifdef EMBED_PROTOBUF_INCLUDE_DIR
    // Last, so the user's paths win: google/protobuf/*.proto (well-known types).
    source_tree_->MapPath("", EMBED_PROTOBUF_INCLUDE_DIR);
#endif
    errors_ = std::make_unique<ProtoErrorCollector>();
    importer_ = std::make_unique<protobuf::compiler::Importer>(source_tree_.get(), errors_.get());
    for (const std::string& virtual_file : virtual_files) {
      const protobuf::FileDescriptor* file = importer_->Import(virtual_file);
      if (file == nullptr) {
        return InvalidArgumentError("cannot load " + virtual_file + ": " +
                                    (errors_->text().empty() ? "not found" : errors_->text()));
      }
      files_.push_back(file);
    }
    return Status::Ok();
  }

  Status LoadDescriptorSets(const std::vector<std::string>& paths) {
    database_ = std::make_unique<protobuf::SimpleDescriptorDatabase>();
    std::vector<std::string> names;
    std::set<std::string> seen;
    for (const std::string& path : paths) {
      std::ifstream in(path, std::ios::binary);
      if (!in) return NotFoundError("cannot open " + path);
      const std::string bytes((std::istreambuf_iterator<char>(in)),
                              std::istreambuf_iterator<char>());
      protobuf::FileDescriptorSet set;
      if (!set.ParseFromString(bytes)) {
        return InvalidArgumentError(path +
                                    " is not a FileDescriptorSet (protoc --descriptor_set_out)");
      }
      for (const protobuf::FileDescriptorProto& file : set.file()) {
        // Several sets may carry the same import; the first copy wins.
        if (!seen.insert(file.name()).second) continue;
        if (!database_->Add(file)) return InvalidArgumentError("cannot add " + file.name());
        names.push_back(file.name());
      }
    }
    pool_ = std::make_unique<protobuf::DescriptorPool>(database_.get());
    for (const std::string& name : names) {
      const protobuf::FileDescriptor* file = pool_->FindFileByName(name);
      if (file == nullptr) {
        return InvalidArgumentError("cannot build " + name +
                                    " (missing imports? use protoc --include_imports)");
      }
      files_.push_back(file);
    }
    return Status::Ok();
  }

  std::unique_ptr<protobuf::compiler::DiskSourceTree> source_tree_;
  std::unique_ptr<ProtoErrorCollector> errors_;
  std::unique_ptr<protobuf::compiler::Importer> importer_;
  std::unique_ptr<protobuf::SimpleDescriptorDatabase> database_;
  std::unique_ptr<protobuf::DescriptorPool> pool_;
  std::vector<const protobuf::FileDescriptor*> files_;
};

// "pkg.Service/Method" or "/pkg.Service/Method" (gRPC's path) -> "pkg.Service.Method".
std::string NormalizeMethodName(std::string name) {
  if (!name.empty() && name.front() == '/') name.erase(0, 1);
  const std::size_t slash = name.rfind('/');
  if (slash != std::string::npos) name[slash] = '.';
  return name;
}

rpc::MethodKind KindOf(const protobuf::MethodDescriptor& method) {
  if (method.client_streaming()) {
    return method.server_streaming() ? rpc::MethodKind::kBidiStreaming
                                     : rpc::MethodKind::kClientStreaming;
  }
  return method.server_streaming() ? rpc::MethodKind::kServerStreaming : rpc::MethodKind::kUnary;
}

std::string Signature(const protobuf::MethodDescriptor& method) {
  return "rpc " + method.name() + "(" + (method.client_streaming() ? "stream " : "") +
         method.input_type()->full_name() + ") returns (" +
         (method.server_streaming() ? "stream " : "") + method.output_type()->full_name() + ");";
}

std::string ServiceNames(const Descriptors& descriptors) {
  std::string names;
  for (const protobuf::ServiceDescriptor* service : descriptors.Services()) {
    if (!names.empty()) names += ", ";
    names += service->full_name();
  }
  return names.empty() ? "none" : names;
}

// Converts between JSON and the wire bytes of one message type.
class JsonCodec {
 public:
  JsonCodec(const protobuf::DescriptorPool& pool, const RpcFlags& flags) : factory_(&pool) {
    print_options_.add_whitespace = !flags.compact;
    print_options_.always_print_primitive_fields = flags.emit_defaults;
    // lowerCamelCase names, as grpcurl prints them.
    print_options_.preserve_proto_field_names = false;
  }

  Result<std::string> JsonToBytes(const protobuf::Descriptor& type, const std::string& json) {
    std::unique_ptr<protobuf::Message> message(factory_.GetPrototype(&type)->New());
    const auto status = protobuf::util::JsonStringToMessage(json, message.get());
    if (!status.ok()) {
      return InvalidArgumentError("the request is not a JSON " + type.full_name() + ": " +
                                  std::string(status.message()));
    }
    return message->SerializeAsString();
  }

  Result<std::string> BytesToJson(const protobuf::Descriptor& type, const std::string& bytes) {
    std::unique_ptr<protobuf::Message> message(factory_.GetPrototype(&type)->New());
    if (!message->ParseFromString(bytes)) {
      return ProtocolError("the response is not a valid " + type.full_name());
    }
    std::string json;
    const auto status = protobuf::util::MessageToJsonString(*message, &json, print_options_);
    if (!status.ok()) {
      return ProtocolError("cannot print the response as JSON: " + std::string(status.message()));
    }
    if (json.empty() || json.back() != '\n') json.push_back('\n');
    return json;
  }

 private:
  protobuf::DynamicMessageFactory factory_;
  protobuf::util::JsonPrintOptions print_options_;
};

void PrintJson(const std::string& json) {
  std::fwrite(json.data(), 1, json.size(), stdout);
  std::fflush(stdout);
}

// The request text of a one-request call: the argument, stdin for "-", or "{}".
std::string SingleRequestText(const RpcFlags& flags) {
  if (!flags.has_request) return "{}";
  if (flags.request != "-") return flags.request;
  return std::string(std::istreambuf_iterator<char>(std::cin), std::istreambuf_iterator<char>());
}

// Reads the next non-blank request line of a streaming call: from the
// argument when one is given (one JSON object per line), else from stdin.
class RequestLines {
 public:
  explicit RequestLines(const RpcFlags& flags)
      : from_argument_(flags.has_request && flags.request != "-"), argument_(flags.request) {}

  bool Next(std::string* line) {
    while (from_argument_ ? static_cast<bool>(std::getline(argument_, *line))
                          : static_cast<bool>(std::getline(std::cin, *line))) {
      if (line->find_first_not_of(" \t\r") != std::string::npos) return true;
    }
    return false;
  }

 private:
  bool from_argument_;
  std::istringstream argument_;
};

rpc::RpcStatus CallOneRequest(rpc::Channel& channel, const protobuf::MethodDescriptor& method,
                              const std::string& request, const rpc::CallOptions& options,
                              JsonCodec& codec) {
  const protobuf::Descriptor& output = *method.output_type();
  if (!method.server_streaming()) {
    std::string response;
    rpc::RpcStatus status = channel.CallUnary(method.full_name(), request, &response, options);
    if (!status.ok()) return status;
    Result<std::string> json = codec.BytesToJson(output, response);
    if (!json.ok()) {
      return rpc::RpcStatus(rpc::RpcCode::kInternal, std::string(json.status().message()));
    }
    PrintJson(*json);
    return rpc::RpcStatus::Ok();
  }
  std::unique_ptr<rpc::ClientStream> stream =
      channel.OpenStream(method.full_name(), rpc::MethodKind::kServerStreaming, request, options);
  std::string message;
  while (stream->Read(&message)) {
    Result<std::string> json = codec.BytesToJson(output, message);
    if (!json.ok()) {
      stream->Abort(rpc::RpcStatus(rpc::RpcCode::kInternal, std::string(json.status().message())));
      break;
    }
    PrintJson(*json);
  }
  return stream->Finish();
}

// Client- and bidi-streaming: the requests are written from this thread while
// another prints what the server sends.
rpc::RpcStatus CallStreamingRequests(rpc::Channel& channel,
                                     const protobuf::MethodDescriptor& method,
                                     const RpcFlags& flags, const rpc::CallOptions& options,
                                     JsonCodec& codec) {
  std::unique_ptr<rpc::ClientStream> stream =
      channel.OpenStream(method.full_name(), KindOf(method), "", options);
  std::thread printer([&stream, &codec, &method] {
    std::string message;
    while (stream->Read(&message)) {
      Result<std::string> json = codec.BytesToJson(*method.output_type(), message);
      if (!json.ok()) {
        stream->Abort(
            rpc::RpcStatus(rpc::RpcCode::kInternal, std::string(json.status().message())));
        return;
      }
      PrintJson(*json);
    }
  });
  RequestLines lines(flags);
  std::string line;
  int line_number = 0;
  while (lines.Next(&line)) {
    ++line_number;
    Result<std::string> request = codec.JsonToBytes(*method.input_type(), line);
    if (!request.ok()) {
      stream->Abort(rpc::RpcStatus(rpc::RpcCode::kInvalidArgument,
                                   "request " + std::to_string(line_number) + ": " +
                                       std::string(request.status().message())));
      break;
    }
    // Not OK once the call is over; Finish() then says why.
    if (!stream->Write(*request).ok()) break;
  }
  stream->WritesDone().IgnoreError();
  printer.join();
  return stream->Finish();
}

// Runs the call; an RPC failure is the returned RpcStatus, anything before
// the call (flags, descriptors, connection) the returned Status.
Result<rpc::RpcStatus> RunCall(const RpcFlags& flags) {
  if (flags.target.empty()) {
    return InvalidArgumentError(
        "give the method to call (package.Service.Method), --list or --describe");
  }
  if (flags.protos.empty() && flags.descriptor_sets.empty()) {
    return InvalidArgumentError("give the service's --proto files or a --descriptor-set");
  }
  EMBED_ASSIGN_OR_RETURN(std::unique_ptr<Descriptors> descriptors, Descriptors::Load(flags));
  const std::string method_name = NormalizeMethodName(flags.target);
  const protobuf::MethodDescriptor* method = descriptors->pool().FindMethodByName(method_name);
  if (method == nullptr) {
    return NotFoundError("no method " + method_name +
                         " in the descriptors (services: " + ServiceNames(*descriptors) + ")");
  }
  JsonCodec codec(descriptors->pool(), flags);
  rpc::CallOptions options;
  options.timeout = flags.timeout;
  EMBED_ASSIGN_OR_RETURN(options.metadata, BuildHeaders(flags.headers));

  // Convert the single request before connecting: a typo is a usage error.
  std::string request;
  if (!method->client_streaming()) {
    EMBED_ASSIGN_OR_RETURN(request,
                           codec.JsonToBytes(*method->input_type(), SingleRequestText(flags)));
  }
  EMBED_ASSIGN_OR_RETURN(std::unique_ptr<client::Connection> connection,
                         Connect(flags.connect, "embed rpc", Reconnect::kNever));
  rpc::RpcStatus status;
  {
    rpc::Channel channel(*connection);
    status = method->client_streaming()
                 ? CallStreamingRequests(channel, *method, flags, options, codec)
                 : CallOneRequest(channel, *method, request, options, codec);
  }
  connection->Close();
  return status;
}

Status RunList(const RpcFlags& flags) {
  const std::chrono::milliseconds timeout = flags.has_timeout ? flags.timeout : kDefaultListTimeout;
  EMBED_ASSIGN_OR_RETURN(std::unique_ptr<client::Connection> connection,
                         Connect(flags.connect, "embed rpc", Reconnect::kNever));
  std::string subject = "$SRV.INFO";
  if (!flags.target.empty()) subject += "." + flags.target;
  // nats-wire.md §9.1: every instance answers to the reply subject; collect
  // until the timeout, since the number of instances is unknown.
  std::mutex mutex;
  std::vector<std::string> replies;
  const std::string inbox = connection->NewInbox();
  EMBED_ASSIGN_OR_RETURN(std::unique_ptr<client::Subscription> subscription,
                         connection->Subscribe(inbox, [&](const client::Message& message) {
                           std::lock_guard<std::mutex> lock(mutex);
                           replies.push_back(message.payload);
                         }));
  EMBED_RETURN_IF_ERROR(connection->Publish(subject, ByteView(), inbox));
  std::this_thread::sleep_for(timeout);
  // No handler runs after Close(), so `replies` is ours again.
  connection->Close();
  subscription.reset();

  std::vector<rpc::micro::InfoResponse> services;
  for (const std::string& reply : replies) {
    Result<rpc::micro::InfoResponse> info = rpc::micro::ParseInfoResponse(reply);
    if (!info.ok()) {
      std::fprintf(stderr, "embed rpc: ignoring a reply: %s\n",
                   std::string(info.status().message()).c_str());
      continue;
    }
    services.push_back(std::move(*info));
  }
  if (services.empty()) {
    return NotFoundError("no service answered on " + subject + " within " +
                         FormatDuration(timeout));
  }
  std::sort(services.begin(), services.end(), [](const auto& a, const auto& b) {
    return std::tie(a.service.name, a.service.id) < std::tie(b.service.name, b.service.id);
  });
  std::string out;
  for (const rpc::micro::InfoResponse& info : services) {
    out += info.service.name + " " + info.service.version + " (id " + info.service.id + ")\n";
    const auto embed_service = info.service.metadata.find("embed.service");
    if (embed_service != info.service.metadata.end()) {
      out += "  service: " + embed_service->second + "\n";
    }
    if (!info.description.empty()) out += "  description: " + info.description + "\n";
    for (const rpc::micro::EndpointInfo& endpoint : info.endpoints) {
      out += "  " + endpoint.subject;
      const auto kind = endpoint.metadata.find("embed.kind");
      if (kind != endpoint.metadata.end()) out += " (" + kind->second + ")";
      out += "\n";
    }
  }
  std::fwrite(out.data(), 1, out.size(), stdout);
  std::fflush(stdout);
  return Status::Ok();
}

void AppendService(const protobuf::ServiceDescriptor& service, std::string& out) {
  out += "service " + service.full_name() + " {\n";
  for (int i = 0; i < service.method_count(); ++i) {
    out += "  " + Signature(*service.method(i)) + "\n";
  }
  out += "}\n";
}

Status RunDescribe(const RpcFlags& flags) {
  if (flags.protos.empty() && flags.descriptor_sets.empty()) {
    return InvalidArgumentError("--describe needs --proto files or a --descriptor-set");
  }
  EMBED_ASSIGN_OR_RETURN(std::unique_ptr<Descriptors> descriptors, Descriptors::Load(flags));
  std::string out;
  if (flags.target.empty()) {
    for (const protobuf::ServiceDescriptor* service : descriptors->Services()) {
      AppendService(*service, out);
    }
  } else if (const protobuf::ServiceDescriptor* service =
                 descriptors->pool().FindServiceByName(flags.target)) {
    AppendService(*service, out);
  } else if (const protobuf::MethodDescriptor* method =
                 descriptors->pool().FindMethodByName(NormalizeMethodName(flags.target))) {
    out += Signature(*method) + "\n\n" + method->input_type()->DebugString() + "\n" +
           method->output_type()->DebugString();
  } else {
    return NotFoundError("no service or method " + flags.target +
                         " in the descriptors (services: " + ServiceNames(*descriptors) + ")");
  }
  std::fwrite(out.data(), 1, out.size(), stdout);
  std::fflush(stdout);
  return Status::Ok();
}

Status RunRpc(const RpcFlags& flags) {
  if (flags.list) return RunList(flags);
  if (flags.describe) return RunDescribe(flags);
  Result<rpc::RpcStatus> outcome = RunCall(flags);
  if (!outcome.ok()) return outcome.status();
  if (outcome->ok()) return Status::Ok();
  // Everything is closed by now; the exit code carries the RPC code, which a
  // Status cannot (see command.h), so exit here.
  std::fprintf(stderr, "ERROR: %s: %s\n", std::string(rpc::RpcCodeName(outcome->code())).c_str(),
               outcome->message().c_str());
  std::fflush(stdout);
  std::fflush(stderr);
  std::exit(kExitRpcErrorBase + static_cast<int>(outcome->code()));
}

}  // namespace

void AddRpcCommand(CLI::App& app, CommandAction& action) {
  CLI::App* command =
      app.add_subcommand("rpc", "Call a protobuf service method with JSON, or list NATS services");
  // Shared because the flags must outlive this function until the action runs.
  auto flags = std::make_shared<RpcFlags>();
  command->add_option("method", flags->target,
                      "package.Service.Method (or package.Service/Method) to call; the service "
                      "or method with --describe; a $SRV name with --list");
  CLI::Option* request = command->add_option(
      "request", flags->request,
      "JSON request (default {}; '-' reads stdin); client/bidi streaming: one JSON object per "
      "line, from stdin when absent");
  AddConnectFlags(*command, flags->connect);
  // One value per flag occurrence, so the positionals after it stay positionals.
  const auto repeatable = [](CLI::Option* option) {
    return option->expected(1)->allow_extra_args(false)->multi_option_policy(
        CLI::MultiOptionPolicy::TakeAll);
  };
  // Not checked as an existing file: it may be relative to an import path.
  CLI::Option* proto = repeatable(command->add_option(
      "--proto", flags->protos, ".proto file declaring the service (repeatable)"));
  repeatable(command->add_option("-I,--import-path", flags->import_paths,
                                 "Folder to resolve proto imports from (repeatable; default .)"))
      ->check(CLI::ExistingDirectory);
  CLI::Option* descriptor_set =
      repeatable(command->add_option(
                     "--descriptor-set", flags->descriptor_sets,
                     "FileDescriptorSet file (protoc --descriptor_set_out --include_imports), "
                     "instead of --proto (repeatable)"))
          ->check(CLI::ExistingFile);
  proto->excludes(descriptor_set);
  AddHeaderOption(*command, flags->headers)->description("Call metadata 'Key: Value' (repeatable)");
  CLI::Option* timeout = AddDurationOption(
      *command, "--timeout,-t", flags->timeout,
      "Deadline of the call (default 10s; 0 = none for streams), or how long --list collects "
      "replies (default 1s)");
  timeout->default_str("");
  CLI::Option* list =
      command->add_flag("--list", flags->list, "List the NATS services answering $SRV.INFO");
  CLI::Option* describe = command->add_flag(
      "--describe", flags->describe, "Print the services (or one service or method) of the protos");
  list->excludes(describe);
  command->add_flag("--emit-defaults", flags->emit_defaults,
                    "Print fields that have their default value");
  command->add_flag("--compact", flags->compact, "Print each response on one line");
  command->callback([flags, request, timeout, &action] {
    flags->has_request = request->count() > 0;
    flags->has_timeout = timeout->count() > 0;
    action = [flags] { return RunRpc(*flags); };
  });
}

}  // namespace embed::tools
