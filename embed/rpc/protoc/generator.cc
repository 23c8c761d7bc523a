#include "embed/rpc/protoc/generator.h"

#include <algorithm>
#include <cstddef>
#include <set>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace embed::rpc::protoc {
namespace {

// The generated code is wrapped like the rest of the repo (clang-format, Google
// style, 100 columns), so a reader of the header sees familiar code.
constexpr std::size_t kMaxColumns = 100;

// Members of embed::rpc::Service, which Greeter::Service inherits: a message
// type of the same name must be written fully qualified inside the class.
constexpr std::string_view kServiceBaseMembers[] = {"Method",
                                                    "full_name",
                                                    "methods",
                                                    "FindMethod",
                                                    "Add",
                                                    "AddUnary",
                                                    "AddServerStreaming",
                                                    "AddClientStreaming",
                                                    "AddBidiStreaming"};

std::string Join(const std::vector<std::string>& parts, std::string_view separator) {
  std::string result;
  for (std::size_t i = 0; i < parts.size(); ++i) {
    if (i > 0) result += separator;
    result += parts[i];
  }
  return result;
}

// Lays `params` out greedily after `first_line`, continuing on lines that
// start with `continuation`; the last param is followed by `tail`.
std::vector<std::string> PackParams(std::string first_line, const std::string& continuation,
                                    const std::vector<std::string>& params, std::string_view tail) {
  std::vector<std::string> lines;
  std::string line = std::move(first_line);
  bool has_param = false;
  for (std::size_t i = 0; i < params.size(); ++i) {
    std::string piece = params[i] + std::string(i + 1 == params.size() ? tail : ",");
    if (has_param && line.size() + 1 + piece.size() > kMaxColumns) {
      lines.push_back(line);
      line = continuation;
      has_param = false;
    }
    if (has_param) line += ' ';
    line += piece;
    has_param = true;
  }
  lines.push_back(line);
  return lines;
}

bool FitsColumns(const std::vector<std::string>& lines) {
  return std::all_of(lines.begin(), lines.end(),
                     [](const std::string& line) { return line.size() <= kMaxColumns; });
}

// Appends `head` + `params` (comma-separated) + `tail` on one line, or
// wrapped at kMaxColumns as clang-format would: continuation lines aligned
// after the '(' ending `head`, or, when that needs more lines (or does not
// fit), a break after the '(' and continuation lines 4 columns in.
void AppendWrapped(std::string& out, std::string_view indent, std::string_view head,
                   const std::vector<std::string>& params, std::string_view tail) {
  std::string start = std::string(indent) + std::string(head);
  std::string one_line = start + Join(params, ", ") + std::string(tail);
  std::vector<std::string> lines;
  if (one_line.size() <= kMaxColumns || params.empty()) {
    lines = {one_line};
  } else {
    std::vector<std::string> aligned =
        PackParams(start, std::string(start.size(), ' '), params, tail);
    std::string indented(indent.size() + 4, ' ');
    std::vector<std::string> broken = PackParams(indented, indented, params, tail);
    broken.insert(broken.begin(), start);
    bool prefer_aligned = FitsColumns(aligned) && aligned.size() <= broken.size();
    lines = prefer_aligned ? aligned : broken;
  }
  for (const std::string& line : lines) {
    out += line;
    out += '\n';
  }
}

// Appends a function declaration or definition head: `return_type name(params)`
// + `tail`, wrapped by AppendWrapped, with the return type on a line of its
// own when even `return_type name(` does not fit.
void AppendFunction(std::string& out, std::string_view indent, const std::string& return_type,
                    const std::string& name, const std::vector<std::string>& params,
                    std::string_view tail) {
  std::string head = return_type + " " + name + "(";
  if (indent.size() + head.size() <= kMaxColumns) {
    AppendWrapped(out, indent, head, params, tail);
    return;
  }
  out += std::string(indent) + return_type + "\n";
  AppendWrapped(out, indent, name + "(", params, tail);
}

// Appends a .proto comment as // lines. protoc gives "// Says hello." as
// " Says hello.\n".
void AppendComment(std::string& out, std::string_view indent, std::string_view comment) {
  while (!comment.empty() && (comment.back() == '\n' || comment.back() == ' ')) {
    comment.remove_suffix(1);
  }
  if (comment.empty()) return;
  std::size_t start = 0;
  while (start <= comment.size()) {
    std::size_t end = comment.find('\n', start);
    if (end == std::string_view::npos) end = comment.size();
    std::string_view line = comment.substr(start, end - start);
    // A trailing backslash would splice the next line into the comment.
    while (!line.empty() && (line.back() == ' ' || line.back() == '\t' || line.back() == '\r' ||
                             line.back() == '\\')) {
      line.remove_suffix(1);
    }
    out += indent;
    out += "//";
    if (!line.empty()) {
      if (line.front() != ' ') out += ' ';
      out += line;
    }
    out += '\n';
    start = end + 1;
  }
}

// How the code generated for one service writes names.
class ServiceNames {
 public:
  ServiceNames(const ServiceModel& model, const ServiceDefinition& service) : service_(service) {
    if (!model.package.empty()) namespace_prefix_ = "::" + CppNamespace(model.package);
    namespace_prefix_ += "::";
    package_ = model.package;
    // Names visible inside the service's class, which would hide a message
    // type of the same package written without qualification.
    taken_ = {"Client", "Service", "kServiceName", service.name};
    taken_.insert(std::begin(kServiceBaseMembers), std::end(kServiceBaseMembers));
    for (const MethodModel& method : service.methods) {
      taken_.insert(method.name);
      taken_.insert(method.name + "Async");
      taken_.insert(MethodConstant(method));
    }
  }

