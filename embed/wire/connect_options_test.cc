#include "embed/wire/connect_options.h"

#include <gtest/gtest.h>

namespace embed::wire {
namespace {

TEST(ParseConnectOptions, DecodesWhatNatsGoSends) {
  auto options = ParseConnectOptions(
      R"({"verbose":false,"pedantic":false,"tls_required":false,"name":"app","lang":"go",)"
      R"("version":"1.53.1","protocol":1,"echo":true,"headers":true,"no_responders":true})");
  ASSERT_TRUE(options.ok()) << options.status().ToString();
  EXPECT_FALSE(options->verbose);
  EXPECT_FALSE(options->pedantic);
  EXPECT_EQ(options->name, "app");
  EXPECT_EQ(options->lang, "go");
  EXPECT_EQ(options->version, "1.53.1");
  EXPECT_EQ(options->protocol, 1);
  EXPECT_TRUE(options->echo);
  EXPECT_TRUE(options->headers);
  EXPECT_TRUE(options->no_responders);
  EXPECT_FALSE(options->has_legacy_account);
}

TEST(ParseConnectOptions, KeepsServerDefaultsForAbsentFields) {
  auto options = ParseConnectOptions("{}");
  ASSERT_TRUE(options.ok());
  EXPECT_TRUE(options->verbose);
  EXPECT_TRUE(options->pedantic);
  EXPECT_TRUE(options->echo);
  EXPECT_FALSE(options->headers);
  EXPECT_EQ(options->protocol, 0);
}

TEST(ParseConnectOptions, MatchesKeysCaseInsensitively) {
  auto options = ParseConnectOptions(R"({"Verbose":false,"USER":"u","Pass":"p","Auth_Token":"t"})");
  ASSERT_TRUE(options.ok());
  EXPECT_FALSE(options->verbose);
  EXPECT_EQ(options->user, "u");
  EXPECT_EQ(options->pass, "p");
  EXPECT_EQ(options->auth_token, "t");
}

TEST(ParseConnectOptions, IgnoresUnknownKeysAndNulls) {
  auto options = ParseConnectOptions(R"({"future":[1,{"x":2}],"verbose":null,"jwt":"j"})");
  ASSERT_TRUE(options.ok());
  EXPECT_TRUE(options->verbose);
  EXPECT_EQ(options->jwt, "j");
}

TEST(ParseConnectOptions, DecodesCredentials) {
  auto options = ParseConnectOptions(R"({"jwt":"eyJ","nkey":"UABC","sig":"c2ln"})");
  ASSERT_TRUE(options.ok());
  EXPECT_EQ(options->jwt, "eyJ");
  EXPECT_EQ(options->nkey, "UABC");
  EXPECT_EQ(options->sig, "c2ln");
}

TEST(ParseConnectOptions, FlagsLegacyAccountKeys) {
  auto account = ParseConnectOptions(R"({"account":"A"})");
  ASSERT_TRUE(account.ok());
  EXPECT_TRUE(account->has_legacy_account);
  auto new_account = ParseConnectOptions(R"({"New_Account":true})");
  ASSERT_TRUE(new_account.ok());
  EXPECT_TRUE(new_account->has_legacy_account);
}

TEST(ParseConnectOptions, RejectsMalformedJsonAndWrongTypes) {
  const char* cases[] = {
      "",           "{",
      "[]",         "\"x\"",
      "{\"verbose\":\"false\"}", "{\"protocol\":\"1\"}",
      "{\"protocol\":1.5}",      "{\"protocol\":99999999999}",
      "{\"user\":1}",            "{\"headers\":1}",
      "{\"account\":true}",      "{\"a\":1}x",
  };
  for (const char* json : cases) {
    auto options = ParseConnectOptions(json);
    EXPECT_FALSE(options.ok()) << json;
    EXPECT_EQ(options.status().code(), StatusCode::kProtocolError) << json;
  }
}

TEST(EncodeConnectOptions, WritesNatsGoFieldOrder) {
  ConnectOptions options;
  options.verbose = false;
  options.pedantic = false;
  options.lang = "embed";
  options.version = "0.1.0";
  options.protocol = 1;
  options.headers = true;
  options.no_responders = true;
  EXPECT_EQ(EncodeConnectOptions(options),
            R"({"verbose":false,"pedantic":false,"tls_required":false,"name":"","lang":"embed",)"
            R"("version":"0.1.0","protocol":1,"echo":true,"headers":true,"no_responders":true})");
}

TEST(EncodeConnectOptions, RoundTripsCredentialsWithEscapes) {
  ConnectOptions options;
  options.user = "u\"ser";
  options.pass = "p\\ass\n";
  options.auth_token = "tok";
  options.jwt = "eyJ";
  options.nkey = "UABC";
  options.sig = "sig";
  options.name = "caf\xc3\xa9";
  auto parsed = ParseConnectOptions(EncodeConnectOptions(options));
  ASSERT_TRUE(parsed.ok());
  EXPECT_EQ(parsed->user, options.user);
  EXPECT_EQ(parsed->pass, options.pass);
  EXPECT_EQ(parsed->auth_token, "tok");
  EXPECT_EQ(parsed->jwt, "eyJ");
  EXPECT_EQ(parsed->nkey, "UABC");
  EXPECT_EQ(parsed->sig, "sig");
  EXPECT_EQ(parsed->name, options.name);
}

}  // namespace
}  // namespace embed::wire
