#include "embed/rpc/service.h"

#include <utility>

namespace embed::rpc {

std::string_view MethodKindName(MethodKind kind) {
  switch (kind) {
    case MethodKind::kUnary: return "unary";
    case MethodKind::kServerStreaming: return "server_streaming";
    case MethodKind::kClientStreaming: return "client_streaming";
    case MethodKind::kBidiStreaming: return "bidi_streaming";
  }
  return "unknown";
}

const Service::Method* Service::FindMethod(std::string_view name) const {
  for (const Method& method : methods_) {
    if (method.info.name == name) return &method;
  }
  return nullptr;
}

void Service::AddUnary(MethodInfo info, UnaryMethod handler) {
  info.kind = MethodKind::kUnary;
  Add(Method{std::move(info), std::move(handler)});
}

void Service::AddServerStreaming(MethodInfo info, ServerStreamingMethod handler) {
  info.kind = MethodKind::kServerStreaming;
  Add(Method{std::move(info), std::move(handler)});
}

void Service::AddClientStreaming(MethodInfo info, ClientStreamingMethod handler) {
  info.kind = MethodKind::kClientStreaming;
  Add(Method{std::move(info), std::move(handler)});
}

void Service::AddBidiStreaming(MethodInfo info, BidiStreamingMethod handler) {
  info.kind = MethodKind::kBidiStreaming;
  Add(Method{std::move(info), std::move(handler)});
}

void Service::Add(Method method) {
  for (Method& existing : methods_) {
    if (existing.info.name == method.info.name) {
      existing = std::move(method);
      return;
    }
  }
  methods_.push_back(std::move(method));
}

}  // namespace embed::rpc
