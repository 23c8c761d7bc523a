#pragma once
// RpcStatus: the outcome of an RPC, with gRPC's status codes (same names and
// numbers, https://grpc.github.io/grpc/core/md_doc_statuscodes.html), so code
// written against gRPC reads the same. On the wire a failed call carries the
// NATS service-API error headers (nats-wire.md §9.3):
//   Nats-Service-Error: <message>
//   Nats-Service-Error-Code: <gRPC code number, 1..16>
// Codes 100..599 from other NATS services (HTTP-style, such as 400 or 503)
// are mapped onto the closest gRPC code (RpcCodeFromServiceErrorCode).

#include <string>
#include <string_view>

#include "embed/base/status.h"

namespace embed::rpc {

enum class RpcCode : int {
  kOk = 0,
  kCancelled = 1,
  kUnknown = 2,
  kInvalidArgument = 3,
  kDeadlineExceeded = 4,
  kNotFound = 5,
  kAlreadyExists = 6,
  kPermissionDenied = 7,
  kResourceExhausted = 8,
  kFailedPrecondition = 9,
  kAborted = 10,
  kOutOfRange = 11,
  kUnimplemented = 12,
  kInternal = 13,
  kUnavailable = 14,
  kDataLoss = 15,
  kUnauthenticated = 16,
};

// "DEADLINE_EXCEEDED" for kDeadlineExceeded (gRPC's spelling); "CODE_<n>" for
// a number outside the set.
std::string_view RpcCodeName(RpcCode code);
// Parses "DEADLINE_EXCEEDED" (case-insensitive) or a number "4"; false when
// neither.
bool ParseRpcCode(std::string_view text, RpcCode* code);

// The value of a Nats-Service-Error-Code header as a gRPC code: 1..16 are the
// code itself; HTTP-style codes map as 400 INVALID_ARGUMENT, 401
// UNAUTHENTICATED, 403 PERMISSION_DENIED, 404 NOT_FOUND, 408/504
// DEADLINE_EXCEEDED, 409 ALREADY_EXISTS, 412 FAILED_PRECONDITION, 429
// RESOURCE_EXHAUSTED, 499 CANCELLED, 501 UNIMPLEMENTED, 503 UNAVAILABLE,
// other 4xx FAILED_PRECONDITION, other 5xx INTERNAL; anything else (0,
// text, out of range) UNKNOWN.
RpcCode RpcCodeFromServiceErrorCode(std::string_view value);

class [[nodiscard]] RpcStatus {
 public:
  RpcStatus() = default;  // OK
  RpcStatus(RpcCode code, std::string message) : code_(code), message_(std::move(message)) {}
  static RpcStatus Ok() { return RpcStatus(); }
  // Maps Embed's own codes: kTimeout -> DEADLINE_EXCEEDED, kUnavailable ->
  // UNAVAILABLE, kCancelled -> CANCELLED, kProtocolError -> INTERNAL,
  // kIoError -> UNAVAILABLE, the rest to their namesakes.
  static RpcStatus FromStatus(const Status& status);

  bool ok() const { return code_ == RpcCode::kOk; }
  RpcCode code() const { return code_; }
  const std::string& message() const { return message_; }
  // "DEADLINE_EXCEEDED: deadline of 50 ms passed", or "OK".
  std::string ToString() const;
  void IgnoreError() const {}

  friend bool operator==(const RpcStatus& a, const RpcStatus& b) {
    return a.code_ == b.code_ && a.message_ == b.message_;
  }

 private:
  RpcCode code_ = RpcCode::kOk;
  std::string message_;
};

}  // namespace embed::rpc
