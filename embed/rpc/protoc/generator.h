#pragma once
// The protoc-gen-embed code generator: ServiceModel in, C++ text out. Pure
// (no protoc, no I/O): main.cc adapts protoc's descriptors into the model.
// The output's shape (one class per service, with a Client stub over
// embed::rpc::Channel and a Service base class for embed::rpc::ServiceHost)
// is shown in embed/rpc/protoc/golden/greeter.embed.h.
//
//   std::string header = GenerateHeader(model);   // "greeter.embed.h"
//   std::string source = GenerateSource(model);   // "greeter.embed.cc"
//
// Not handled: C++ keywords, and names of embed::rpc::Service's own members
// (AddUnary, FindMethod, ...), used as service or method names.

#include <string>

#include "embed/rpc/protoc/service_model.h"

namespace embed::rpc::protoc {

// The name of the generated header / source of `model`'s file, relative to
// the output root: "greeter/v1/greeter.embed.h" / ".embed.cc".
std::string HeaderFileName(const ServiceModel& model);
std::string SourceFileName(const ServiceModel& model);

// The text of the generated header and source. Deterministic: the same model
// gives the same bytes. A file without services still gets both files (so a
// build knows its outputs in advance); they only include the message header.
std::string GenerateHeader(const ServiceModel& model);
std::string GenerateSource(const ServiceModel& model);

}  // namespace embed::rpc::protoc
