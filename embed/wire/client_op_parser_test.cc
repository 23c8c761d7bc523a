#include "embed/wire/client_op_parser.h"

#include <atomic>
#include <cstdlib>
#include <new>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "embed/wire/encoder.h"

#include "embed/wire/internal/describe_ops.h"
#include "embed/wire/internal/transcript.h"

// Counts heap allocations in this test binary, to check that parsing does
// none per op.
namespace {
std::atomic<std::size_t> allocation_count{0};
}  // namespace

void* operator new(std::size_t size) {
  ++allocation_count;
  void* block = std::malloc(size == 0 ? 1 : size);
  if (block == nullptr) std::abort();
  return block;
}
void operator delete(void* block) noexcept { std::free(block); }
void operator delete(void* block, std::size_t) noexcept { std::free(block); }

namespace embed::wire {
namespace {

using internal::DescribeOp;
using internal::Transcript;

using ValidCase = internal::ValidCase<ClientOp>;

std::vector<ValidCase> ValidCases() {
  return {
      {"Connect", "CONNECT {\"verbose\":false}\r\n", {Connect{"{\"verbose\":false}"}}},
      {"ConnectWithoutSpace", "CONNECT{\"verbose\":false}\r\n", {Connect{"{\"verbose\":false}"}}},
      {"ConnectLowerCaseTrailingBlanks", "connect \t{}  \r\n", {Connect{"{}"}}},
      {"Pub", "PUB FOO 11\r\nHello NATS!\r\n", {Pub{"FOO", "", "Hello NATS!"}}},
      {"PubWithReply", "PUB FRONT.DOOR _INBOX.z8Qx.1 11\r\nKnock Knock\r\n",
       {Pub{"FRONT.DOOR", "_INBOX.z8Qx.1", "Knock Knock"}}},
      {"PubEmpty", "PUB NOTIFY 0\r\n\r\n", {Pub{"NOTIFY", "", ""}}},
      {"PubMixedCaseTabsAndBareLf", "pUb\tfoo \t 3 \nabc\r\n", {Pub{"foo", "", "abc"}}},
      {"PubPayloadWithCrLfInside", "PUB a 4\r\n\r\n\r\n\r\n", {Pub{"a", "", "\r\n\r\n"}}},
      {"PubLeadingZerosInSize", "PUB a 003\r\nabc\r\n", {Pub{"a", "", "abc"}}},
      {"PubNineDigitSizeOfZero", "PUB a 000000000\r\n\r\n", {Pub{"a", "", ""}}},
      {"HPub", "HPUB FOO 22 33\r\nNATS/1.0\r\nBar: Baz\r\n\r\nHello NATS!\r\n",
       {HPub{"FOO", "", "NATS/1.0\r\nBar: Baz\r\n\r\n", "Hello NATS!"}}},
      {"HPubWithReplyEmptyPayload", "HPUB NOTIFY r.1 22 22\r\nNATS/1.0\r\nBar: Baz\r\n\r\n\r\n",
       {HPub{"NOTIFY", "r.1", "NATS/1.0\r\nBar: Baz\r\n\r\n", ""}}},
      {"HPubMultiValue",
       "HPUB MORNING.MENU 47 51\r\nNATS/1.0\r\nBREAKFAST: donut\r\nBREAKFAST: eggs\r\n\r\nYum!\r\n",
       {HPub{"MORNING.MENU", "", "NATS/1.0\r\nBREAKFAST: donut\r\nBREAKFAST: eggs\r\n\r\n",
             "Yum!"}}},
      {"Sub", "SUB FOO 1\r\n", {Sub{"FOO", "", "1"}}},
      {"SubWithQueue", "SUB BAR G1 44\r\n", {Sub{"BAR", "G1", "44"}}},
      {"SubDoubleSpaceFromNatsGo", "SUB foo  1\r\n", {Sub{"foo", "", "1"}}},
      {"SubTrailingBlanksBareLf", "sub a.b\t q  7  \n", {Sub{"a.b", "q", "7"}}},
      {"Unsub", "UNSUB 1\r\n", {Unsub{"1", std::nullopt}}},
      {"UnsubTrailingSpaceFromNatsGo", "UNSUB 1 \r\n", {Unsub{"1", std::nullopt}}},
      {"UnsubWithMax", "UNSUB 1 5\r\n", {Unsub{"1", 5u}}},
      {"UnsubWithZeroMax", "UNSUB 1 0\r\n", {Unsub{"1", 0u}}},
      {"UnsubNonNumericMaxIsNoMax", "UNSUB 1 abc\r\n", {Unsub{"1", std::nullopt}}},
      {"UnsubTooLongMaxIsNoMax", "UNSUB 1 1234567890\r\n", {Unsub{"1", std::nullopt}}},
      {"Ping", "PING\r\n", {Ping{}}},
      {"PingIgnoresArguments", "PING foo\r\n", {Ping{}}},
      {"PingGluedToJunk", "pingpong\n", {Ping{}}},
      {"Pong", "PONG\r\n", {Pong{}}},
      {"Ok", "+OK\r\n", {ClientOk{}}},
      {"Info", "INFO {\"a\":1} \r\n", {ClientInfo{"{\"a\":1}"}}},
      {"Err", "-ERR 'bad thing'\r\n", {ClientErr{"bad thing"}}},
      {"ErrWithoutQuotes", "-ERR oops \r\n", {ClientErr{"oops"}}},
      {"NatsGoHandshake",
       "CONNECT {\"verbose\":false,\"pedantic\":false,\"headers\":true}\r\nPING\r\n",
       {Connect{"{\"verbose\":false,\"pedantic\":false,\"headers\":true}"}, Ping{}}},
      {"Pipeline",
       "SUB a 1\r\nPUB a 2\r\nhi\r\nHPUB a r 12 14\r\nNATS/1.0\r\n\r\nyo\r\nUNSUB 1\r\nPING\r\n",
       {Sub{"a", "", "1"}, Pub{"a", "", "hi"}, HPub{"a", "r", "NATS/1.0\r\n\r\n", "yo"},
        Unsub{"1", std::nullopt}, Ping{}}},
  };
}

TEST(ClientOpParser, ParsesEveryValidCase) {
  for (const auto& test : ValidCases()) {
    const Transcript transcript = internal::ParseWhole<ClientOpParser>(test.input, Limits{});
    EXPECT_EQ(transcript.ops, internal::DescribeOps(test.ops)) << test.name;
    EXPECT_EQ(transcript.violation, Violation::kNone) << test.name;
    EXPECT_EQ(transcript.buffered_bytes, 0u) << test.name;
  }
}

TEST(ClientOpParser, GivesTheSameOpsWhenInputIsSplitAtEveryByteBoundary) {
  for (const auto& test : ValidCases()) {
    const Transcript whole = internal::ParseWhole<ClientOpParser>(test.input, Limits{});
    for (std::size_t cut = 1; cut < test.input.size(); ++cut) {
      EXPECT_EQ(internal::ParseWithCuts<ClientOpParser>(test.input, {cut}, Limits{}), whole)
          << test.name << " cut at " << cut;
      EXPECT_EQ(internal::ParseWithCuts<ClientOpParser>(test.input, {cut}, Limits{},
                                                    internal::FeedMode::kCopy),
                whole)
          << test.name << " copied, cut at " << cut;
    }
  }
}

TEST(ClientOpParser, GivesTheSameOpsWhenInputIsFedByteByByte) {
  for (const auto& test : ValidCases()) {
    EXPECT_EQ(internal::ParseByteByByte<ClientOpParser>(test.input, Limits{}),
              internal::ParseWhole<ClientOpParser>(test.input, Limits{}))
        << test.name;
  }
}

struct InvalidCase {
  const char* name;
  std::string input;
  Violation violation;
  StatusCode code;
};

std::vector<InvalidCase> InvalidCases() {
  const auto kUnknown = Violation::kUnknownOperation;
  const auto kMalformed = Violation::kMalformed;
  const auto kProtocol = StatusCode::kProtocolError;
  const auto kExhausted = StatusCode::kResourceExhausted;
  return {
      {"UnknownOp", "FOO bar\r\n", kUnknown, kProtocol},
      {"MsgFromClient", "MSG foo 1 2\r\nhi\r\n", kUnknown, kProtocol},
      {"EmptyLine", "\r\nPING\r\n", kUnknown, kProtocol},
      {"LeadingSpace", " PING\r\n", kUnknown, kProtocol},
      {"PubWithoutSeparator", "PUBfoo 1\r\n", kUnknown, kProtocol},
      {"PubAlone", "PUB\r\n", kUnknown, kProtocol},
      {"SubWithoutSeparator", "SUB\r\n", kUnknown, kProtocol},
      {"ErrWithoutSeparator", "-ERR\r\n", kUnknown, kProtocol},
      {"TruncatedPingName", "PIN\r\n", kUnknown, kProtocol},
      {"PayloadTrailerNotCrLf", "PUB foo 3\r\nabcXY", kUnknown, kProtocol},
      {"PayloadTrailerBareLf", "PUB foo 3\r\nabc\nPING\r\n", kUnknown, kProtocol},
      {"PayloadTrailerCrThenJunk", "PUB foo 3\r\nabc\rX", kUnknown, kProtocol},
      {"PayloadLongerThanSize", "PUB foo 2\r\nabc\r\n", kUnknown, kProtocol},
      {"HPubTrailerNotCrLf", "HPUB foo 12 12\r\nNATS/1.0\r\n\r\nxx", kUnknown, kProtocol},
      {"PubOneArg", "PUB foo\r\n", kMalformed, kProtocol},
      {"PubFourArgs", "PUB a b c 1\r\n", kMalformed, kProtocol},
      {"PubSizeNotNumber", "PUB foo x\r\n", kMalformed, kProtocol},
      {"PubNegativeSize", "PUB foo -1\r\n", kMalformed, kProtocol},
      {"PubSignedSize", "PUB foo +1\r\n", kMalformed, kProtocol},
      {"PubTenDigitSize", "PUB foo 0000000001\r\n", kMalformed, kProtocol},
      {"HPubTwoArgs", "HPUB foo 1\r\n", kMalformed, kProtocol},
      {"HPubFiveArgs", "HPUB a b c 1 2\r\n", kMalformed, kProtocol},
      {"HPubHeaderLargerThanTotal", "HPUB foo 10 5\r\n", kMalformed, kProtocol},
      {"HPubBadHeaderSize", "HPUB foo x 5\r\n", kMalformed, kProtocol},
      {"SubOneArg", "SUB foo\r\n", kMalformed, kProtocol},
      {"SubFourArgs", "SUB a b c d\r\n", kMalformed, kProtocol},
      {"UnsubNoArgs", "UNSUB \r\n", kMalformed, kProtocol},
      {"UnsubThreeArgs", "UNSUB 1 2 3\r\n", kMalformed, kProtocol},
      {"PubTooLarge", "PUB foo 1048577\r\n", Violation::kPayloadTooLarge, kExhausted},
      {"HPubTotalTooLarge", "HPUB foo 10 1048577\r\n", Violation::kPayloadTooLarge, kExhausted},
      {"HPubHeaderBlockTooLarge", "HPUB foo 65537 65540\r\n", Violation::kPayloadTooLarge,
       kExhausted},
      {"SubjectTooLong", "PUB " + std::string(1025, 'a') + " 0\r\n\r\n", kMalformed, kExhausted},
      {"ControlLineTooLong", "PUB foo " + std::string(4100, 'a') + " 1\r\n",
       Violation::kControlLineTooLong, kExhausted},
      {"ControlLineTooLongWithoutLf", "SUB " + std::string(5000, 'a'),
       Violation::kControlLineTooLong, kExhausted},
      {"PingWithHugeJunk", "PING" + std::string(5000, ' ') + "\r\n",
       Violation::kControlLineTooLong, kExhausted},
  };
}

TEST(ClientOpParser, ReportsEveryViolation) {
  for (const auto& test : InvalidCases()) {
    ClientOpParser parser;
    parser.Feed(test.input);
    Status status;
    while (true) {
      auto next = parser.Next();
      if (!next.ok()) {
        status = next.status();
        break;
      }
      if (!next->has_value()) break;
    }
    EXPECT_EQ(parser.violation(), test.violation) << test.name;
    EXPECT_EQ(status.code(), test.code) << test.name;
  }
}

TEST(ClientOpParser, ReportsTheSameViolationWhateverTheSplit) {
  for (const auto& test : InvalidCases()) {
    const Transcript whole = internal::ParseWhole<ClientOpParser>(test.input, Limits{});
    EXPECT_EQ(whole.violation, test.violation) << test.name;
    EXPECT_EQ(internal::ParseByteByByte<ClientOpParser>(test.input, Limits{}), whole)
        << test.name;
  }
}

TEST(ClientOpParser, RejectsSubjectWithMoreTokensThanTheLimit) {
  Limits limits;
  limits.max_subject_tokens = 3;
  ClientOpParser parser(limits);
  parser.Feed("SUB a.b.c 1\r\nSUB a.b.c.d 2\r\n");
  auto first = parser.Next();
  ASSERT_TRUE(first.ok() && first->has_value());
  auto second = parser.Next();
  ASSERT_FALSE(second.ok());
  EXPECT_EQ(parser.violation(), Violation::kMalformed);
  EXPECT_EQ(second.status().code(), StatusCode::kResourceExhausted);
}

TEST(ClientOpParser, RejectsPayloadLargerThanMaxPayload) {
  ClientOpParser parser;
  parser.set_max_payload_bytes(10);
  parser.Feed("PUB foo 10\r\n0123456789\r\nPUB foo 11\r\n");
  auto first = parser.Next();
  ASSERT_TRUE(first.ok() && first->has_value());
  auto second = parser.Next();
  ASSERT_FALSE(second.ok());
  EXPECT_EQ(parser.violation(), Violation::kPayloadTooLarge);
}

TEST(ClientOpParser, ChecksPayloadSizeBeforeThePayloadArrives) {
  ClientOpParser parser;
  parser.Feed("PUB foo 2000000\r\n");
  auto next = parser.Next();
  ASSERT_FALSE(next.ok());
  EXPECT_EQ(parser.violation(), Violation::kPayloadTooLarge);
}

TEST(ClientOpParser, CountsHeadersAndPayloadAgainstMaxPayload) {
  Limits limits;
  limits.max_payload_bytes = 20;
  ClientOpParser parser(limits);
  parser.Feed("HPUB foo 12 21\r\n");
  ASSERT_FALSE(parser.Next().ok());
  EXPECT_EQ(parser.violation(), Violation::kPayloadTooLarge);
}

TEST(ClientOpParser, AcceptsControlLineOfExactlyTheLimit) {
  Limits limits;
  limits.max_control_line_bytes = 16;
  ClientOpParser parser(limits);
  // Arguments "0123456789abcd 1" are 16 bytes.
  parser.Feed("SUB 0123456789abcd 1\r\n");
  auto next = parser.Next();
  ASSERT_TRUE(next.ok() && next->has_value());
  parser.Feed("SUB 0123456789abcde 1\r\n");
  EXPECT_FALSE(parser.Next().ok());
  EXPECT_EQ(parser.violation(), Violation::kControlLineTooLong);
}

TEST(ClientOpParser, DetectsOverlongLineWithoutBufferingMoreThanTheLimit) {
  Limits limits;
  limits.max_control_line_bytes = 64;
  ClientOpParser parser(limits);
  const std::string chunk(16, 'x');
  parser.Feed("PUB ");
  ASSERT_TRUE(parser.Next().ok());
  bool failed = false;
  for (int i = 0; i < 100 && !failed; ++i) {
    parser.Feed(chunk);
    auto next = parser.Next();
    if (!next.ok()) failed = true;
    EXPECT_LE(parser.buffered_bytes(), 4u + 64u + 3u + chunk.size());
  }
  EXPECT_TRUE(failed);
  EXPECT_EQ(parser.violation(), Violation::kControlLineTooLong);
}

TEST(ClientOpParser, DetectsOverlongLineInsideOneLargeFeed) {
  ClientOpParser parser;
  const std::string input = "SUB " + std::string(1 << 20, 'a');
  parser.Feed(input);
  EXPECT_FALSE(parser.Next().ok());
  EXPECT_EQ(parser.violation(), Violation::kControlLineTooLong);
}

TEST(ClientOpParser, ReturnsTheSameErrorOnEveryLaterCall) {
  ClientOpParser parser;
  parser.Feed("BOGUS\r\n");
  auto first = parser.Next();
  ASSERT_FALSE(first.ok());
  parser.Feed("PING\r\n");
  auto second = parser.Next();
  ASSERT_FALSE(second.ok());
  EXPECT_EQ(first.status(), second.status());
  EXPECT_EQ(parser.violation(), Violation::kUnknownOperation);
}

TEST(ClientOpParser, ReturnsOpsThatPointIntoTheFedBytes) {
  const std::string input = "PUB foo 5\r\nhello\r\n";
  ClientOpParser parser;
  parser.Feed(input);
  auto next = parser.Next();
  ASSERT_TRUE(next.ok() && next->has_value());
  const auto& pub = std::get<Pub>(**next);
  EXPECT_EQ(pub.payload.data(), input.data() + 11);
  EXPECT_EQ(parser.buffered_bytes(), input.size());
  auto end = parser.Next();
  ASSERT_TRUE(end.ok());
  EXPECT_FALSE(end->has_value());
  EXPECT_EQ(parser.buffered_bytes(), 0u);
}

TEST(ClientOpParser, KeepsAnIncompleteTailAfterTheFedBytesAreGone) {
  ClientOpParser parser;
  {
    std::string first = "PING\r\nPUB foo 5\r\nhel";
    parser.Feed(first);
    auto ping = parser.Next();
    ASSERT_TRUE(ping.ok() && ping->has_value());
    auto more = parser.Next();
    ASSERT_TRUE(more.ok());
    ASSERT_FALSE(more->has_value());
    first.assign(first.size(), '#');  // the caller reuses its read buffer
  }
  EXPECT_EQ(parser.buffered_bytes(), 14u);  // "PUB foo 5\r\nhel"
  std::string second = "lo\r\nPONG\r\n";
  parser.Feed(second);
  auto pub = parser.Next();
  ASSERT_TRUE(pub.ok() && pub->has_value());
  EXPECT_EQ(DescribeOp(**pub), DescribeOp(Pub{"foo", "", "hello"}));
  auto pong = parser.Next();
  ASSERT_TRUE(pong.ok() && pong->has_value());
  EXPECT_TRUE(std::holds_alternative<Pong>(**pong));
}

TEST(ClientOpParser, FeedCopyLetsTheCallerReleaseBytesAtOnce) {
  ClientOpParser parser;
  {
    std::string bytes = "SUB a 1\r\nPI";
    parser.FeedCopy(bytes);
    bytes.assign(bytes.size(), '#');
  }
  parser.FeedCopy("NG\r\n");
  auto sub = parser.Next();
  ASSERT_TRUE(sub.ok() && sub->has_value());
  EXPECT_EQ(DescribeOp(**sub), DescribeOp(Sub{"a", "", "1"}));
  auto ping = parser.Next();
  ASSERT_TRUE(ping.ok() && ping->has_value());
  EXPECT_TRUE(std::holds_alternative<Ping>(**ping));
}

TEST(ClientOpParser, AcceptsSeveralFeedsBeforeNext) {
  ClientOpParser parser;
  const std::string a = "PUB foo 3\r\na";
  const std::string b = "bc\r\nPI";
  const std::string c = "NG\r\n";
  parser.Feed(a);
  parser.Feed(b);
  parser.Feed(c);
  auto pub = parser.Next();
  ASSERT_TRUE(pub.ok() && pub->has_value());
  EXPECT_EQ(DescribeOp(**pub), DescribeOp(Pub{"foo", "", "abc"}));
  auto ping = parser.Next();
  ASSERT_TRUE(ping.ok() && ping->has_value());
  auto end = parser.Next();
  ASSERT_TRUE(end.ok());
  EXPECT_FALSE(end->has_value());
}

TEST(ClientOpParser, ParsesALargePayloadArrivingInManyReads) {
  const std::string payload(200000, 'z');
  const std::string input = "PUB big 200000\r\n" + payload + "\r\nPING\r\n";
  std::vector<std::size_t> cuts;
  for (std::size_t at = 1000; at < input.size(); at += 4096) cuts.push_back(at);
  const Transcript transcript = internal::ParseWithCuts<ClientOpParser>(input, cuts, Limits{});
  ASSERT_EQ(transcript.ops.size(), 2u);
  EXPECT_EQ(transcript.ops[0], DescribeOp(Pub{"big", "", payload}));
}

template <typename Parser>
concept CanFeedTemporaryString = requires(Parser parser) { parser.Feed(std::string("x")); };
template <typename Parser>
concept CanFeedLvalueString = requires(Parser parser, std::string bytes) { parser.Feed(bytes); };

TEST(ClientOpParser, RefusesAtCompileTimeToBorrowATemporaryString) {
  static_assert(!CanFeedTemporaryString<ClientOpParser>);
  static_assert(CanFeedLvalueString<ClientOpParser>);
  ClientOpParser parser;
  parser.Feed("PING\r\n");  // literals and views stay fine
  parser.FeedCopy(std::string("PONG\r\n"));
  auto ping = parser.Next();
  ASSERT_TRUE(ping.ok() && ping->has_value());
  EXPECT_TRUE(std::holds_alternative<Ping>(**ping));
  auto pong = parser.Next();
  ASSERT_TRUE(pong.ok() && pong->has_value());
  EXPECT_TRUE(std::holds_alternative<Pong>(**pong));
}

TEST(ClientOpParser, AllocatesNothingPerOp) {
  std::string stream;
  for (int i = 0; i < 1000; ++i) {
    EncodePub(stream, "bench.subject", "", "0123456789abcdef");
    EncodeHPub(stream, "bench.subject", "reply", "NATS/1.0\r\n\r\n", "x");
    EncodeSub(stream, "a.b", "q", "12");
    EncodePing(stream);
  }
  ClientOpParser parser;
  std::size_t ops = 0;
  const std::size_t before = allocation_count.load();
  // Reads of 4 KiB, not aligned to ops: only the straddling tails are copied.
  for (std::size_t at = 0; at < stream.size(); at += 4096) {
    parser.Feed(ByteView(stream).substr(at, 4096));
    while (true) {
      auto next = parser.Next();
      ASSERT_TRUE(next.ok());
      if (!next->has_value()) break;
      ++ops;
    }
  }
  const std::size_t allocations = allocation_count.load() - before;
  EXPECT_EQ(ops, 4000u);
  // The tail buffer grows a few times at most; never once per op or per read.
  EXPECT_LE(allocations, 4u);
}

}  // namespace
}  // namespace embed::wire
