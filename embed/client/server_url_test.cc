#include "embed/client/server_url.h"

#include <gtest/gtest.h>

namespace embed::client {
namespace {

TEST(ParseServerUrl, AcceptsTheFormsNatsClientsAccept) {
  struct Case {
    std::string_view url;
    std::string host;
    std::uint16_t port;
    std::string user, password, token;
  };
  const Case cases[] = {
      {"nats://127.0.0.1:4222", "127.0.0.1", 4222, "", "", ""},
      {"nats://example.com", "example.com", 4222, "", "", ""},
      {"localhost:5000", "localhost", 5000, "", "", ""},
      {"localhost", "localhost", 4222, "", "", ""},
      {"nats://alice:s3cret@host:1234", "host", 1234, "alice", "s3cret", ""},
      {"nats://mytoken@host:1234", "host", 1234, "", "", "mytoken"},
      {"nats://[::1]:4333", "::1", 4333, "", "", ""},
      {"[::1]", "::1", 4222, "", "", ""},
      {"nats://host:4222/", "host", 4222, "", "", ""},
  };
  for (const Case& c : cases) {
    auto url = ParseServerUrl(c.url);
    ASSERT_TRUE(url.ok()) << c.url << ": " << url.status().ToString();
    EXPECT_EQ(url->host, c.host) << c.url;
    EXPECT_EQ(url->port, c.port) << c.url;
    EXPECT_EQ(url->user, c.user) << c.url;
    EXPECT_EQ(url->password, c.password) << c.url;
    EXPECT_EQ(url->token, c.token) << c.url;
  }
}

TEST(ParseServerUrl, RejectsBadUrls) {
  for (std::string_view url :
       {"", "nats://", "nats://:4222", "http://host:4222", "host:0", "host:65536", "host:x",
        "host:", "nats://[::1", "tls://", "ws://:80", "wss://host:0", "inproc://",
        "inproc://name:4222", "inproc://a/b", "inproc://a b", "inproc://user@name"}) {
    EXPECT_EQ(ParseServerUrl(url).status().code(), StatusCode::kInvalidArgument) << url;
  }
}

TEST(ServerUrl, PrintsWithoutCredentials) {
  auto url = ParseServerUrl("nats://alice:pw@host:1234");
  ASSERT_TRUE(url.ok());
  EXPECT_EQ(url->ToString(), "nats://host:1234");
  auto v6 = ParseServerUrl("[::1]:5");
  ASSERT_TRUE(v6.ok());
  EXPECT_EQ(v6->ToString(), "nats://[::1]:5");
}

TEST(ParseServerUrl, AcceptsEveryTransportScheme) {
  struct Case {
    std::string_view url;
    UrlScheme scheme;
    std::string host;
    std::uint16_t port;
    std::string path;
  };
  const Case cases[] = {
      {"nats://h:1", UrlScheme::kNats, "h", 1, ""},
      {"tls://h", UrlScheme::kTls, "h", 4222, ""},
      {"tls://127.0.0.1:4443", UrlScheme::kTls, "127.0.0.1", 4443, ""},
      {"ws://h", UrlScheme::kWs, "h", 80, "/"},
      {"ws://h:8080", UrlScheme::kWs, "h", 8080, "/"},
      {"ws://h:8080/nats/ws", UrlScheme::kWs, "h", 8080, "/nats/ws"},
      {"wss://h", UrlScheme::kWss, "h", 443, "/"},
      {"wss://[::1]:9443/", UrlScheme::kWss, "::1", 9443, "/"},
      {"inproc://broker-1", UrlScheme::kInproc, "broker-1", 0, ""},
      {"inproc://broker.a/", UrlScheme::kInproc, "broker.a", 0, ""},
      {"h:5", UrlScheme::kNats, "h", 5, ""},
      {"WS://h:1", UrlScheme::kWs, "h", 1, "/"},
  };
  for (const Case& c : cases) {
    auto url = ParseServerUrl(c.url);
    ASSERT_TRUE(url.ok()) << c.url << ": " << url.status().ToString();
    EXPECT_EQ(url->scheme, c.scheme) << c.url;
    EXPECT_EQ(url->host, c.host) << c.url;
    EXPECT_EQ(url->port, c.port) << c.url;
    EXPECT_EQ(url->path, c.path) << c.url;
  }
  auto ws = ParseServerUrl("wss://user:pw@h:1/p");
  ASSERT_TRUE(ws.ok());
  EXPECT_EQ(ws->user, "user");
  EXPECT_EQ(ws->password, "pw");
  EXPECT_TRUE(ws->is_websocket());
  EXPECT_TRUE(ws->is_tls());
  auto tls = ParseServerUrl("tls://h");
  ASSERT_TRUE(tls.ok());
  EXPECT_TRUE(tls->is_tls());
  EXPECT_FALSE(tls->is_websocket());
}

TEST(ServerUrl, RoundTripsThroughToString) {
  for (std::string_view text :
       {"nats://host:4222", "tls://127.0.0.1:4443", "ws://host:80", "ws://host:8080/nats",
        "wss://[::1]:443", "wss://h:9/a/b", "inproc://my-broker"}) {
    auto url = ParseServerUrl(text);
    ASSERT_TRUE(url.ok()) << text;
    EXPECT_EQ(url->ToString(), text);
    auto again = ParseServerUrl(url->ToString());
    ASSERT_TRUE(again.ok()) << text;
    EXPECT_EQ(again->scheme, url->scheme);
    EXPECT_EQ(again->host, url->host);
    EXPECT_EQ(again->port, url->port);
    EXPECT_EQ(again->path, url->path);
  }
  auto defaults = ParseServerUrl("wss://user:pw@h");
  ASSERT_TRUE(defaults.ok());
  EXPECT_EQ(defaults->ToString(), "wss://h:443");
  EXPECT_EQ(UrlSchemeName(UrlScheme::kInproc), "inproc");
}

}  // namespace
}  // namespace embed::client
