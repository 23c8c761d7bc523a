#include "embed/rpc/internal/frames.h"

#include <gtest/gtest.h>

namespace embed::rpc::internal {
namespace {

using std::chrono::milliseconds;

TEST(Frames, OpenRoundTrip) {
  wire::Headers metadata;
  metadata.Add("Authorization", "Bearer x");
  client::Message open = MakeOpen("svc.S.M", "_INBOX.a.1", MethodKind::kBidiStreaming, 64,
                                  milliseconds(500), milliseconds(1500), metadata, "");
  EXPECT_EQ(open.subject, "svc.S.M");
  EXPECT_EQ(open.reply_to, "_INBOX.a.1");
  EXPECT_EQ(open.headers.Get("Authorization"), "Bearer x");
  Result<Frame> frame = DecodeFrame(open);
  ASSERT_TRUE(frame.ok()) << frame.status().ToString();
  EXPECT_EQ(frame->type, FrameType::kOpen);
  EXPECT_EQ(frame->kind, MethodKind::kBidiStreaming);
  EXPECT_EQ(frame->window, 64u);
  EXPECT_EQ(frame->keepalive, milliseconds(500));
  EXPECT_EQ(frame->timeout, milliseconds(1500));
}

TEST(Frames, PlainRequestIsUnary) {
  client::Message plain;
  plain.subject = "svc.S.M";
  plain.payload = "x";
  Result<Frame> frame = DecodeFrame(plain);
  ASSERT_TRUE(frame.ok());
  EXPECT_EQ(frame->type, FrameType::kUnary);
  EXPECT_FALSE(frame->timeout.has_value());
  EXPECT_TRUE(frame->status.ok());
}

TEST(Frames, DataCreditEndRoundTrip) {
  Result<Frame> data = DecodeFrame(MakeData("to", "from", 7, "payload"));
  ASSERT_TRUE(data.ok());
  EXPECT_EQ(data->type, FrameType::kData);
  EXPECT_EQ(data->seq, 7u);

  Result<Frame> credit = DecodeFrame(MakeCredit("to", "from", 96));
  ASSERT_TRUE(credit.ok());
  EXPECT_EQ(credit->granted, 96u);
  Result<Frame> keepalive = DecodeFrame(MakeKeepalive("to", "from", 160));
  ASSERT_TRUE(keepalive.ok());
  EXPECT_EQ(keepalive->type, FrameType::kKeepalive);
  EXPECT_EQ(keepalive->granted, 160u);
  Result<Frame> bare = DecodeFrame(MakeKeepalive("to", "from", 0));
  ASSERT_TRUE(bare.ok());
  EXPECT_EQ(bare->granted, 0u);
  EXPECT_FALSE(bare->ended.has_value());
  Result<Frame> ended = DecodeFrame(MakeKeepalive("to", "from", 0, 7));
  ASSERT_TRUE(ended.ok());
  EXPECT_EQ(ended->ended, std::optional<std::uint64_t>(7));

  Result<Frame> end =
      DecodeFrame(MakeEnd("to", "from", 3, RpcStatus(RpcCode::kNotFound, "no such user"), ""));
  ASSERT_TRUE(end.ok());
  EXPECT_EQ(end->type, FrameType::kEnd);
  EXPECT_EQ(end->seq, 3u);
  EXPECT_EQ(end->status, RpcStatus(RpcCode::kNotFound, "no such user"));
}

TEST(Frames, ErrorRepliesUseTheServiceApiHeaders) {
  client::Message reply =
      MakeUnaryReply("_INBOX.x", RpcStatus(RpcCode::kPermissionDenied, "nope"), "ignored");
  EXPECT_TRUE(reply.payload.empty());
  EXPECT_EQ(reply.headers.Get("Nats-Service-Error"), "nope");
  EXPECT_EQ(reply.headers.Get("Nats-Service-Error-Code"), "7");
  EXPECT_EQ(StatusOf(reply), RpcStatus(RpcCode::kPermissionDenied, "nope"));

  client::Message ok = MakeUnaryReply("_INBOX.x", RpcStatus::Ok(), "bytes");
  EXPECT_FALSE(ok.has_headers);
  EXPECT_EQ(ok.payload, "bytes");

  // Another NATS service's HTTP-style code.
  client::Message foreign;
  foreign.headers.Add("Nats-Service-Error", "bad input");
  foreign.headers.Add("Nats-Service-Error-Code", "400");
  EXPECT_EQ(StatusOf(foreign), RpcStatus(RpcCode::kInvalidArgument, "bad input"));
}

TEST(Frames, LongErrorMessagesAreCut) {
  client::Message reply =
      MakeUnaryReply("x", RpcStatus(RpcCode::kInternal, std::string(5000, 'e')), "");
  EXPECT_EQ(reply.headers.Get("Nats-Service-Error").size(), kMaxErrorMessageBytes);
}

TEST(Frames, NoRespondersIsUnavailable) {
  client::Message status;
  status.headers.set_status(503);
  Result<Frame> frame = DecodeFrame(status);
  ASSERT_TRUE(frame.ok());
  EXPECT_TRUE(frame->is_no_responders);
  EXPECT_EQ(StatusOf(status).code(), RpcCode::kUnavailable);
}

TEST(Frames, RejectsMalformedHeaders) {
  auto with = [](std::string_view type, std::string_view key, std::string_view value) {
    client::Message message;
    message.headers.Add("Embed-Rpc", type);
    if (!key.empty()) message.headers.Add(key, value);
    return DecodeFrame(message);
  };
  EXPECT_FALSE(with("bogus", "", "").ok());
  EXPECT_FALSE(with("data", "", "").ok());  // no seq
  EXPECT_FALSE(with("data", "Embed-Seq", "12x").ok());
  EXPECT_FALSE(with("data", "Embed-Seq", "-1").ok());
  EXPECT_FALSE(with("credit", "Embed-Credit", "0").ok());
  EXPECT_FALSE(with("credit", "Embed-Credit", "1x").ok());
  EXPECT_FALSE(with("keepalive", "Embed-Credit", "-5").ok());
  EXPECT_FALSE(with("open", "Embed-Kind", "unary").ok());           // unary is not a stream
  EXPECT_FALSE(with("open", "Embed-Kind", "bidi_streaming").ok());  // no window
  client::Message timeout;
  timeout.headers.Add("Embed-Timeout", "99999999999999999999");
  EXPECT_FALSE(DecodeFrame(timeout).ok());
  client::Message keepalive =
      MakeOpen("s", "r", MethodKind::kServerStreaming, 1, milliseconds(500), std::nullopt, {}, "");
  keepalive.headers.Set("Embed-Keepalive", "1");  // below the minimum
  EXPECT_FALSE(DecodeFrame(keepalive).ok());
}

TEST(SendWindow, CountsTotalGrantsAndSends) {
  SendWindow window;
  EXPECT_FALSE(window.CanSend());
  window.GrantTotal(2);
  EXPECT_EQ(window.TakeSeq(), 1u);
  EXPECT_EQ(window.TakeSeq(), 2u);
  EXPECT_FALSE(window.CanSend());
  window.GrantTotal(3);
  EXPECT_TRUE(window.CanSend());
  EXPECT_EQ(window.sent(), 2u);
  // Totals heal a lost grant and ignore an older one that arrives late.
  window.GrantTotal(10);
  window.GrantTotal(4);
  EXPECT_EQ(window.available(), 8u);
}

TEST(ReceiveWindow, ChecksSequenceAndGrant) {
  ReceiveWindow window(4);
  EXPECT_TRUE(window.OnData(1).ok());
  EXPECT_EQ(window.OnData(3).code(), RpcCode::kDataLoss);  // 2 missing
  EXPECT_EQ(window.OnData(1).code(), RpcCode::kDataLoss);  // repeated
  EXPECT_TRUE(window.OnData(2).ok());
  EXPECT_TRUE(window.OnData(3).ok());
  EXPECT_TRUE(window.OnData(4).ok());
  EXPECT_EQ(window.OnData(5).code(), RpcCode::kResourceExhausted);  // beyond the window
  EXPECT_EQ(window.OnEnd(5).code(), RpcCode::kDataLoss);
  EXPECT_TRUE(window.OnEnd(4).ok());
}

TEST(ReceiveWindow, GrantsAfterHalfTheWindowIsConsumed) {
  ReceiveWindow window(4);
  for (std::uint64_t seq = 1; seq <= 4; ++seq) ASSERT_TRUE(window.OnData(seq).ok());
  EXPECT_FALSE(window.OnConsumed());
  EXPECT_TRUE(window.OnConsumed());  // half the window consumed
  EXPECT_EQ(window.granted(), 6u);
  EXPECT_TRUE(window.OnData(5).ok());
  EXPECT_TRUE(window.OnData(6).ok());
  EXPECT_EQ(window.OnData(7).code(), RpcCode::kResourceExhausted);
  ReceiveWindow one(1);
  ASSERT_TRUE(one.OnData(1).ok());
  EXPECT_TRUE(one.OnConsumed());
  EXPECT_EQ(one.granted(), 2u);
  EXPECT_TRUE(one.OnData(2).ok());
}

}  // namespace
}  // namespace embed::rpc::internal
