#include "embed/wire/encoder.h"

#include <string>

#include <gtest/gtest.h>

#include "embed/wire/client_op_parser.h"
#include "embed/wire/headers.h"
#include "embed/wire/internal/describe_ops.h"
#include "embed/wire/server_op_parser.h"

namespace embed::wire {
namespace {

using internal::DescribeOp;

TEST(Encoder, WritesClientOpsExactlyAsTheProtocolSpecifies) {
  std::string out;
  EncodeConnect(out, "{\"verbose\":false}");
  EXPECT_EQ(out, "CONNECT {\"verbose\":false}\r\n");
  out.clear();
  EncodePub(out, "FOO", "", "Hello NATS!");
  EXPECT_EQ(out, "PUB FOO 11\r\nHello NATS!\r\n");
  out.clear();
  EncodePub(out, "FRONT.DOOR", "_INBOX.z8Qx.1", "Knock Knock");
  EXPECT_EQ(out, "PUB FRONT.DOOR _INBOX.z8Qx.1 11\r\nKnock Knock\r\n");
  out.clear();
  EncodeHPub(out, "FOO", "", "NATS/1.0\r\nBar: Baz\r\n\r\n", "Hello NATS!");
  EXPECT_EQ(out, "HPUB FOO 22 33\r\nNATS/1.0\r\nBar: Baz\r\n\r\nHello NATS!\r\n");
  out.clear();
  EncodeSub(out, "BAR", "G1", "44");
  EXPECT_EQ(out, "SUB BAR G1 44\r\n");
  out.clear();
  EncodeSub(out, "FOO", "", "1");
  EXPECT_EQ(out, "SUB FOO 1\r\n");
  out.clear();
  EncodeUnsub(out, "1");
  EncodeUnsub(out, "1", 5);
  EXPECT_EQ(out, "UNSUB 1\r\nUNSUB 1 5\r\n");
  out.clear();
  EncodePing(out);
  EncodePong(out);
  EXPECT_EQ(out, "PING\r\nPONG\r\n");
}

TEST(Encoder, WritesServerOpsExactlyAsNatsServer) {
  std::string out;
  EncodeInfo(out, "{\"server_id\":\"N\"}");
  EXPECT_EQ(out, "INFO {\"server_id\":\"N\"} \r\n");
  out.clear();
  EncodeMsg(out, "FOO.BAR", "9", "GREETING.34", "Hello World");
  EXPECT_EQ(out, "MSG FOO.BAR 9 GREETING.34 11\r\nHello World\r\n");
  out.clear();
  EncodeMsg(out, "FOO.BAR", "9", "", "Hello World");
  EXPECT_EQ(out, "MSG FOO.BAR 9 11\r\nHello World\r\n");
  out.clear();
  EncodeHMsg(out, "_INBOX.abc.1", "3", "", "NATS/1.0 503\r\n\r\n", "");
  EXPECT_EQ(out, "HMSG _INBOX.abc.1 3 16 16\r\nNATS/1.0 503\r\n\r\n\r\n");
  out.clear();
  EncodeOk(out);
  EncodeErr(out, "Unknown Protocol Operation");
  EXPECT_EQ(out, "+OK\r\n-ERR 'Unknown Protocol Operation'\r\n");
}

TEST(Encoder, WritesLargeSizesInDecimal) {
  std::string out;
  EncodeUnsub(out, "7", 18446744073709551615u);
  EXPECT_EQ(out, "UNSUB 7 18446744073709551615\r\n");
  out.clear();
  EncodePub(out, "a", "", std::string(1000000, 'x'));
  EXPECT_EQ(out.substr(0, 14), "PUB a 1000000\r");
}

TEST(Encoder, AppendsToExistingBytes) {
  std::string out = "PING\r\n";
  EncodePub(out, "a", "", "b");
  EXPECT_EQ(out, "PING\r\nPUB a 1\r\nb\r\n");
}

TEST(Encoder, ClientOpsRoundTripThroughTheClientOpParser) {
  Headers headers;
  headers.Add("Bar", "Baz");
  const std::string block = headers.Encode();
  std::string out;
  EncodeConnect(out, "{}");
  EncodePub(out, "a.b", "r.1", "payload\r\nwith crlf");
  EncodeHPub(out, "a.b", "", block, "body");
  EncodeSub(out, "a.*", "q", "12");
  EncodeUnsub(out, "12", 3);
  EncodePing(out);
  EncodePong(out);
  const std::vector<ClientOp> expected = {
      Connect{"{}"},
      Pub{"a.b", "r.1", "payload\r\nwith crlf"},
      HPub{"a.b", "", block, "body"},
      Sub{"a.*", "q", "12"},
      Unsub{"12", 3u},
      Ping{},
      Pong{}};
  ClientOpParser parser;
  parser.Feed(out);
  for (const auto& op : expected) {
    auto next = parser.Next();
    ASSERT_TRUE(next.ok() && next->has_value());
    EXPECT_EQ(DescribeOp(**next), DescribeOp(op));
  }
  auto end = parser.Next();
  ASSERT_TRUE(end.ok());
  EXPECT_FALSE(end->has_value());
}

TEST(Encoder, ServerOpsRoundTripThroughTheServerOpParser) {
  std::string out;
  EncodeInfo(out, "{\"a\":1}");
  EncodeMsg(out, "s", "1", "r", "x");
  EncodeHMsg(out, "s", "2", "", "NATS/1.0\r\n\r\n", "yz");
  EncodeOk(out);
  EncodeErr(out, "Stale Connection");
  EncodePing(out);
  const std::vector<ServerOp> expected = {Info{"{\"a\":1}"},
                                          Msg{"s", "1", "r", "x"},
                                          HMsg{"s", "2", "", "NATS/1.0\r\n\r\n", "yz"},
                                          Ok{},
                                          Err{"Stale Connection"},
                                          ServerPing{}};
  ServerOpParser parser;
  parser.Feed(out);
  for (const auto& op : expected) {
    auto next = parser.Next();
    ASSERT_TRUE(next.ok() && next->has_value());
    EXPECT_EQ(DescribeOp(**next), DescribeOp(op));
  }
}

}  // namespace
}  // namespace embed::wire
