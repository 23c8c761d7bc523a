#include "embed/rpc/micro.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <chrono>
#include <string>
#include <vector>

namespace embed::rpc::micro {
namespace {

using ::testing::ElementsAre;

ServiceIdentity Calc() { return ServiceIdentity{"calc", "x7Fq0fDb5b2Yk2x6QFyq2S", "1.0.0", {}}; }

TEST(VerbSubjects, AreTheThreeLevelsOfEachVerb) {
  EXPECT_THAT(VerbSubjects(Verb::kPing, "calc", "abc"),
              ElementsAre("$SRV.PING", "$SRV.PING.calc", "$SRV.PING.calc.abc"));
  EXPECT_THAT(VerbSubjects(Verb::kInfo, "calc", "abc"),
              ElementsAre("$SRV.INFO", "$SRV.INFO.calc", "$SRV.INFO.calc.abc"));
  EXPECT_THAT(VerbSubjects(Verb::kStats, "greeter_v1_Greeter", "N1"),
              ElementsAre("$SRV.STATS", "$SRV.STATS.greeter_v1_Greeter",
                          "$SRV.STATS.greeter_v1_Greeter.N1"));
  EXPECT_EQ(VerbName(Verb::kStats), "STATS");
}

TEST(IsValidName, AcceptsLettersDigitsUnderscoreAndDash) {
  EXPECT_TRUE(IsValidName("calc"));
  EXPECT_TRUE(IsValidName("greeter_v1_Greeter"));
  EXPECT_TRUE(IsValidName("a-b-9"));
  EXPECT_FALSE(IsValidName(""));
  EXPECT_FALSE(IsValidName("greeter.v1"));
  EXPECT_FALSE(IsValidName("a b"));
  EXPECT_FALSE(IsValidName("a*"));
  EXPECT_FALSE(IsValidName("a>"));
  EXPECT_FALSE(IsValidName("caf\xc3\xa9"));
}

TEST(IsValidVersion, AcceptsSemVer) {
  for (const char* version : {"0.0.4",
                              "1.2.3",
                              "10.20.30",
                              "1.1.2-prerelease+meta",
                              "1.1.2+meta",
                              "1.1.2+meta-valid",
                              "1.0.0-alpha",
                              "1.0.0-beta",
                              "1.0.0-alpha.beta",
                              "1.0.0-alpha.beta.1",
                              "1.0.0-alpha.1",
                              "1.0.0-alpha0.valid",
                              "1.0.0-alpha.0valid",
                              "1.0.0-rc.1+build.1",
                              "2.0.0-rc.1+build.123",
                              "1.2.3-beta",
                              "10.2.3-DEV-SNAPSHOT",
                              "1.2.3-SNAPSHOT-123",
                              "1.0.0",
                              "2.0.0",
                              "1.1.7",
                              "2.0.0+build.1848",
                              "2.0.1-alpha.1227",
                              "1.0.0-alpha+beta",
                              "1.2.3----RC-SNAPSHOT.12.9.1--.12+788",
                              "1.2.3----R-S.12.9.1--.12+meta",
                              "1.2.3----RC-SNAPSHOT.12.9.1--.12",
                              "1.0.0+0.build.1-rc.10000aaa-kk-0.1",
                              "1.0.0-0A.is.legal",
                              "99999999999999999999999.999999999999999999.99999999999999999"}) {
    EXPECT_TRUE(IsValidVersion(version)) << version;
  }
}

TEST(IsValidVersion, RejectsWhatTheOfficialRegexRejects) {
  for (const char* version : {"",
                              "1",
                              "1.2",
                              "1.2.3-0123",
                              "1.2.3-0123.0123",
                              "1.1.2+.123",
                              "+invalid",
                              "-invalid",
                              "-invalid+invalid",
                              "-invalid.01",
                              "alpha",
                              "alpha.beta",
                              "alpha.beta.1",
                              "alpha.1",
                              "alpha+beta",
                              "alpha_beta",
                              "alpha.",
                              "alpha..",
                              "beta",
                              "1.0.0-alpha_beta",
                              "-alpha.",
                              "1.0.0-alpha..",
                              "1.0.0-alpha..1",
                              "1.0.0-alpha...1",
                              "1.0.0-alpha....1",
                              "1.0.0-alpha.....1",
                              "1.0.0-alpha......1",
                              "1.0.0-alpha.......1",
                              "01.1.1",
                              "1.01.1",
                              "1.1.01",
                              "1.2",
                              "1.2.3.DEV",
                              "1.2-SNAPSHOT",
                              "1.2.31.2.3----RC-SNAPSHOT.12.09.1--..12+788",
                              "1.2-RC-SNAPSHOT",
                              "-1.0.3-gamma+b7718",
                              "+justmeta",
                              "9.8.7+meta+meta",
                              "9.8.7-whatever+meta+meta",
                              "1.2.3-",
                              "1.2.3+",
                              "1.2.3.",
                              "v1.2.3",
                              " 1.2.3",
                              "1.2.3 "}) {
    EXPECT_FALSE(IsValidVersion(version)) << version;
  }
}

TEST(FormatRfc3339, WritesUtcWithNanoseconds) {
  using std::chrono::sys_days;
  const auto time = sys_days(std::chrono::year{2024} / 6 / 21) + std::chrono::hours(10) +
                    std::chrono::nanoseconds(123'456'789);
  EXPECT_EQ(FormatRfc3339(std::chrono::time_point_cast<std::chrono::system_clock::duration>(time)),
            "2024-06-21T10:00:00.123456789Z");
  EXPECT_EQ(FormatRfc3339(std::chrono::system_clock::time_point{}),
            "1970-01-01T00:00:00.000000000Z");
  const auto before_epoch = sys_days(std::chrono::year{1969} / 12 / 31) + std::chrono::hours(23) +
                            std::chrono::minutes(59) + std::chrono::seconds(59) +
                            std::chrono::milliseconds(500);
  EXPECT_EQ(FormatRfc3339(
                std::chrono::time_point_cast<std::chrono::system_clock::duration>(before_epoch)),
            "1969-12-31T23:59:59.500000000Z");
}

TEST(PingResponseJson, IsNatsGoFieldOrderWithEmptyMetadataObject) {
  EXPECT_EQ(PingResponseJson(Calc()),
            R"({"name":"calc","id":"x7Fq0fDb5b2Yk2x6QFyq2S","version":"1.0.0","metadata":{},)"
            R"("type":"io.nats.micro.v1.ping_response"})");
}

TEST(InfoResponseJson, IsExactForAFixedInput) {
  ServiceIdentity service = Calc();
  service.metadata = {{"embed.service", "calc.v1.Calc"}};
  const std::vector<EndpointInfo> endpoints = {
      {"Add",
       "calc.v1.Calc.Add",
       "calc.v1.Calc",
       {{"embed.kind", "unary"}, {"embed.request", "calc.v1.AddRequest"}}},
      {"add", "calc.add", "q", {}},
  };
  EXPECT_EQ(
      InfoResponseJson(service, "adds \"numbers\"", endpoints),
      R"({"name":"calc","id":"x7Fq0fDb5b2Yk2x6QFyq2S","version":"1.0.0",)"
      R"("metadata":{"embed.service":"calc.v1.Calc"},"type":"io.nats.micro.v1.info_response",)"
      R"("description":"adds \"numbers\"","endpoints":[)"
      R"({"name":"Add","subject":"calc.v1.Calc.Add","queue_group":"calc.v1.Calc",)"
      R"("metadata":{"embed.kind":"unary","embed.request":"calc.v1.AddRequest"}},)"
      R"({"name":"add","subject":"calc.add","queue_group":"q","metadata":null}]})");
  EXPECT_EQ(InfoResponseJson(Calc(), "", {}),
            R"({"name":"calc","id":"x7Fq0fDb5b2Yk2x6QFyq2S","version":"1.0.0","metadata":{},)"
            R"("type":"io.nats.micro.v1.info_response","description":"","endpoints":[]})");
}

TEST(StatsResponseJson, IsExactForAFixedInput) {
  EndpointStats add;
  add.name = "add";
  add.subject = "calc.add";
  add.queue_group = "q";
  add.num_requests = 42;
  add.num_errors = 1;
  add.last_error = "400:bad input";
  add.processing_time_ns = 1234567;
  add.average_processing_time_ns = 29394;
  EXPECT_EQ(
      StatsResponseJson(Calc(), "2024-06-21T10:00:00.123456789Z", {add}),
      R"({"name":"calc","id":"x7Fq0fDb5b2Yk2x6QFyq2S","version":"1.0.0","metadata":{},)"
      R"("type":"io.nats.micro.v1.stats_response","started":"2024-06-21T10:00:00.123456789Z",)"
      R"("endpoints":[{"name":"add","subject":"calc.add","queue_group":"q",)"
      R"("num_requests":42,"num_errors":1,"last_error":"400:bad input",)"
      R"("processing_time":1234567,"average_processing_time":29394}]})");
}

TEST(ResponseJson, ReplacesInvalidUtf8InsteadOfThrowing) {
  ServiceIdentity service = Calc();
  service.metadata = {{"k", "bad\xff"}};
  EXPECT_EQ(PingResponseJson(service),
            R"({"name":"calc","id":"x7Fq0fDb5b2Yk2x6QFyq2S","version":"1.0.0",)"
            "\"metadata\":{\"k\":\"bad\xef\xbf\xbd\"},"
            R"("type":"io.nats.micro.v1.ping_response"})");
}

TEST(ParsePingResponse, RoundTrips) {
  ServiceIdentity service = Calc();
  service.metadata = {{"a", "1"}, {"b", "two"}};
  const Result<ServiceIdentity> parsed = ParsePingResponse(PingResponseJson(service));
  ASSERT_TRUE(parsed.ok()) << parsed.status().message();
  EXPECT_EQ(parsed->name, "calc");
  EXPECT_EQ(parsed->id, service.id);
  EXPECT_EQ(parsed->version, "1.0.0");
  EXPECT_EQ(parsed->metadata, service.metadata);
}

TEST(ParseInfoResponse, RoundTrips) {
  ServiceIdentity service = Calc();
  service.metadata = {{"embed.service", "calc.v1.Calc"}};
  const std::vector<EndpointInfo> endpoints = {
      {"Add", "calc.v1.Calc.Add", "calc.v1.Calc", {{"embed.kind", "unary"}}},
      {"add", "calc.add", "q", {}},
  };
  const Result<InfoResponse> parsed =
      ParseInfoResponse(InfoResponseJson(service, "adds numbers", endpoints));
  ASSERT_TRUE(parsed.ok()) << parsed.status().message();
  EXPECT_EQ(parsed->service.name, "calc");
  EXPECT_EQ(parsed->service.metadata, service.metadata);
  EXPECT_EQ(parsed->description, "adds numbers");
  ASSERT_EQ(parsed->endpoints.size(), 2u);
  EXPECT_EQ(parsed->endpoints[0].name, "Add");
  EXPECT_EQ(parsed->endpoints[0].subject, "calc.v1.Calc.Add");
  EXPECT_EQ(parsed->endpoints[0].queue_group, "calc.v1.Calc");
  EXPECT_EQ(parsed->endpoints[0].metadata, endpoints[0].metadata);
  EXPECT_EQ(parsed->endpoints[1].name, "add");
  EXPECT_TRUE(parsed->endpoints[1].metadata.empty());
}

TEST(ParseStatsResponse, RoundTrips) {
  EndpointStats add;
  add.name = "add";
  add.subject = "calc.add";
  add.queue_group = "q";
  add.num_requests = 18'446'744'073'709'551'615u;
  add.num_errors = 3;
  add.last_error = "13:boom";
  add.processing_time_ns = 9'223'372'036'854'775'807;
  add.average_processing_time_ns = 7;
  const Result<StatsResponse> parsed =
      ParseStatsResponse(StatsResponseJson(Calc(), "2024-06-21T10:00:00.123456789Z", {add}));
  ASSERT_TRUE(parsed.ok()) << parsed.status().message();
  EXPECT_EQ(parsed->service.name, "calc");
  EXPECT_EQ(parsed->started, "2024-06-21T10:00:00.123456789Z");
  ASSERT_EQ(parsed->endpoints.size(), 1u);
  const EndpointStats& got = parsed->endpoints[0];
  EXPECT_EQ(got.name, "add");
  EXPECT_EQ(got.subject, "calc.add");
  EXPECT_EQ(got.queue_group, "q");
  EXPECT_EQ(got.num_requests, add.num_requests);
  EXPECT_EQ(got.num_errors, 3u);
  EXPECT_EQ(got.last_error, "13:boom");
  EXPECT_EQ(got.processing_time_ns, add.processing_time_ns);
  EXPECT_EQ(got.average_processing_time_ns, 7);
}

// The examples of nats-wire.md §9.2, as nats.go emits them.
TEST(ParsePingResponse, ReadsNatsGoOutput) {
  const Result<ServiceIdentity> parsed = ParsePingResponse(
      R"({"name":"calc","id":"x7Fq0fDb5b2Yk2x6QFyq2S","version":"1.0.0","metadata":{},"type":"io.nats.micro.v1.ping_response"})");
  ASSERT_TRUE(parsed.ok()) << parsed.status().message();
  EXPECT_EQ(parsed->name, "calc");
  EXPECT_EQ(parsed->id, "x7Fq0fDb5b2Yk2x6QFyq2S");
  EXPECT_EQ(parsed->version, "1.0.0");
  EXPECT_TRUE(parsed->metadata.empty());
}

TEST(ParseInfoResponse, ReadsNatsGoOutput) {
  const Result<InfoResponse> parsed = ParseInfoResponse(
      R"({"name":"calc","id":"x7Fq0fDb5b2Yk2x6QFyq2S","version":"1.0.0","metadata":{},"type":"io.nats.micro.v1.info_response",
 "description":"adds numbers",
 "endpoints":[{"name":"add","subject":"calc.add","queue_group":"q","metadata":null}]})");
  ASSERT_TRUE(parsed.ok()) << parsed.status().message();
  EXPECT_EQ(parsed->service.name, "calc");
  EXPECT_EQ(parsed->description, "adds numbers");
  ASSERT_EQ(parsed->endpoints.size(), 1u);
  EXPECT_EQ(parsed->endpoints[0].name, "add");
  EXPECT_EQ(parsed->endpoints[0].subject, "calc.add");
  EXPECT_EQ(parsed->endpoints[0].queue_group, "q");
  EXPECT_TRUE(parsed->endpoints[0].metadata.empty());
}

TEST(ParseStatsResponse, ReadsNatsGoOutput) {
  const Result<StatsResponse> parsed = ParseStatsResponse(
      R"({"name":"calc","id":"x7Fq0fDb5b2Yk2x6QFyq2S","version":"1.0.0","metadata":{},"type":"io.nats.micro.v1.stats_response",
 "started":"2024-06-21T10:00:00.123456789Z",
 "endpoints":[{"name":"add","subject":"calc.add","queue_group":"q","num_requests":42,"num_errors":1,
               "last_error":"400:bad input","processing_time":1234567,"average_processing_time":29394,
               "data":{}}]})");
  ASSERT_TRUE(parsed.ok()) << parsed.status().message();
  EXPECT_EQ(parsed->started, "2024-06-21T10:00:00.123456789Z");
  ASSERT_EQ(parsed->endpoints.size(), 1u);
  const EndpointStats& add = parsed->endpoints[0];
  EXPECT_EQ(add.name, "add");
  EXPECT_EQ(add.num_requests, 42u);
  EXPECT_EQ(add.num_errors, 1u);
  EXPECT_EQ(add.last_error, "400:bad input");
  EXPECT_EQ(add.processing_time_ns, 1234567);
  EXPECT_EQ(add.average_processing_time_ns, 29394);
}

