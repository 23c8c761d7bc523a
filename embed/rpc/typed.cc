#include "embed/rpc/typed.h"

namespace embed::rpc::typed_internal {

RpcStatus CannotParse(std::string_view what, std::string_view type_name) {
  RpcCode code = what == "request" ? RpcCode::kInvalidArgument : RpcCode::kInternal;
  return RpcStatus(code, "cannot parse the " + std::string(what) + " as " +
                             std::string(type_name));
}

}  // namespace embed::rpc::typed_internal
