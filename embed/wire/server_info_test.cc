#include "embed/wire/server_info.h"

#include <gtest/gtest.h>

namespace embed::wire {
namespace {

TEST(ParseServerInfo, DecodesATypicalNatsServerInfo) {
  auto info = ParseServerInfo(
      R"({"server_id":"NBDX","server_name":"n1","version":"2.10.29","proto":1,)"
      R"("git_commit":"1a2b3c4","go":"go1.24.4","host":"0.0.0.0","port":4222,"headers":true,)"
      R"("max_payload":1048576,"client_id":5,"client_ip":"127.0.0.1","xkey":"XA3",)"
      R"("auth_required":true,"nonce":"vLmnB-4wGGOxXc0","connect_urls":["a:1","b:2"],"ldm":true})");
  ASSERT_TRUE(info.ok()) << info.status().ToString();
  EXPECT_EQ(info->server_id, "NBDX");
  EXPECT_EQ(info->server_name, "n1");
  EXPECT_EQ(info->version, "2.10.29");
  EXPECT_EQ(info->proto, 1);
  EXPECT_EQ(info->go, "go1.24.4");
  EXPECT_EQ(info->host, "0.0.0.0");
  EXPECT_EQ(info->port, 4222);
  EXPECT_TRUE(info->headers);
  EXPECT_EQ(info->max_payload, 1048576);
  EXPECT_EQ(info->client_id, 5u);
  EXPECT_EQ(info->client_ip, "127.0.0.1");
  EXPECT_TRUE(info->auth_required);
  EXPECT_EQ(info->nonce, "vLmnB-4wGGOxXc0");
  EXPECT_EQ(info->connect_urls, (std::vector<std::string>{"a:1", "b:2"}));
  EXPECT_TRUE(info->lame_duck_mode);
}

TEST(ParseServerInfo, LeavesAbsentFieldsZero) {
  auto info = ParseServerInfo(R"({"server_id":"N"})");
  ASSERT_TRUE(info.ok());
  EXPECT_FALSE(info->headers);
  EXPECT_EQ(info->max_payload, 0);
  EXPECT_EQ(info->proto, 0);
  EXPECT_TRUE(info->version.empty());
}

TEST(ParseServerInfo, MatchesKeysCaseInsensitively) {
  auto info = ParseServerInfo(R"({"Server_ID":"N","MAX_PAYLOAD":10})");
  ASSERT_TRUE(info.ok());
  EXPECT_EQ(info->server_id, "N");
  EXPECT_EQ(info->max_payload, 10);
}

TEST(ParseServerInfo, RejectsMalformedJsonAndWrongTypes) {
  for (const char* json : {"", "{", "[1]", R"({"port":"x"})", R"({"connect_urls":[1]})",
                           R"({"client_id":-1})"}) {
    auto info = ParseServerInfo(json);
    EXPECT_FALSE(info.ok()) << json;
    EXPECT_EQ(info.status().code(), StatusCode::kProtocolError) << json;
  }
}

TEST(EncodeServerInfo, WritesAlwaysFieldsAndOmitsZeroOptionalOnes) {
  ServerInfo info;
  info.server_id = "NID";
  info.server_name = "hub";
  info.version = "2.10.0";
  info.go = "embed";
  info.host = "127.0.0.1";
  info.port = 4222;
  EXPECT_EQ(EncodeServerInfo(info),
            R"({"server_id":"NID","server_name":"hub","version":"2.10.0","proto":1,)"
            R"("go":"embed","host":"127.0.0.1","port":4222,"headers":true,)"
            R"("max_payload":1048576})");
}

TEST(EncodeServerInfo, RoundTripsEveryField) {
  ServerInfo info;
  info.server_id = "NID";
  info.server_name = "hub";
  info.host = "::1";
  info.port = 1;
  info.auth_required = true;
  info.tls_required = true;
  info.tls_verify = true;
  info.tls_available = true;
  info.max_payload = 77;
  info.client_id = 9;
  info.client_ip = "1.2.3.4";
  info.nonce = "abc";
  info.connect_urls = {"h:1"};
  info.lame_duck_mode = true;
  auto parsed = ParseServerInfo(EncodeServerInfo(info));
  ASSERT_TRUE(parsed.ok());
  EXPECT_EQ(EncodeServerInfo(*parsed), EncodeServerInfo(info));
  EXPECT_EQ(parsed->connect_urls, info.connect_urls);
  EXPECT_TRUE(parsed->lame_duck_mode);
}

}  // namespace
}  // namespace embed::wire
