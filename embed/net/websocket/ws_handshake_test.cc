#include "embed/net/websocket/ws_handshake.h"

#include <set>
#include <string>

#include <gtest/gtest.h>

namespace embed::net {
namespace {

constexpr std::string_view kRfcKey = "dGhlIHNhbXBsZSBub25jZQ==";

std::string Request(std::string extra = "", std::string method = "GET") {
  return method +
         " / HTTP/1.1\r\nHost: 127.0.0.1:8080\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
         "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n" +
         extra + "\r\n";
}

TEST(WsHandshakeTest, AcceptKeyMatchesRfc6455Example) {
  EXPECT_EQ(WsAcceptKey(kRfcKey), "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");
}

TEST(WsHandshakeTest, ExactSwitchingProtocolsResponse) {
  auto accepted = AcceptUpgrade(Request(), WsServerOptions{});
  ASSERT_TRUE(accepted.ok()) << accepted.status().ToString();
  EXPECT_EQ(accepted->response,
            "HTTP/1.1 101 Switching Protocols\r\n"
            "Upgrade: websocket\r\n"
            "Connection: Upgrade\r\n"
            "Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n"
            "\r\n");
  EXPECT_EQ(accepted->codec.role, WsRole::kServer);
  EXPECT_FALSE(accepted->codec.compression);
  EXPECT_FALSE(accepted->codec.accept_unmasked);
  EXPECT_FALSE(accepted->codec.browser_framing);
  EXPECT_FALSE(accepted->is_browser);
}

TEST(WsHandshakeTest, CompressionNoMaskingAndBrowser) {
  WsServerOptions options;
  options.max_message_bytes = 12345;
  auto accepted = AcceptUpgrade(
      Request("Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits\r\n"
              "Nats-No-Masking: TRUE\r\nUser-Agent: Mozilla/5.0 (X11; Linux x86_64)\r\n"),
      options);
  ASSERT_TRUE(accepted.ok()) << accepted.status().ToString();
  EXPECT_EQ(accepted->response,
            "HTTP/1.1 101 Switching Protocols\r\n"
            "Upgrade: websocket\r\n"
            "Connection: Upgrade\r\n"
            "Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n"
            "Sec-WebSocket-Extensions: permessage-deflate; server_no_context_takeover; "
            "client_no_context_takeover\r\n"
            "Nats-No-Masking: true\r\n"
            "\r\n");
  EXPECT_TRUE(accepted->codec.compression);
  EXPECT_TRUE(accepted->codec.accept_unmasked);
  EXPECT_TRUE(accepted->codec.browser_framing);
  EXPECT_TRUE(accepted->is_browser);
  EXPECT_EQ(accepted->codec.max_message_bytes, 12345u);

  options.compression = false;  // server without compression ignores the offer
  accepted = AcceptUpgrade(Request("Sec-WebSocket-Extensions: x-foo, permessage-deflate\r\n"), options);
  ASSERT_TRUE(accepted.ok());
  EXPECT_FALSE(accepted->codec.compression);
  EXPECT_EQ(accepted->response.find("Extensions"), std::string::npos);
}

TEST(WsHandshakeTest, TokenListsAreCaseInsensitive) {
  const std::string request =
      "GET /some/path HTTP/1.1\r\nhost: h\r\nupgrade: h2c, WebSocket\r\nconnection: keep-alive, UPGRADE\r\n"
      "sec-websocket-key: abc\r\nsec-websocket-version: 8, 13\r\n"
      "Sec-WebSocket-Extensions: x-webkit\r\nSec-WebSocket-Extensions: Permessage-Deflate\r\n\r\n";
  auto accepted = AcceptUpgrade(request, WsServerOptions{});
  ASSERT_TRUE(accepted.ok()) << accepted.status().ToString();
  EXPECT_TRUE(accepted->codec.compression);
}

TEST(WsHandshakeTest, RejectionStatuses) {
  struct Case {
    std::string request;
    int http_status;
    std::string message;
  };
  const std::string base_tail = "Sec-WebSocket-Version: 13\r\n\r\n";
  const Case cases[] = {
      {Request("", "POST"), 405, "request method must be GET"},
      {"GET / HTTP/1.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: k\r\n" + base_tail, 400,
       "'Host' missing in request"},
      {"GET / HTTP/1.1\r\nHost: h\r\nUpgrade: h2c\r\nConnection: Upgrade\r\nSec-WebSocket-Key: k\r\n" + base_tail,
       400, "invalid value for header 'Upgrade'"},
      {"GET / HTTP/1.1\r\nHost: h\r\nUpgrade: websocket\r\nConnection: keep-alive\r\nSec-WebSocket-Key: k\r\n" +
           base_tail,
       400, "invalid value for header 'Connection'"},
      {"GET / HTTP/1.1\r\nHost: h\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" + base_tail, 400,
       "key missing"},
      {"GET / HTTP/1.1\r\nHost: h\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: k\r\n"
       "Sec-WebSocket-Version: 8\r\n\r\n",
       400, "invalid version"},
  };
  for (const Case& c : cases) {
    auto accepted = AcceptUpgrade(c.request, WsServerOptions{});
    ASSERT_FALSE(accepted.ok()) << c.request;
    EXPECT_EQ(accepted.status().message(), c.message);
    EXPECT_EQ(WsRejectStatusFor(accepted.status()), c.http_status) << c.message;
  }
  // Garbage, a body, trailing bytes and oversize requests fail too.
  EXPECT_FALSE(AcceptUpgrade("\x16\x03\x01 hello", WsServerOptions{}).ok());
  EXPECT_FALSE(AcceptUpgrade(Request("Content-Length: 5\r\n") + "hello", WsServerOptions{}).ok());
  EXPECT_FALSE(AcceptUpgrade(Request() + "X", WsServerOptions{}).ok());
  WsServerOptions small;
  small.max_request_bytes = 64;
  auto too_big = AcceptUpgrade(Request(), small);
  ASSERT_FALSE(too_big.ok());
  EXPECT_EQ(WsRejectStatusFor(too_big.status()), 400);
}

TEST(WsHandshakeTest, RejectResponseBytes) {
  EXPECT_EQ(WsRejectResponse(400, "invalid version"),
            "HTTP/1.1 400 Bad Request\r\nSec-Websocket-Version: 13\r\n"
            "Content-Type: text/plain; charset=utf-8\r\nConnection: close\r\n"
            "Content-Length: 15\r\n\r\ninvalid version");
  EXPECT_EQ(WsRejectResponse(405, "x\r\ny").substr(0, 33), "HTTP/1.1 405 Method Not Allowed\r\n");
  EXPECT_NE(WsRejectResponse(405, "x\r\ny").find("\r\n\r\nx  y"), std::string::npos);
  EXPECT_EQ(WsRejectResponse(403, "no").substr(0, 24), "HTTP/1.1 403 Forbidden\r\n");
}

TEST(WsHandshakeTest, NewKeysAreRandomBase64Of16Bytes) {
  std::set<std::string> keys;
  for (int i = 0; i < 50; ++i) {
    const std::string key = NewWsKey();
    EXPECT_EQ(key.size(), 24u);
    EXPECT_EQ(key.substr(22), "==");
    keys.insert(key);
  }
  EXPECT_EQ(keys.size(), 50u);
}

TEST(WsHandshakeTest, ClientRequestIsAcceptedByServer) {
  const std::string key = NewWsKey();
  const std::string request = BuildUpgradeRequest("localhost:4222", "", key, true);
  EXPECT_EQ(request,
            "GET / HTTP/1.1\r\nHost: localhost:4222\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
            "Sec-WebSocket-Key: " +
                key +
                "\r\nSec-WebSocket-Version: 13\r\n"
                "Sec-WebSocket-Extensions: permessage-deflate; server_no_context_takeover; "
                "client_no_context_takeover\r\n\r\n");
  auto accepted = AcceptUpgrade(request, WsServerOptions{});
  ASSERT_TRUE(accepted.ok()) << accepted.status().ToString();
  EXPECT_TRUE(accepted->codec.compression);
  auto client = ParseUpgradeResponse(accepted->response, key, true);
  ASSERT_TRUE(client.ok()) << client.status().ToString();
  EXPECT_EQ(client->role, WsRole::kClient);
  EXPECT_TRUE(client->compression);

  const std::string plain = BuildUpgradeRequest("h:1", "/ws", key, false);
  EXPECT_EQ(plain.find("Extensions"), std::string::npos);
  EXPECT_EQ(plain.substr(0, 19), "GET /ws HTTP/1.1\r\nH");
  accepted = AcceptUpgrade(plain, WsServerOptions{});
  ASSERT_TRUE(accepted.ok());
  client = ParseUpgradeResponse(accepted->response, key, false);
  ASSERT_TRUE(client.ok());
  EXPECT_FALSE(client->compression);
}

TEST(WsHandshakeTest, ClientChecksTheResponse) {
  const std::string ok_head =
      "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
      "Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n";
  EXPECT_TRUE(ParseUpgradeResponse(ok_head + "\r\n", kRfcKey, false).ok());
  EXPECT_TRUE(ParseUpgradeResponse(ok_head + "\r\n", kRfcKey, true).ok());  // offer declined
  EXPECT_FALSE(ParseUpgradeResponse(ok_head + "\r\n", "b3RoZXIga2V5IDEyMzQ1Ng==", false).ok());
  auto status = ParseUpgradeResponse("HTTP/1.1 400 Bad Request\r\nContent-Length: 3\r\n\r\n", kRfcKey, false);
  ASSERT_FALSE(status.ok());
  EXPECT_NE(status.status().message().find("400"), std::string_view::npos);
  EXPECT_FALSE(ParseUpgradeResponse("garbage\r\n\r\n", kRfcKey, false).ok());
  EXPECT_FALSE(ParseUpgradeResponse(
                   "HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\n"
                   "Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n\r\n",
                   kRfcKey, false)
                   .ok());
  auto negotiation =
      ParseUpgradeResponse(ok_head + "Sec-WebSocket-Extensions: permessage-deflate\r\n\r\n", kRfcKey, true);
  ASSERT_FALSE(negotiation.ok());
  EXPECT_EQ(negotiation.status().message(), "compression negotiation error");
}

TEST(WsHandshakeTest, ClientRejectsCompressionItDidNotOffer) {
  const std::string head =
      "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
      "Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n"
      "Sec-WebSocket-Extensions: permessage-deflate; server_no_context_takeover; client_no_context_takeover\r\n"
      "\r\n";
  auto offered = ParseUpgradeResponse(head, kRfcKey, true);
  ASSERT_TRUE(offered.ok()) << offered.status().ToString();
  EXPECT_TRUE(offered->compression);
  auto not_offered = ParseUpgradeResponse(head, kRfcKey, false);
  ASSERT_FALSE(not_offered.ok());
  EXPECT_NE(not_offered.status().message().find("not offered"), std::string_view::npos);
}

TEST(WsHandshakeTest, ClientRejectsASubprotocol) {
  const std::string head =
      "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
      "Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n";
  EXPECT_TRUE(ParseUpgradeResponse(head + "\r\n", kRfcKey, false).ok());
  for (const bool offer : {false, true}) {
    auto result = ParseUpgradeResponse(head + "Sec-WebSocket-Protocol: mqtt\r\n\r\n", kRfcKey, offer);
    ASSERT_FALSE(result.ok());
    EXPECT_NE(result.status().message().find("subprotocol"), std::string_view::npos);
  }
}

TEST(WsHandshakeTest, SafariGetsUnfragmentedCompressedOutput) {
  const std::string offer = "Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits\r\n";
  struct Agent {
    const char* user_agent;
    bool safari;
  };
  const Agent agents[] = {
      {"Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) "
       "Version/17.1 Safari/605.1.15",
       true},
      {"Mozilla/5.0 (iPhone; CPU iPhone OS 17_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) "
       "Version/17.1 Mobile/15E148 Safari/604.1",
       true},
      {"Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 "
       "Safari/537.36",
       false},
      {"Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 "
       "Safari/537.36 Edg/120.0.0.0",
       false},
      {"Mozilla/5.0 (Linux; Android 10; K) AppleWebKit/537.36 (KHTML, like Gecko) Version/4.0 "
       "Safari/537.36",
       false},
      {"Mozilla/5.0 (X11; Ubuntu; Linux x86_64; rv:120.0) Gecko/20100101 Firefox/120.0", false},
  };
  for (const Agent& agent : agents) {
    auto accepted = AcceptUpgrade(Request(offer + "User-Agent: " + agent.user_agent + "\r\n"), WsServerOptions{});
    ASSERT_TRUE(accepted.ok()) << accepted.status().ToString();
    EXPECT_TRUE(accepted->codec.browser_framing) << agent.user_agent;
    EXPECT_EQ(accepted->is_safari, agent.safari) << agent.user_agent;
    EXPECT_EQ(accepted->codec.no_fragmenting_compressed, agent.safari) << agent.user_agent;
  }
  // Not a browser: no browser framing at all, whatever else it says.
  auto accepted = AcceptUpgrade(Request(offer + "User-Agent: nats.go Safari/1\r\n"), WsServerOptions{});
  ASSERT_TRUE(accepted.ok());
  EXPECT_FALSE(accepted->codec.browser_framing);
  EXPECT_FALSE(accepted->codec.no_fragmenting_compressed);
}

}  // namespace
}  // namespace embed::net