  // A message type as written inside the service's class: relative when it
  // is in the file's package and nothing in the class hides it, else fully
  // qualified.
  std::string Type(const MessageType& type) const {
    if (type.package == package_ && type.cpp_name.starts_with(namespace_prefix_)) {
      std::string relative = type.cpp_name.substr(namespace_prefix_.size());
      if (relative.find("::") == std::string::npos && !taken_.contains(relative)) {
        return relative;
      }
    }
    return type.cpp_name;
  }

  static std::string MethodConstant(const MethodModel& method) {
    return "k" + method.name + "Method";
  }

  const ServiceDefinition& service() const { return service_; }

 private:
  const ServiceDefinition& service_;
  std::string package_;
  std::string namespace_prefix_;
  std::set<std::string, std::less<>> taken_;
};

constexpr std::string_view kOptionsWithDefault = "const ::embed::rpc::CallOptions& options = {}";
constexpr std::string_view kOptions = "const ::embed::rpc::CallOptions& options";

std::string KindEnumerator(MethodKind kind) {
  switch (kind) {
    case MethodKind::kUnary:
      return "::embed::rpc::MethodKind::kUnary";
    case MethodKind::kServerStreaming:
      return "::embed::rpc::MethodKind::kServerStreaming";
    case MethodKind::kClientStreaming:
      return "::embed::rpc::MethodKind::kClientStreaming";
    case MethodKind::kBidiStreaming:
      return "::embed::rpc::MethodKind::kBidiStreaming";
  }
  return "";
}

// "Unary", "ServerStreaming", ...: the suffix of Service::Add* and Wrap*.
std::string_view KindSuffix(MethodKind kind) {
  switch (kind) {
    case MethodKind::kUnary:
      return "Unary";
    case MethodKind::kServerStreaming:
      return "ServerStreaming";
    case MethodKind::kClientStreaming:
      return "ClientStreaming";
    case MethodKind::kBidiStreaming:
      return "BidiStreaming";
  }
  return "";
}

// The client stub's return type (unary calls: RpcStatus).
std::string ClientReturnType(const ServiceNames& names, const MethodModel& method) {
  std::string request = names.Type(method.request);
  std::string response = names.Type(method.response);
  switch (method.kind) {
    case MethodKind::kUnary:
      return "::embed::rpc::RpcStatus";
    case MethodKind::kServerStreaming:
      return "std::unique_ptr<::embed::rpc::ClientReader<" + response + ">>";
    case MethodKind::kClientStreaming:
      return "std::unique_ptr<::embed::rpc::ClientWriter<" + request + ", " + response + ">>";
    case MethodKind::kBidiStreaming:
      return "std::unique_ptr<::embed::rpc::ClientReaderWriter<" + request + ", " + response + ">>";
  }
  return "";
}

// The client stub's parameters (for unary calls, of the blocking one).
std::vector<std::string> ClientParams(const ServiceNames& names, const MethodModel& method,
                                      bool with_defaults) {
  std::string options(with_defaults ? kOptionsWithDefault : kOptions);
  switch (method.kind) {
    case MethodKind::kUnary:
      return {"const " + names.Type(method.request) + "& request",
              names.Type(method.response) + "* response", options};
    case MethodKind::kServerStreaming:
      return {"const " + names.Type(method.request) + "& request", options};
    case MethodKind::kClientStreaming:
    case MethodKind::kBidiStreaming:
      return {options};
  }
  return {};
}

std::vector<std::string> AsyncParams(const ServiceNames& names, const MethodModel& method,
                                     bool with_defaults) {
  return {"const " + names.Type(method.request) + "& request",
          "std::function<void(::embed::rpc::RpcStatus, " + names.Type(method.response) + ")> done",
          std::string(with_defaults ? kOptionsWithDefault : kOptions)};
}

// The parameters of the Service's virtual method; unnamed for the default
// implementation, which uses none of them.
std::vector<std::string> ServerParams(const ServiceNames& names, const MethodModel& method,
                                      bool named) {
  std::string request = names.Type(method.request);
  std::string response = names.Type(method.response);
  auto param = [named](std::string type, std::string_view name) {
    if (named) {
      type += ' ';
      type += name;
    }
    return type;
  };
  std::string context = param("::embed::rpc::ServerContext&", "context");
  switch (method.kind) {
    case MethodKind::kUnary:
      return {context, param("const " + request + "&", "request"),
              param(response + "*", "response")};
    case MethodKind::kServerStreaming:
      return {context, param("const " + request + "&", "request"),
              param("::embed::rpc::ServerWriter<" + response + ">&", "writer")};
    case MethodKind::kClientStreaming:
      return {context, param("::embed::rpc::ServerReader<" + request + ">&", "reader"),
              param(response + "*", "response")};
    case MethodKind::kBidiStreaming:
      return {context, param("::embed::rpc::ServerReaderWriter<" + response + ", " + request + ">&",
                             "stream")};
  }
  return {};
}

// The argument names ServerParams() gives, as the call forwarding them.
std::string ServerArguments(MethodKind kind) {
  switch (kind) {
    case MethodKind::kUnary:
      return "context, request, response";
    case MethodKind::kServerStreaming:
      return "context, request, writer";
    case MethodKind::kClientStreaming:
      return "context, reader, response";
    case MethodKind::kBidiStreaming:
      return "context, stream";
  }
  return "";
}

void AppendServiceDeclaration(std::string& out, const ServiceNames& names) {
  const ServiceDefinition& service = names.service();
  AppendComment(out, "", service.comment);
  out += "class " + service.name + " final {\n";
  out += " public:\n";
  out += "  static constexpr std::string_view kServiceName = \"" + service.full_name + "\";\n";
  for (const MethodModel& method : service.methods) {
    AppendWrapped(
        out, "  ",
        "static constexpr std::string_view " + ServiceNames::MethodConstant(method) + " = ",
        {"\"" + service.full_name + "." + method.name + "\""}, ";");
  }

  out += "\n  // Calls " + service.full_name + ". Thread-safe; the Channel must outlive it.\n";
  out += "  class Client {\n";
  out += "   public:\n";
  out += "    explicit Client(::embed::rpc::Channel& channel) : channel_(channel) {}\n";
  for (const MethodModel& method : service.methods) {
    out += '\n';
    AppendComment(out, "    ", method.comment);
    AppendFunction(out, "    ", ClientReturnType(names, method), method.name,
                   ClientParams(names, method, true), ");");
    if (method.kind == MethodKind::kUnary) {
      AppendWrapped(out, "    ", "void " + method.name + "Async(", AsyncParams(names, method, true),
                    ");");
    }
  }
  out += "\n   private:\n";
  out += "    ::embed::rpc::Channel& channel_;\n";
  out += "  };\n";

  out += "\n  // Serves " + service.full_name + ": derive from it, override the methods\n";
  out += "  // served and add it to an embed::rpc::ServiceHost. The other methods\n";
  out += "  // answer UNIMPLEMENTED.\n";
  out += "  class Service : public ::embed::rpc::Service {\n";
  out += "   public:\n";
  out += "    Service();\n";
  for (const MethodModel& method : service.methods) {
    out += '\n';
    AppendComment(out, "    ", method.comment);
    AppendWrapped(out, "    ", "virtual ::embed::rpc::RpcStatus " + method.name + "(",
                  ServerParams(names, method, true), ");");
  }
  out += "  };\n";
  out += "};\n";
}

void AppendClientDefinitions(std::string& out, const ServiceNames& names) {
  const ServiceDefinition& service = names.service();
  std::string scope = service.name + "::Client::";
  for (const MethodModel& method : service.methods) {
    std::string constant = ServiceNames::MethodConstant(method);
    std::string request = names.Type(method.request);
    std::string response = names.Type(method.response);
    out += '\n';
    AppendFunction(out, "", ClientReturnType(names, method), scope + method.name,
                   ClientParams(names, method, false), ") {");
    switch (method.kind) {
      case MethodKind::kUnary:
        AppendWrapped(out, "  ", "return ::embed::rpc::CallUnary(",
                      {"channel_", constant, "request", "response", "options"}, ");");
        out += "}\n\n";
        AppendWrapped(out, "", "void " + scope + method.name + "Async(",
                      AsyncParams(names, method, false), ") {");
        AppendWrapped(out, "  ", "::embed::rpc::CallUnaryAsync<" + request + ", " + response + ">(",
                      {"channel_", constant, "request", "options", "std::move(done)"}, ");");
        break;
      case MethodKind::kServerStreaming:
        AppendWrapped(
            out, "  ", "auto stream = channel_.OpenStream(",
            {constant, KindEnumerator(method.kind), "request.SerializeAsString()", "options"},
            ");");
        AppendWrapped(out, "  ",
                      "return std::make_unique<::embed::rpc::ClientReader<" + response + ">>(",
                      {"std::move(stream)"}, ");");
        break;
      case MethodKind::kClientStreaming:
      case MethodKind::kBidiStreaming: {
        AppendWrapped(out, "  ", "auto stream = channel_.OpenStream(",
                      {constant, KindEnumerator(method.kind), "\"\"", "options"}, ");");
        std::string wrapper = method.kind == MethodKind::kClientStreaming
                                  ? "::embed::rpc::ClientWriter<"
                                  : "::embed::rpc::ClientReaderWriter<";
        AppendWrapped(out, "  ",
                      "return std::make_unique<" + wrapper + request + ", " + response + ">>(",
                      {"std::move(stream)"}, ");");
        break;
      }
    }
    out += "}\n";
  }
}

void AppendServiceDefinitions(std::string& out, const ServiceNames& names) {
  const ServiceDefinition& service = names.service();
  std::string scope = service.name + "::Service::";
  out += '\n';
  out += scope + "Service() : ::embed::rpc::Service(std::string(kServiceName)) {\n";
  for (const MethodModel& method : service.methods) {
    std::string request = names.Type(method.request);
    std::string response = names.Type(method.response);
    out += "  Add" + std::string(KindSuffix(method.kind)) + "(\n";
    out += "      {.name = \"" + method.name + "\",\n";
    out += "       .kind = " + KindEnumerator(method.kind) + ",\n";
    out += "       .request_type = \"" + method.request.full_name + "\",\n";
    out += "       .response_type = \"" + method.response.full_name + "\"},\n";
    out += "      ::embed::rpc::Wrap" + std::string(KindSuffix(method.kind)) + "<" + request +
           ", " + response + ">(\n";
    AppendWrapped(out, "          ", "[this](", ServerParams(names, method, true), ") {");
    out += "            return " + method.name + "(" + ServerArguments(method.kind) + ");\n";
    out += "          }));\n";
  }
  out += "}\n";
  for (const MethodModel& method : service.methods) {
    out += '\n';
    AppendWrapped(out, "", "::embed::rpc::RpcStatus " + scope + method.name + "(",
                  ServerParams(names, method, false), ") {");
    AppendWrapped(out, "  ", "return ::embed::rpc::RpcStatus(",
                  {"::embed::rpc::RpcCode::kUnimplemented",
                   "\"" + service.full_name + "." + method.name + " is not implemented\""},
                  ");");
    out += "}\n";
  }
}

std::string Banner(const ServiceModel& model) {
  return "// Generated by protoc-gen-embed from " + model.file_name + ". Do not edit.\n";
}

void OpenNamespace(std::string& out, const ServiceModel& model) {
  if (!model.package.empty()) out += "\nnamespace " + CppNamespace(model.package) + " {\n";
}

void CloseNamespace(std::string& out, const ServiceModel& model) {
  if (!model.package.empty()) out += "\n}  // namespace " + CppNamespace(model.package) + "\n";
}

}  // namespace

