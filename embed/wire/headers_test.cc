#include "embed/wire/headers.h"

#include <string>

#include <gtest/gtest.h>

namespace embed::wire {
namespace {

TEST(Headers, EncodesVersionLineFieldsAndBlankLine) {
  Headers headers;
  headers.Add("Bar", "Baz");
  EXPECT_EQ(headers.Encode(), "NATS/1.0\r\nBar: Baz\r\n\r\n");
  EXPECT_EQ(headers.Encode().size(), 22u);
}

TEST(Headers, EncodesAnEmptyBlockInTwelveBytes) {
  EXPECT_EQ(Headers().Encode(), "NATS/1.0\r\n\r\n");
  EXPECT_TRUE(Headers().empty());
}

TEST(Headers, EncodesStatusLines) {
  Headers no_responders;
  no_responders.set_status(503);
  EXPECT_EQ(no_responders.Encode(), "NATS/1.0 503\r\n\r\n");
  EXPECT_FALSE(no_responders.empty());
  Headers timeout;
  timeout.set_status(408, "Request Timeout");
  timeout.Add("Nats-Pending-Messages", "1");
  EXPECT_EQ(timeout.Encode(), "NATS/1.0 408 Request Timeout\r\nNats-Pending-Messages: 1\r\n\r\n");
}

TEST(Headers, KeepsMultipleValuesOnePerLine) {
  Headers headers;
  headers.Add("BREAKFAST", "donut");
  headers.Add("BREAKFAST", "eggs");
  EXPECT_EQ(headers.Encode(), "NATS/1.0\r\nBREAKFAST: donut\r\nBREAKFAST: eggs\r\n\r\n");
  EXPECT_EQ(headers.Values("BREAKFAST"), (std::vector<std::string_view>{"donut", "eggs"}));
  EXPECT_EQ(headers.Get("BREAKFAST"), "donut");
}

TEST(Headers, MatchesKeysCaseSensitively) {
  Headers headers;
  headers.Add("Foo", "1");
  headers.Add("foo", "2");
  EXPECT_EQ(headers.Get("Foo"), "1");
  EXPECT_EQ(headers.Get("foo"), "2");
  EXPECT_FALSE(headers.Has("FOO"));
  EXPECT_EQ(headers.Get("FOO"), "");
}

TEST(Headers, SetReplacesEveryValueAndRemoveDropsThem) {
  Headers headers;
  headers.Add("A", "1");
  headers.Add("B", "x");
  headers.Add("A", "2");
  headers.Set("A", "3");
  EXPECT_EQ(headers.Values("A"), (std::vector<std::string_view>{"3"}));
  headers.Remove("A");
  EXPECT_FALSE(headers.Has("A"));
  EXPECT_EQ(headers.Get("B"), "x");
}

TEST(Headers, ReplacesCrAndLfInValuesWithSpaces) {
  Headers headers;
  headers.Add("A", "x\r\ny");
  EXPECT_EQ(headers.Encode(), "NATS/1.0\r\nA: x  y\r\n\r\n");
}

TEST(ParseHeaders, ParsesFieldsInOrderWithMultiValues) {
  auto headers =
      ParseHeaders("NATS/1.0\r\nBREAKFAST: donut\r\nBREAKFAST: eggs\r\nbreakfast: tea\r\n\r\n");
  ASSERT_TRUE(headers.ok()) << headers.status().ToString();
  EXPECT_EQ(headers->status(), 0);
  EXPECT_EQ(headers->Values("BREAKFAST"), (std::vector<std::string_view>{"donut", "eggs"}));
  EXPECT_EQ(headers->Get("breakfast"), "tea");
  EXPECT_EQ(headers->entries().size(), 3u);
}

TEST(ParseHeaders, ParsesNoRespondersStatus) {
  auto headers = ParseHeaders("NATS/1.0 503\r\n\r\n");
  ASSERT_TRUE(headers.ok());
  EXPECT_EQ(headers->status(), 503);
  EXPECT_EQ(headers->description(), "");
  EXPECT_TRUE(headers->entries().empty());
}

TEST(ParseHeaders, ParsesStatusWithDescriptionAndFields) {
  auto headers = ParseHeaders(
      "NATS/1.0 408 Request Timeout\r\nNats-Pending-Messages: 1\r\nNats-Pending-Bytes: 0\r\n\r\n");
  ASSERT_TRUE(headers.ok());
  EXPECT_EQ(headers->status(), 408);
  EXPECT_EQ(headers->description(), "Request Timeout");
  EXPECT_EQ(headers->Get("Nats-Pending-Bytes"), "0");
}

TEST(ParseHeaders, AcceptsBareLfAndMissingSpaceAfterColon) {
  auto headers = ParseHeaders("NATS/1.0 100 Idle Heartbeat\nA:b\nC:\t d \n\n");
  ASSERT_TRUE(headers.ok());
  EXPECT_EQ(headers->status(), 100);
  EXPECT_EQ(headers->description(), "Idle Heartbeat");
  EXPECT_EQ(headers->Get("A"), "b");
  EXPECT_EQ(headers->Get("C"), "d");
}

TEST(ParseHeaders, KeepsColonsInsideValues) {
  auto headers = ParseHeaders("NATS/1.0\r\nUrl: http://x:1/\r\n\r\n");
  ASSERT_TRUE(headers.ok());
  EXPECT_EQ(headers->Get("Url"), "http://x:1/");
}

TEST(ParseHeaders, RejectsMalformedBlocks) {
  const char* cases[] = {
      "",
      "HTTP/1.1 200\r\n\r\n",
      "NATS/1.0 50x\r\n\r\n",
      "NATS/1.0 50\r\n\r\n",
      "NATS/1.0 5033\r\n\r\n",
      "NATS/1.0503\r\n\r\n",
      "NATS/1.0\r\nA: b\r\n",
      "NATS/1.0\r\nno colon\r\n\r\n",
      "NATS/1.0\r\n: empty key\r\n\r\n",
      "NATS/1.0\r\nbad key: x\r\n\r\n",
      "NATS/1.0\r\n\r\ntrailing",
  };
  for (const char* block : cases) {
    auto headers = ParseHeaders(block);
    EXPECT_FALSE(headers.ok()) << block;
    EXPECT_EQ(headers.status().code(), StatusCode::kProtocolError) << block;
  }
}

TEST(ParseHeaders, RejectsBlockLargerThanTheLimit) {
  auto headers = ParseHeaders("NATS/1.0\r\nA: " + std::string(100, 'x') + "\r\n\r\n", 64);
  ASSERT_FALSE(headers.ok());
  EXPECT_EQ(headers.status().code(), StatusCode::kResourceExhausted);
}

TEST(ParseHeaders, RoundTripsWhatHeadersEncodes) {
  Headers headers;
  headers.set_status(409, "Consumer Deleted");
  headers.Add("Nats-Service-Error", "bad input");
  headers.Add("Nats-Service-Error-Code", "400");
  headers.Add("Nats-Service-Error-Code", "401");
  auto parsed = ParseHeaders(headers.Encode());
  ASSERT_TRUE(parsed.ok());
  EXPECT_EQ(parsed->status(), 409);
  EXPECT_EQ(parsed->description(), "Consumer Deleted");
  EXPECT_EQ(parsed->entries(), headers.entries());
  EXPECT_EQ(parsed->Encode(), headers.Encode());
}

TEST(Headers, ValidatesHeaderKeys) {
  EXPECT_TRUE(IsValidHeaderKey("Nats-Msg-Id"));
  EXPECT_TRUE(IsValidHeaderKey("!~"));
  EXPECT_FALSE(IsValidHeaderKey(""));
  EXPECT_FALSE(IsValidHeaderKey("A:B"));
  EXPECT_FALSE(IsValidHeaderKey("A B"));
  EXPECT_FALSE(IsValidHeaderKey("A\r\nInjected: x"));
  EXPECT_FALSE(IsValidHeaderKey("A\nB"));
  EXPECT_FALSE(IsValidHeaderKey(std::string("A\x7f")));
  EXPECT_FALSE(IsValidHeaderKey(std::string("\xc3\xa9")));
}

}  // namespace
}  // namespace embed::wire
