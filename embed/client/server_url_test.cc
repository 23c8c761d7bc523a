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
  for (std::string_view url : {"", "nats://", "nats://:4222", "http://host:4222", "host:0",
                               "host:65536", "host:x", "host:", "nats://[::1"}) {
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

}  // namespace
}  // namespace embed::client
