#pragma once
// The NATS service API ("micro", ADR-32, nats-wire.md §9): subjects, names
// and the JSON of the PING, INFO and STATS responses, built and parsed. Pure:
// no connection. ServiceHost answers with it; `embed rpc --list` reads it.

#include <chrono>
#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "embed/base/result.h"

namespace embed::rpc::micro {

enum class Verb { kPing, kInfo, kStats };
std::string_view VerbName(Verb verb);  // "PING", "INFO", "STATS"

// The three subjects a service instance answers for `verb`:
// "$SRV.<VERB>", "$SRV.<VERB>.<name>", "$SRV.<VERB>.<name>.<id>".
std::vector<std::string> VerbSubjects(Verb verb, std::string_view name, std::string_view id);

// [A-Za-z0-9_-]+ (service and endpoint names).
bool IsValidName(std::string_view name);
// SemVer 2.0 (the official regular expression).
bool IsValidVersion(std::string_view version);

// "2024-06-21T10:00:00.123456789Z".
std::string FormatRfc3339(std::chrono::system_clock::time_point time);

struct ServiceIdentity {
  std::string name;
  std::string id;
  std::string version;
  std::map<std::string, std::string> metadata;
};

struct EndpointInfo {
  std::string name;
  std::string subject;
  std::string queue_group;
  std::map<std::string, std::string> metadata;  // emitted as null when empty
};

struct EndpointStats {
  std::string name;
  std::string subject;
  std::string queue_group;
  std::uint64_t num_requests = 0;
  std::uint64_t num_errors = 0;
  std::string last_error;                 // "<code>:<description>", "" when none
  std::int64_t processing_time_ns = 0;    // total
  std::int64_t average_processing_time_ns = 0;
};

std::string PingResponseJson(const ServiceIdentity& service);
std::string InfoResponseJson(const ServiceIdentity& service, std::string_view description,
                             const std::vector<EndpointInfo>& endpoints);
std::string StatsResponseJson(const ServiceIdentity& service, std::string_view started_rfc3339,
                              const std::vector<EndpointStats>& endpoints);

// Parsed responses (from any NATS service, not only ours). kProtocolError
// when the JSON is malformed or its "type" is not the expected one; unknown
// fields are ignored, "metadata": null is accepted.
struct InfoResponse {
  ServiceIdentity service;
  std::string description;
  std::vector<EndpointInfo> endpoints;
};
struct StatsResponse {
  ServiceIdentity service;
  std::string started;
  std::vector<EndpointStats> endpoints;
};
Result<ServiceIdentity> ParsePingResponse(std::string_view json);
Result<InfoResponse> ParseInfoResponse(std::string_view json);
Result<StatsResponse> ParseStatsResponse(std::string_view json);

}  // namespace embed::rpc::micro
