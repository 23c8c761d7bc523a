#include "embed/rpc/rpc_status.h"

#include <cctype>
#include <charconv>

namespace embed::rpc {
namespace {

constexpr std::string_view kNames[] = {
    "OK",        "CANCELLED",      "UNKNOWN",           "INVALID_ARGUMENT",   "DEADLINE_EXCEEDED",
    "NOT_FOUND", "ALREADY_EXISTS", "PERMISSION_DENIED", "RESOURCE_EXHAUSTED", "FAILED_PRECONDITION",
    "ABORTED",   "OUT_OF_RANGE",   "UNIMPLEMENTED",     "INTERNAL",           "UNAVAILABLE",
    "DATA_LOSS", "UNAUTHENTICATED"};
constexpr int kCodeCount = static_cast<int>(std::size(kNames));

bool EqualsIgnoreCase(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    if (std::toupper(static_cast<unsigned char>(a[i])) !=
        std::toupper(static_cast<unsigned char>(b[i]))) {
      return false;
    }
  }
  return true;
}

bool ParseInt(std::string_view text, int* value) {
  if (text.empty() || text.size() > 9) return false;
  auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), *value);
  return error == std::errc() && end == text.data() + text.size();
}

}  // namespace

std::string_view RpcCodeName(RpcCode code) {
  int number = static_cast<int>(code);
  if (number < 0 || number >= kCodeCount) return "CODE_OUT_OF_RANGE";
  return kNames[number];
}

bool ParseRpcCode(std::string_view text, RpcCode* code) {
  int number = 0;
  if (ParseInt(text, &number)) {
    if (number < 0 || number >= kCodeCount) return false;
    *code = static_cast<RpcCode>(number);
    return true;
  }
  for (int i = 0; i < kCodeCount; ++i) {
    if (EqualsIgnoreCase(text, kNames[i])) {
      *code = static_cast<RpcCode>(i);
      return true;
    }
  }
  return false;
}

RpcCode RpcCodeFromServiceErrorCode(std::string_view value) {
  int number = 0;
  if (!ParseInt(value, &number)) return RpcCode::kUnknown;
  if (number >= 1 && number < kCodeCount) return static_cast<RpcCode>(number);
  switch (number) {
    case 400:
      return RpcCode::kInvalidArgument;
    case 401:
      return RpcCode::kUnauthenticated;
    case 403:
      return RpcCode::kPermissionDenied;
    case 404:
      return RpcCode::kNotFound;
    case 408:
    case 504:
      return RpcCode::kDeadlineExceeded;
    case 409:
      return RpcCode::kAlreadyExists;
    case 412:
      return RpcCode::kFailedPrecondition;
    case 429:
      return RpcCode::kResourceExhausted;
    case 499:
      return RpcCode::kCancelled;
    case 501:
      return RpcCode::kUnimplemented;
    case 503:
      return RpcCode::kUnavailable;
    default:
      break;
  }
  if (number >= 400 && number < 500) return RpcCode::kFailedPrecondition;
  if (number >= 500 && number < 600) return RpcCode::kInternal;
  return RpcCode::kUnknown;
}

RpcStatus RpcStatus::FromStatus(const Status& status) {
  RpcCode code = RpcCode::kOk;
  switch (status.code()) {
    case StatusCode::kOk:
      return RpcStatus();
    case StatusCode::kInvalidArgument:
      code = RpcCode::kInvalidArgument;
      break;
    case StatusCode::kFailedPrecondition:
      code = RpcCode::kFailedPrecondition;
      break;
    case StatusCode::kCancelled:
      code = RpcCode::kCancelled;
      break;
    case StatusCode::kNotFound:
      code = RpcCode::kNotFound;
      break;
    case StatusCode::kAlreadyExists:
      code = RpcCode::kAlreadyExists;
      break;
    case StatusCode::kUnauthenticated:
      code = RpcCode::kUnauthenticated;
      break;
    case StatusCode::kPermissionDenied:
      code = RpcCode::kPermissionDenied;
      break;
    case StatusCode::kResourceExhausted:
      code = RpcCode::kResourceExhausted;
      break;
    case StatusCode::kProtocolError:
      code = RpcCode::kInternal;
      break;
    case StatusCode::kTimeout:
      code = RpcCode::kDeadlineExceeded;
      break;
    case StatusCode::kUnavailable:
      code = RpcCode::kUnavailable;
      break;
    case StatusCode::kIoError:
      code = RpcCode::kUnavailable;
      break;
    case StatusCode::kDataLoss:
      code = RpcCode::kDataLoss;
      break;
    case StatusCode::kInternal:
      code = RpcCode::kInternal;
      break;
  }
  return RpcStatus(code, std::string(status.message()));
}

std::string RpcStatus::ToString() const {
  if (ok()) return "OK";
  std::string text(RpcCodeName(code_));
  if (!message_.empty()) {
    text += ": ";
    text += message_;
  }
  return text;
}

}  // namespace embed::rpc
