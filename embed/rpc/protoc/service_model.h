#pragma once
// ServiceModel: what protoc-gen-embed needs to know about one .proto file, as
// plain data. main.cc fills it from protoc's FileDescriptor; the generator
// (generator.h) turns it into C++ text. Keeping protoc out of the model lets
// the generator be tested on hand-built models.

#include <string>
#include <string_view>
#include <vector>

namespace embed::rpc::protoc {

// The four shapes of an RPC, as `stream` appears on its request / response.
enum class MethodKind { kUnary, kServerStreaming, kClientStreaming, kBidiStreaming };

// A protobuf message type as the generated code names it.
struct MessageType {
  // Full protobuf name: "greeter.v1.HelloRequest", "Outer.Inner".
  std::string full_name;
  // The package of the file declaring it ("" when none).
  std::string package;
  // Fully qualified C++ class name as protoc's C++ generator writes it:
  // "::greeter::v1::HelloRequest", nested types joined by '_' ("::pkg::Outer_Inner").
  std::string cpp_name;
};

struct MethodModel {
  std::string name;  // "SayHello"
  MethodKind kind = MethodKind::kUnary;
  MessageType request;
  MessageType response;
  // The method's leading comment in the .proto, as protoc reports it: lines
  // joined by '\n', without the comment markers. "" when none.
  std::string comment;
};

struct ServiceDefinition {
  std::string name;                  // "Greeter"
  std::string full_name;             // "greeter.v1.Greeter"
  std::string comment;               // leading comment, as MethodModel::comment
  std::vector<MethodModel> methods;  // in .proto order
};

struct ServiceModel {
  // The .proto file's name as protoc was given it, relative to its import
  // dir: "greeter/v1/greeter.proto".
  std::string file_name;
  std::string package;  // "greeter.v1"; "" when the file has none
  // How the generated code includes protoc's message header:
  // "greeter/v1/greeter.pb.h".
  std::string pb_header;
  std::vector<ServiceDefinition> services;  // in .proto order
};

// "unary", "server_streaming", "client_streaming", "bidi_streaming".
std::string_view MethodKindName(MethodKind kind);

// The C++ namespace of a protobuf package: "greeter.v1" -> "greeter::v1",
// "" -> "" (the global namespace). C++ keywords among the components are not
// renamed (protoc's C++ generator appends '_' to them).
std::string CppNamespace(std::string_view package);

// The file name of a generated file: the .proto name without its ".proto"
// suffix, plus `extension`: ("a/b.proto", ".embed.h") -> "a/b.embed.h".
std::string GeneratedFileName(std::string_view proto_file_name, std::string_view extension);

}  // namespace embed::rpc::protoc
