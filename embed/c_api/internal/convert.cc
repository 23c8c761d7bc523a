#include "embed/c_api/internal/convert.h"

#include <google/protobuf/io/coded_stream.h>
#include <google/protobuf/wire_format_lite.h>

#include <utility>

namespace embed::c_api::internal {

v1::StatusCode ToProtoCode(const Status& status) {
  return static_cast<v1::StatusCode>(rpc::RpcStatus::FromStatus(status).code());
}

v1::Status ToProto(const Status& status) {
  v1::Status out;
  out.set_code(ToProtoCode(status));
  out.set_message(std::string(status.message()));
  return out;
}

v1::Response OkResponse(std::uint64_t id) {
  v1::Response response;
  response.set_id(id);
  response.mutable_status();
  return response;
}

v1::Response StatusResponse(std::uint64_t id, const Status& status) {
  v1::Response response;
  response.set_id(id);
  *response.mutable_status() = ToProto(status);
  return response;
}

v1::Response RpcStatusResponse(std::uint64_t id, const rpc::RpcStatus& status) {
  v1::Response response;
  response.set_id(id);
  response.mutable_status()->set_code(static_cast<v1::StatusCode>(status.code()));
  response.mutable_status()->set_message(status.message());
  return response;
}

bool HasUnknownOperation(const v1::Request& request) {
  if (request.op_case() != v1::Request::OP_NOT_SET) return false;
  // The lite runtime keeps unknown fields and writes them back out.
  const std::string bytes = request.SerializeAsString();
  google::protobuf::io::CodedInputStream input(reinterpret_cast<const std::uint8_t*>(bytes.data()),
                                               static_cast<int>(bytes.size()));
  while (std::uint32_t tag = input.ReadTag()) {
    if (google::protobuf::internal::WireFormatLite::GetTagFieldNumber(tag) !=
        v1::Request::kIdFieldNumber) {
      return true;
    }
    if (!google::protobuf::internal::WireFormatLite::SkipField(&input, tag)) return false;
  }
  return false;
}

void ToProto(client::Message&& message, v1::Message* out) {
  out->set_subject(std::move(message.subject));
  out->set_reply_to(std::move(message.reply_to));
  for (const auto& [name, value] : message.headers.entries()) {
    auto* header = out->add_headers();
    header->set_name(name);
    header->set_value(value);
  }
  out->set_payload(std::move(message.payload));
}

}  // namespace embed::c_api::internal