TEST(ParseInfoResponse, ToleratesNullsUnknownAndMissingFields) {
  const Result<InfoResponse> parsed = ParseInfoResponse(
      R"({"type":"io.nats.micro.v1.info_response","name":"calc","metadata":null,"extra":[1,{"x":2}],)"
      R"("endpoints":[{"name":"add","future":true},{"subject":null}]})");
  ASSERT_TRUE(parsed.ok()) << parsed.status().message();
  EXPECT_EQ(parsed->service.name, "calc");
  EXPECT_EQ(parsed->service.id, "");
  EXPECT_EQ(parsed->description, "");
  ASSERT_EQ(parsed->endpoints.size(), 2u);
  EXPECT_EQ(parsed->endpoints[0].name, "add");
  EXPECT_EQ(parsed->endpoints[0].subject, "");

  const Result<InfoResponse> no_endpoints =
      ParseInfoResponse(R"({"type":"io.nats.micro.v1.info_response","endpoints":null})");
  ASSERT_TRUE(no_endpoints.ok());
  EXPECT_TRUE(no_endpoints->endpoints.empty());
}

TEST(ParseStatsResponse, AcceptsWholeFloatsFromJavaScriptServices) {
  const Result<StatsResponse> parsed = ParseStatsResponse(
      R"({"type":"io.nats.micro.v1.stats_response","endpoints":[{"num_requests":2,)"
      R"("processing_time":1.5e6,"average_processing_time":750000.0}]})");
  ASSERT_TRUE(parsed.ok()) << parsed.status().message();
  EXPECT_EQ(parsed->endpoints[0].processing_time_ns, 1'500'000);
  EXPECT_EQ(parsed->endpoints[0].average_processing_time_ns, 750'000);
}

TEST(ParseResponses, RejectMalformedJsonAndWrongTypes) {
  const std::vector<std::string> bad_pings = {
      "",
      "{",
      "not json",
      "[]",
      R"("io.nats.micro.v1.ping_response")",
      R"({"name":"calc"})",                                          // no type
      R"({"type":"io.nats.micro.v1.info_response","name":"calc"})",  // other type
      R"({"type":5})",
      R"({"type":"io.nats.micro.v1.ping_response","name":5})",
      R"({"type":"io.nats.micro.v1.ping_response","metadata":[]})",
      R"({"type":"io.nats.micro.v1.ping_response","metadata":{"a":1}})",
      R"({"type":"io.nats.micro.v1.ping_response","id":{}})",
  };
  for (const std::string& json : bad_pings) {
    const Result<ServiceIdentity> parsed = ParsePingResponse(json);
    ASSERT_FALSE(parsed.ok()) << json;
    EXPECT_EQ(parsed.status().code(), StatusCode::kProtocolError) << json;
  }
  const std::vector<std::string> bad_infos = {
      R"({"type":"io.nats.micro.v1.info_response","endpoints":{}})",
      R"({"type":"io.nats.micro.v1.info_response","endpoints":[1]})",
      R"({"type":"io.nats.micro.v1.info_response","description":true})",
      R"({"type":"io.nats.micro.v1.info_response","endpoints":[{"metadata":"x"}]})",
      R"({"type":"io.nats.micro.v1.stats_response"})",
  };
  for (const std::string& json : bad_infos) {
    const Result<InfoResponse> parsed = ParseInfoResponse(json);
    ASSERT_FALSE(parsed.ok()) << json;
    EXPECT_EQ(parsed.status().code(), StatusCode::kProtocolError) << json;
  }
  const std::vector<std::string> bad_stats = {
      R"({"type":"io.nats.micro.v1.stats_response","endpoints":[{"num_requests":-1}]})",
      R"({"type":"io.nats.micro.v1.stats_response","endpoints":[{"num_requests":"1"}]})",
      R"({"type":"io.nats.micro.v1.stats_response","endpoints":[{"processing_time":1e30}]})",
      R"({"type":"io.nats.micro.v1.stats_response","started":1})",
      R"({"type":"io.nats.micro.v1.ping_response"})",
  };
  for (const std::string& json : bad_stats) {
    const Result<StatsResponse> parsed = ParseStatsResponse(json);
    ASSERT_FALSE(parsed.ok()) << json;
    EXPECT_EQ(parsed.status().code(), StatusCode::kProtocolError) << json;
  }
}

}  // namespace
}  // namespace embed::rpc::micro
