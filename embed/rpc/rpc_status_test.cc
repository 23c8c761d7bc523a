#include "embed/rpc/rpc_status.h"

#include <gtest/gtest.h>

namespace embed::rpc {
namespace {

TEST(RpcCode, NamesAndNumbersAreGrpcs) {
  EXPECT_EQ(RpcCodeName(RpcCode::kOk), "OK");
  EXPECT_EQ(RpcCodeName(RpcCode::kDeadlineExceeded), "DEADLINE_EXCEEDED");
  EXPECT_EQ(RpcCodeName(RpcCode::kUnauthenticated), "UNAUTHENTICATED");
  EXPECT_EQ(static_cast<int>(RpcCode::kUnimplemented), 12);
  EXPECT_EQ(static_cast<int>(RpcCode::kUnavailable), 14);
  EXPECT_EQ(RpcCodeName(static_cast<RpcCode>(99)), "CODE_OUT_OF_RANGE");
}

TEST(RpcCode, ParsesNamesAndNumbers) {
  RpcCode code = RpcCode::kOk;
  ASSERT_TRUE(ParseRpcCode("not_found", &code));
  EXPECT_EQ(code, RpcCode::kNotFound);
  ASSERT_TRUE(ParseRpcCode("14", &code));
  EXPECT_EQ(code, RpcCode::kUnavailable);
  EXPECT_FALSE(ParseRpcCode("17", &code));
  EXPECT_FALSE(ParseRpcCode("-1", &code));
  EXPECT_FALSE(ParseRpcCode("NOPE", &code));
  EXPECT_FALSE(ParseRpcCode("", &code));
}

TEST(RpcCode, MapsServiceErrorCodesOfOtherNatsServices) {
  EXPECT_EQ(RpcCodeFromServiceErrorCode("5"), RpcCode::kNotFound);
  EXPECT_EQ(RpcCodeFromServiceErrorCode("16"), RpcCode::kUnauthenticated);
  EXPECT_EQ(RpcCodeFromServiceErrorCode("400"), RpcCode::kInvalidArgument);
  EXPECT_EQ(RpcCodeFromServiceErrorCode("401"), RpcCode::kUnauthenticated);
  EXPECT_EQ(RpcCodeFromServiceErrorCode("403"), RpcCode::kPermissionDenied);
  EXPECT_EQ(RpcCodeFromServiceErrorCode("404"), RpcCode::kNotFound);
  EXPECT_EQ(RpcCodeFromServiceErrorCode("408"), RpcCode::kDeadlineExceeded);
  EXPECT_EQ(RpcCodeFromServiceErrorCode("418"), RpcCode::kFailedPrecondition);
  EXPECT_EQ(RpcCodeFromServiceErrorCode("429"), RpcCode::kResourceExhausted);
  EXPECT_EQ(RpcCodeFromServiceErrorCode("500"), RpcCode::kInternal);
  EXPECT_EQ(RpcCodeFromServiceErrorCode("501"), RpcCode::kUnimplemented);
  EXPECT_EQ(RpcCodeFromServiceErrorCode("503"), RpcCode::kUnavailable);
  EXPECT_EQ(RpcCodeFromServiceErrorCode("504"), RpcCode::kDeadlineExceeded);
  EXPECT_EQ(RpcCodeFromServiceErrorCode("0"), RpcCode::kUnknown);
  EXPECT_EQ(RpcCodeFromServiceErrorCode("abc"), RpcCode::kUnknown);
  EXPECT_EQ(RpcCodeFromServiceErrorCode("99999999999"), RpcCode::kUnknown);
  EXPECT_EQ(RpcCodeFromServiceErrorCode(""), RpcCode::kUnknown);
}

TEST(RpcStatus, FromEmbedStatus) {
  EXPECT_TRUE(RpcStatus::FromStatus(Status::Ok()).ok());
  EXPECT_EQ(RpcStatus::FromStatus(TimeoutError("t")).code(), RpcCode::kDeadlineExceeded);
  EXPECT_EQ(RpcStatus::FromStatus(UnavailableError("u")).code(), RpcCode::kUnavailable);
  EXPECT_EQ(RpcStatus::FromStatus(ProtocolError("p")).code(), RpcCode::kInternal);
  EXPECT_EQ(RpcStatus::FromStatus(IoError("io")).code(), RpcCode::kUnavailable);
  RpcStatus denied = RpcStatus::FromStatus(PermissionDeniedError("no"));
  EXPECT_EQ(denied.code(), RpcCode::kPermissionDenied);
  EXPECT_EQ(denied.message(), "no");
  EXPECT_EQ(denied.ToString(), "PERMISSION_DENIED: no");
  EXPECT_EQ(RpcStatus().ToString(), "OK");
}

}  // namespace
}  // namespace embed::rpc
