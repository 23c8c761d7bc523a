#include "embed/wire/server_op_parser.h"

#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "embed/wire/internal/describe_ops.h"
#include "embed/wire/internal/transcript.h"

namespace embed::wire {
namespace {

using internal::DescribeOp;
using internal::Transcript;

using ValidCase = internal::ValidCase<ServerOp>;

std::vector<ValidCase> ValidCases() {
  return {
      {"InfoWithSpaceBeforeCrLf", "INFO {\"server_id\":\"N1\",\"max_payload\":1048576} \r\n",
       {Info{"{\"server_id\":\"N1\",\"max_payload\":1048576}"}}},
      {"InfoWithoutTrailingSpace", "INFO {}\r\n", {Info{"{}"}}},
      {"InfoLowerCaseBareLf", "info\t{} \n", {Info{"{}"}}},
      {"Msg", "MSG FOO.BAR 9 11\r\nHello World\r\n", {Msg{"FOO.BAR", "9", "", "Hello World"}}},
      {"MsgWithReply", "MSG FOO.BAR 9 GREETING.34 11\r\nHello World\r\n",
       {Msg{"FOO.BAR", "9", "GREETING.34", "Hello World"}}},
      {"MsgEmpty", "MSG a 1 0\r\n\r\n", {Msg{"a", "1", "", ""}}},
      {"MsgBlanksCollapse", "msg\tfoo  1 \t3 \nabc\r\n", {Msg{"foo", "1", "", "abc"}}},
      {"HMsg", "HMSG FOO.BAR 9 34 45\r\nNATS/1.0\r\nFoodGroup: vegetable\r\n\r\nHello World\r\n",
       {HMsg{"FOO.BAR", "9", "", "NATS/1.0\r\nFoodGroup: vegetable\r\n\r\n", "Hello World"}}},
      {"HMsgWithReply",
       "HMSG FOO.BAR 9 BAZ.69 34 45\r\nNATS/1.0\r\nFoodGroup: vegetable\r\n\r\nHello World\r\n",
       {HMsg{"FOO.BAR", "9", "BAZ.69", "NATS/1.0\r\nFoodGroup: vegetable\r\n\r\n",
             "Hello World"}}},
      {"NoResponders", "HMSG _INBOX.abc.1 3 16 16\r\nNATS/1.0 503\r\n\r\n\r\n",
       {HMsg{"_INBOX.abc.1", "3", "", "NATS/1.0 503\r\n\r\n", ""}}},
      {"Ping", "PING\r\n", {ServerPing{}}},
      {"Pong", "PONG\r\n", {ServerPong{}}},
      {"Ok", "+OK\r\n", {Ok{}}},
      {"ErrQuotesStripped", "-ERR 'Stale Connection'\r\n", {Err{"Stale Connection"}}},
      {"ErrPermissions", "-ERR 'Permissions Violation for Subscription to \"foo.bar\"'\r\n",
       {Err{"Permissions Violation for Subscription to \"foo.bar\""}}},
      {"ErrUnquoted", "-ERR oops\r\n", {Err{"oops"}}},
      {"Handshake",
       "INFO {\"server_id\":\"N\"} \r\n+OK\r\nPONG\r\nMSG a 1 2\r\nhi\r\nPING\r\n",
       {Info{"{\"server_id\":\"N\"}"}, Ok{}, ServerPong{}, Msg{"a", "1", "", "hi"},
        ServerPing{}}},
  };
}

TEST(ServerOpParser, ParsesEveryValidCase) {
  for (const auto& test : ValidCases()) {
    const Transcript transcript = internal::ParseWhole<ServerOpParser>(test.input, Limits{});
    EXPECT_EQ(transcript.ops, internal::DescribeOps(test.ops)) << test.name;
    EXPECT_EQ(transcript.violation, Violation::kNone) << test.name;
    EXPECT_EQ(transcript.buffered_bytes, 0u) << test.name;
  }
}

TEST(ServerOpParser, GivesTheSameOpsWhenInputIsSplitAtEveryByteBoundary) {
  for (const auto& test : ValidCases()) {
    const Transcript whole = internal::ParseWhole<ServerOpParser>(test.input, Limits{});
    for (std::size_t cut = 1; cut < test.input.size(); ++cut) {
      EXPECT_EQ(internal::ParseWithCuts<ServerOpParser>(test.input, {cut}, Limits{}), whole)
          << test.name << " cut at " << cut;
      EXPECT_EQ(internal::ParseWithCuts<ServerOpParser>(test.input, {cut}, Limits{},
                                                    internal::FeedMode::kCopy),
                whole)
          << test.name << " copied, cut at " << cut;
    }
    EXPECT_EQ(internal::ParseByteByByte<ServerOpParser>(test.input, Limits{}), whole)
        << test.name;
  }
}

struct InvalidCase {
  const char* name;
  std::string input;
  Violation violation;
};

TEST(ServerOpParser, ReportsEveryViolation) {
  const std::vector<InvalidCase> cases = {
      {"PubFromServer", "PUB foo 3\r\nabc\r\n", Violation::kUnknownOperation},
      {"UnknownOp", "HELLO\r\n", Violation::kUnknownOperation},
      {"MsgWithoutSeparator", "MSGfoo 1 1\r\n", Violation::kUnknownOperation},
      {"TrailerNotCrLf", "MSG foo 1 3\r\nabc\n\n", Violation::kUnknownOperation},
      {"MsgTwoArgs", "MSG foo 3\r\nabc\r\n", Violation::kMalformed},
      {"MsgFiveArgs", "MSG a b c d 3\r\n", Violation::kMalformed},
      {"MsgBadSize", "MSG a 1 x\r\n", Violation::kMalformed},
      {"HMsgThreeArgs", "HMSG a 1 3\r\n", Violation::kMalformed},
      {"HMsgHeaderLargerThanTotal", "HMSG a 1 5 3\r\n", Violation::kMalformed},
      {"MsgTooLarge", "MSG a 1 1048577\r\n", Violation::kPayloadTooLarge},
      {"InfoTooLong", "INFO {" + std::string(70000, ' ') + "}\r\n",
       Violation::kControlLineTooLong},
      {"MsgLineTooLong", "MSG " + std::string(9000, 'a') + " 1 1\r\n",
       Violation::kControlLineTooLong},
  };
  for (const auto& test : cases) {
    const Transcript whole = internal::ParseWhole<ServerOpParser>(test.input, Limits{});
    EXPECT_EQ(whole.violation, test.violation) << test.name;
    EXPECT_EQ(internal::ParseByteByByte<ServerOpParser>(test.input, Limits{}), whole)
        << test.name;
  }
}

TEST(ServerOpParser, AcceptsInfoLargerThanTheControlLineLimit) {
  const std::string json = "{\"connect_urls\":[\"" + std::string(8000, 'h') + "\"]}";
  const std::string line = "INFO " + json + " \r\n";
  ServerOpParser parser;
  parser.Feed(line);
  auto next = parser.Next();
  ASSERT_TRUE(next.ok() && next->has_value());
  EXPECT_EQ(std::get<Info>(**next).json, json);
}

TEST(ServerOpParser, AppliesTheMaxPayloadLearnedFromInfo) {
  ServerOpParser parser;
  parser.set_max_payload_bytes(4);
  parser.Feed("MSG a 1 4\r\nabcd\r\nMSG a 1 5\r\nabcde\r\n");
  auto first = parser.Next();
  ASSERT_TRUE(first.ok() && first->has_value());
  auto second = parser.Next();
  ASSERT_FALSE(second.ok());
  EXPECT_EQ(parser.violation(), Violation::kPayloadTooLarge);
  EXPECT_EQ(second.status().code(), StatusCode::kResourceExhausted);
  auto third = parser.Next();
  ASSERT_FALSE(third.ok());
  EXPECT_EQ(third.status(), second.status());
}

TEST(ServerOpParser, KeepsAnIncompleteMessageAcrossReads) {
  ServerOpParser parser;
  {
    std::string first = "MSG foo 7 10\r\n01234";
    parser.Feed(first);
    auto more = parser.Next();
    ASSERT_TRUE(more.ok());
    EXPECT_FALSE(more->has_value());
    first.assign(first.size(), '#');
  }
  const std::string second = "56789\r\n";
  parser.Feed(second);
  auto msg = parser.Next();
  ASSERT_TRUE(msg.ok() && msg->has_value());
  EXPECT_EQ(DescribeOp(**msg), DescribeOp(Msg{"foo", "7", "", "0123456789"}));
}

}  // namespace
}  // namespace embed::wire
