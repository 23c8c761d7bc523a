#pragma once
// Service: the server side of one protobuf service, as a table of methods
// over raw bytes. protoc-gen-embed generates a subclass per .proto service
// whose constructor registers typed wrappers around virtual methods the user
// overrides; hand-written services (tests, the `embed` tool) call the Add*
// methods directly. A ServiceHost serves it.

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "embed/rpc/rpc_status.h"
#include "embed/rpc/server_context.h"

namespace embed::rpc {

enum class MethodKind { kUnary, kServerStreaming, kClientStreaming, kBidiStreaming };
// "unary", "server_streaming", "client_streaming", "bidi_streaming".
std::string_view MethodKindName(MethodKind kind);

// The server's end of a streaming call. Used by one handler thread.
class ServerStream {
 public:
  virtual ~ServerStream() = default;
  // Blocks until the next message from the client; false at the client's
  // end of stream (WritesDone) or when the call is over (cancelled, deadline,
  // client gone: see ServerContext::cancellation()). Always false for a
  // server-streaming call (its one request is the handler's argument).
  virtual bool Read(std::string* message) = 0;
  // Sends a message; blocks while the client's flow-control window is full.
  // Not OK (the call's status, e.g. CANCELLED) when the call is over; the
  // handler should then return.
  virtual RpcStatus Write(std::string message) = 0;
  // Ends the call with `status` whatever the handler returns later (the
  // typed wrappers use it when a request cannot be parsed).
  virtual void Abort(RpcStatus status) = 0;
};

using UnaryMethod = std::function<RpcStatus(ServerContext& context, std::string_view request,
                                            std::string* response)>;
using ServerStreamingMethod = std::function<RpcStatus(
    ServerContext& context, std::string_view request, ServerStream& stream)>;
using ClientStreamingMethod =
    std::function<RpcStatus(ServerContext& context, ServerStream& stream, std::string* response)>;
using BidiStreamingMethod = std::function<RpcStatus(ServerContext& context, ServerStream& stream)>;

struct MethodInfo {
  std::string name;  // "SayHello"
  MethodKind kind = MethodKind::kUnary;
  std::string request_type;   // full protobuf name, "greeter.v1.HelloRequest"
  std::string response_type;  // "greeter.v1.HelloReply"
};

class Service {
 public:
  struct Method {
    MethodInfo info;
    std::variant<UnaryMethod, ServerStreamingMethod, ClientStreamingMethod, BidiStreamingMethod>
        handler;
  };

  virtual ~Service() = default;
  Service(const Service&) = delete;
  Service& operator=(const Service&) = delete;

  // "<package>.<Service>", e.g. "greeter.v1.Greeter".
  const std::string& full_name() const { return full_name_; }
  const std::vector<Method>& methods() const { return methods_; }
  // nullptr when the service has no method of that name.
  const Method* FindMethod(std::string_view name) const;

 protected:
  explicit Service(std::string full_name) : full_name_(std::move(full_name)) {}

  // Registration, before the service is given to a host; a method name must
  // be a valid subject token and unique (a duplicate replaces the earlier one).
  void AddUnary(MethodInfo info, UnaryMethod handler);
  void AddServerStreaming(MethodInfo info, ServerStreamingMethod handler);
  void AddClientStreaming(MethodInfo info, ClientStreamingMethod handler);
  void AddBidiStreaming(MethodInfo info, BidiStreamingMethod handler);

 private:
  void Add(Method method);
  std::string full_name_;
  std::vector<Method> methods_;
};

// A Service whose methods are registered from outside; for tests and tools
// that serve methods without generated code.
class DynamicService : public Service {
 public:
  explicit DynamicService(std::string full_name) : Service(std::move(full_name)) {}
  using Service::AddBidiStreaming;
  using Service::AddClientStreaming;
  using Service::AddServerStreaming;
  using Service::AddUnary;
};

}  // namespace embed::rpc
