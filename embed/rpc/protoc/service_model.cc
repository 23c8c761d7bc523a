#include "embed/rpc/protoc/service_model.h"

#include <string>
#include <string_view>

namespace embed::rpc::protoc {

std::string_view MethodKindName(MethodKind kind) {
  switch (kind) {
    case MethodKind::kUnary:
      return "unary";
    case MethodKind::kServerStreaming:
      return "server_streaming";
    case MethodKind::kClientStreaming:
      return "client_streaming";
    case MethodKind::kBidiStreaming:
      return "bidi_streaming";
  }
  return "unknown";
}

std::string CppNamespace(std::string_view package) {
  std::string result;
  for (char c : package) {
    if (c == '.') {
      result += "::";
    } else {
      result += c;
    }
  }
  return result;
}

std::string GeneratedFileName(std::string_view proto_file_name, std::string_view extension) {
  // The suffixes protoc's own generators strip (compiler::StripProto).
  for (std::string_view suffix : {std::string_view(".protodevel"), std::string_view(".proto")}) {
    if (proto_file_name.size() > suffix.size() && proto_file_name.ends_with(suffix)) {
      proto_file_name.remove_suffix(suffix.size());
      break;
    }
  }
  std::string result(proto_file_name);
  result += extension;
  return result;
}

}  // namespace embed::rpc::protoc
