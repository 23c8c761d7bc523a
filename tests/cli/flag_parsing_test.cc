#include "tools/embed/flag_parsing.h"

#include <gtest/gtest.h>

namespace embed::tools {
namespace {

using std::chrono::milliseconds;

TEST(ParseDuration, ReadsUnitsAndCombinations) {
  const struct {
    const char* text;
    std::int64_t ms;
  } cases[] = {{"2s", 2'000},     {"500ms", 500},  {"2m", 120'000}, {"1h", 3'600'000},
               {"1m30s", 90'000}, {"1.5s", 1'500}, {"90", 90'000},  {"0", 0},
               {" 3s ", 3'000},   {"250us", 0},    {"2S", 2'000}};
  for (const auto& c : cases) {
    Result<milliseconds> duration = ParseDuration(c.text);
    ASSERT_TRUE(duration.ok()) << c.text << ": " << duration.status().ToString();
    EXPECT_EQ(duration->count(), c.ms) << c.text;
  }
}

TEST(ParseDuration, RejectsMalformedText) {
  for (const char* text : {"", "s", "2x", "-1s", "1m30", "abc", "1e3s", "2 s"}) {
    Result<milliseconds> duration = ParseDuration(text);
    ASSERT_FALSE(duration.ok()) << text;
    EXPECT_EQ(duration.status().code(), StatusCode::kInvalidArgument) << text;
    EXPECT_NE(duration.status().message().find("invalid duration"), std::string_view::npos);
  }
}

TEST(FormatDuration, RoundTripsThroughParseDuration) {
  EXPECT_EQ(FormatDuration(milliseconds(2'000)), "2s");
  EXPECT_EQ(FormatDuration(milliseconds(250)), "250ms");
  EXPECT_EQ(FormatDuration(milliseconds(90'000)), "1m30s");
  EXPECT_EQ(FormatDuration(milliseconds(120'000)), "2m");
  EXPECT_EQ(FormatDuration(milliseconds(1'500)), "1.5s");
  EXPECT_EQ(FormatDuration(milliseconds(0)), "0s");
  for (std::int64_t ms : {1, 999, 1'000, 1'001, 61'000, 3'600'000, 3'723'450}) {
    Result<milliseconds> parsed = ParseDuration(FormatDuration(milliseconds(ms)));
    ASSERT_TRUE(parsed.ok()) << ms;
    EXPECT_EQ(parsed->count(), ms);
  }
}

TEST(ParseSize, ReadsPlainNumbersAndBinaryUnits) {
  EXPECT_EQ(*ParseSize("4096"), 4096u);
  EXPECT_EQ(*ParseSize("64KB"), 64u * 1024);
  EXPECT_EQ(*ParseSize("64k"), 64u * 1024);
  EXPECT_EQ(*ParseSize("1MB"), 1024u * 1024);
  EXPECT_EQ(*ParseSize("1MiB"), 1024u * 1024);
  EXPECT_EQ(*ParseSize("2G"), 2ull << 30);
  EXPECT_EQ(*ParseSize("10B"), 10u);
}

TEST(ParseSize, RejectsUnknownUnitsAndOverflow) {
  for (const char* text :
       {"", "MB", "1XB", "-1", "1.5MB", "99999999999999999999", "18446744073709551615G"}) {
    EXPECT_FALSE(ParseSize(text).ok()) << text;
  }
}

TEST(ParseHeader, SplitsAtTheFirstColonAndTrims) {
  auto header = ParseHeader("Trace-Id: abc:def ");
  ASSERT_TRUE(header.ok());
  EXPECT_EQ(header->first, "Trace-Id");
  EXPECT_EQ(header->second, "abc:def");
  auto empty_value = ParseHeader("K:");
  ASSERT_TRUE(empty_value.ok());
  EXPECT_EQ(empty_value->second, "");
}

TEST(ParseHeader, RejectsMissingColonEmptyKeyAndSpacesInKey) {
  for (const char* text : {"novalue", ":v", "two words:v", " :v"}) {
    Result<std::pair<std::string, std::string>> header = ParseHeader(text);
    ASSERT_FALSE(header.ok()) << text;
    EXPECT_EQ(header.status().code(), StatusCode::kInvalidArgument);
  }
}

TEST(SplitServerUrls, SplitsCommasAcrossRepeatedFlags) {
  const std::vector<std::string> urls =
      SplitServerUrls({"nats://a:4222, nats://b:4222", "", "c:4222,"});
  EXPECT_EQ(urls, (std::vector<std::string>{"nats://a:4222", "nats://b:4222", "c:4222"}));
}

TEST(ParseUserPassword, KeepsColonsInThePassword) {
  auto user = ParseUserPassword("alice:s3:cret");
  ASSERT_TRUE(user.ok());
  EXPECT_EQ(user->first, "alice");
  EXPECT_EQ(user->second, "s3:cret");
  EXPECT_FALSE(ParseUserPassword("alice").ok());
  EXPECT_FALSE(ParseUserPassword(":pw").ok());
  EXPECT_FALSE(ParseUserPassword("alice:").ok());  // an empty password would let anyone in
}

}  // namespace
}  // namespace embed::tools
