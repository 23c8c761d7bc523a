// protoc-gen-embed: the protoc plugin generating Embed RPC stubs
// (<name>.embed.h / <name>.embed.cc next to protoc's <name>.pb.h).
//
//   protoc --plugin=protoc-gen-embed=<path> --cpp_out=OUT --embed_out=OUT -I DIR file.proto
//
// This file only adapts protoc's descriptors into a ServiceModel; the text
// comes from generator.h (grpc's split between plugin glue and generator).

#include <cstdint>
#include <memory>
#include <string>

#include <google/protobuf/compiler/code_generator.h>
#include <google/protobuf/compiler/cpp/names.h>
#include <google/protobuf/compiler/plugin.h>
#include <google/protobuf/descriptor.h>
#include <google/protobuf/io/coded_stream.h>
#include <google/protobuf/io/zero_copy_stream.h>

#include "embed/rpc/protoc/generator.h"
#include "embed/rpc/protoc/service_model.h"

namespace embed::rpc::protoc {
namespace {

namespace pb = google::protobuf;

MessageType ToMessageType(const pb::Descriptor& descriptor) {
  // protoc's C++ generator names a nested message Outer_Inner, and renames
  // C++ keywords; ask it rather than repeat its rules.
  return MessageType{.full_name = descriptor.full_name(),
                     .package = descriptor.file()->package(),
                     .cpp_name = pb::compiler::cpp::QualifiedClassName(&descriptor)};
}

MethodKind ToMethodKind(const pb::MethodDescriptor& method) {
  if (method.client_streaming()) {
    return method.server_streaming() ? MethodKind::kBidiStreaming : MethodKind::kClientStreaming;
  }
  return method.server_streaming() ? MethodKind::kServerStreaming : MethodKind::kUnary;
}

template <class Descriptor>
std::string LeadingComment(const Descriptor& descriptor) {
  pb::SourceLocation location;
  if (!descriptor.GetSourceLocation(&location)) return "";
  return location.leading_comments;
}

ServiceModel ToServiceModel(const pb::FileDescriptor& file) {
  ServiceModel model;
  model.file_name = file.name();
  model.package = file.package();
  model.pb_header = GeneratedFileName(file.name(), ".pb.h");
  for (int s = 0; s < file.service_count(); ++s) {
    const pb::ServiceDescriptor& service = *file.service(s);
    ServiceDefinition& definition = model.services.emplace_back();
    definition.name = service.name();
    definition.full_name = service.full_name();
    definition.comment = LeadingComment(service);
    for (int m = 0; m < service.method_count(); ++m) {
      const pb::MethodDescriptor& method = *service.method(m);
      definition.methods.push_back(MethodModel{.name = method.name(),
                                               .kind = ToMethodKind(method),
                                               .request = ToMessageType(*method.input_type()),
                                               .response = ToMessageType(*method.output_type()),
                                               .comment = LeadingComment(method)});
    }
  }
  return model;
}

bool WriteFile(pb::compiler::GeneratorContext& context, const std::string& name,
               const std::string& text) {
  std::unique_ptr<pb::io::ZeroCopyOutputStream> output(context.Open(name));
  pb::io::CodedOutputStream coded(output.get());
  coded.WriteRaw(text.data(), static_cast<int>(text.size()));
  return !coded.HadError();
}

class EmbedGenerator : public pb::compiler::CodeGenerator {
 public:
  bool Generate(const pb::FileDescriptor* file, const std::string& /*parameter*/,
                pb::compiler::GeneratorContext* context, std::string* error) const override {
    ServiceModel model = ToServiceModel(*file);
    if (!WriteFile(*context, HeaderFileName(model), GenerateHeader(model)) ||
        !WriteFile(*context, SourceFileName(model), GenerateSource(model))) {
      *error = "protoc-gen-embed: cannot write the output of " + file->name();
      return false;
    }
    return true;
  }

  std::uint64_t GetSupportedFeatures() const override { return FEATURE_PROTO3_OPTIONAL; }
};

}  // namespace
}  // namespace embed::rpc::protoc

int main(int argc, char* argv[]) {
  embed::rpc::protoc::EmbedGenerator generator;
  return google::protobuf::compiler::PluginMain(argc, argv, &generator);
}
