#pragma once
// Conversions between Embed's C++ types and the bridge's messages.
#include <cstdint>

#include "embed/base/status.h"
#include "embed/client/message.h"
#include "embed/rpc/rpc_status.h"
#include "embed/v1/bridge.pb.h"

namespace embed::c_api::internal {

// Embed's own codes as gRPC codes (as rpc::RpcStatus::FromStatus).
v1::StatusCode ToProtoCode(const Status& status);
v1::Status ToProto(const Status& status);

v1::Response OkResponse(std::uint64_t id);
v1::Response StatusResponse(std::uint64_t id, const Status& status);
v1::Response RpcStatusResponse(std::uint64_t id, const rpc::RpcStatus& status);

// True when `request` names no operation this library knows but carries
// one of a newer bridge.proto (an unknown field: every field but the id is an
// operation).
bool HasUnknownOperation(const v1::Request& request);

// Moves the message's subject, reply, headers and payload into `out`.
void ToProto(client::Message&& message, v1::Message* out);

}  // namespace embed::c_api::internal