std::string HeaderFileName(const ServiceModel& model) {
  return GeneratedFileName(model.file_name, ".embed.h");
}

std::string SourceFileName(const ServiceModel& model) {
  return GeneratedFileName(model.file_name, ".embed.cc");
}

std::string GenerateHeader(const ServiceModel& model) {
  std::string out = Banner(model);
  out += "#pragma once\n\n";
  if (model.services.empty()) {
    out += "#include \"" + model.pb_header + "\"\n";
    return out;
  }
  out += "#include <functional>\n";
  out += "#include <memory>\n";
  out += "#include <string_view>\n\n";
  out += "#include \"" + model.pb_header + "\"\n";
  out += "#include \"embed/rpc/typed.h\"\n";
  OpenNamespace(out, model);
  for (const ServiceDefinition& service : model.services) {
    out += '\n';
    AppendServiceDeclaration(out, ServiceNames(model, service));
  }
  CloseNamespace(out, model);
  return out;
}

std::string GenerateSource(const ServiceModel& model) {
  std::string out = Banner(model);
  out += "#include \"" + HeaderFileName(model) + "\"\n";
  if (model.services.empty()) return out;
  out += "\n#include <functional>\n";
  out += "#include <memory>\n";
  out += "#include <string>\n";
  out += "#include <utility>\n";
  OpenNamespace(out, model);
  for (const ServiceDefinition& service : model.services) {
    ServiceNames names(model, service);
    AppendClientDefinitions(out, names);
    AppendServiceDefinitions(out, names);
  }
  CloseNamespace(out, model);
  return out;
}

}  // namespace embed::rpc::protoc
