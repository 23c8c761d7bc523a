#include "embed/rpc/micro.h"

#include <cstdio>
#include <limits>
#include <nlohmann/json.hpp>
#include <utility>

namespace embed::rpc::micro {

namespace {

// nats.go's field order (struct order) is kept on output: ordered_json.
using OrderedJson = nlohmann::ordered_json;
using Json = nlohmann::json;

constexpr std::string_view kPingType = "io.nats.micro.v1.ping_response";
constexpr std::string_view kInfoType = "io.nats.micro.v1.info_response";
constexpr std::string_view kStatsType = "io.nats.micro.v1.stats_response";

bool IsAsciiDigit(char c) { return c >= '0' && c <= '9'; }
bool IsAsciiAlnum(char c) {
  return IsAsciiDigit(c) || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

// SemVer: "0|[1-9]\d*".
bool IsNumericIdentifier(std::string_view text) {
  if (text.empty()) return false;
  for (char c : text) {
    if (!IsAsciiDigit(c)) return false;
  }
  return text.size() == 1 || text.front() != '0';
}

// SemVer: "[0-9a-zA-Z-]+".
bool IsAlphanumericIdentifier(std::string_view text) {
  if (text.empty()) return false;
  for (char c : text) {
    if (!IsAsciiAlnum(c) && c != '-') return false;
  }
  return true;
}

bool IsAllDigits(std::string_view text) {
  for (char c : text) {
    if (!IsAsciiDigit(c)) return false;
  }
  return true;
}

// Calls `check` on each '.'-separated part of `text`; false when one fails
// (an empty part, as in "a..b" or a trailing '.', fails every check).
template <typename Check>
bool EachDotPart(std::string_view text, Check check) {
  std::size_t start = 0;
  while (true) {
    const std::size_t dot = text.find('.', start);
    const std::string_view part =
        text.substr(start, dot == std::string_view::npos ? std::string_view::npos : dot - start);
    if (!check(part)) return false;
    if (dot == std::string_view::npos) return true;
    start = dot + 1;
  }
}

// Writes the service identity and "type" first, in nats.go's order.
OrderedJson IdentityJson(const ServiceIdentity& service, std::string_view type) {
  OrderedJson json = OrderedJson::object();
  json["name"] = service.name;
  json["id"] = service.id;
  json["version"] = service.version;
  // nats.go sends {} for a service without metadata.
  json["metadata"] = OrderedJson::object();
  for (const auto& [key, value] : service.metadata) json["metadata"][key] = value;
  json["type"] = std::string(type);
  return json;
}

// Invalid UTF-8 (names are ours, but metadata may come from configuration)
// becomes U+FFFD, as Go's encoder does, instead of throwing.
std::string Dump(const OrderedJson& json) {
  return json.dump(-1, ' ', false, OrderedJson::error_handler_t::replace);
}

Status WrongType(std::string_view field) {
  return ProtocolError("service API JSON: wrong type for \"" + std::string(field) + "\"");
}

// The readers leave the output alone for a missing field or null, as Go's
// encoding/json does, and fail on any other wrong type.
Status ReadString(const Json& object, std::string_view field, std::string& out) {
  const auto it = object.find(field);
  if (it == object.end() || it->is_null()) return Status::Ok();
  if (!it->is_string()) return WrongType(field);
  out = it->get<std::string>();
  return Status::Ok();
}

// Integers; a floating-point number (JavaScript services compute some
// values in doubles) is truncated when in range.
template <typename Int>
Status ReadInt(const Json& object, std::string_view field, Int& out) {
  const auto it = object.find(field);
  if (it == object.end() || it->is_null()) return Status::Ok();
  if (it->is_number_unsigned()) {
    const auto number = it->get<std::uint64_t>();
    if (number > static_cast<std::uint64_t>(std::numeric_limits<Int>::max())) {
      return WrongType(field);
    }
    out = static_cast<Int>(number);
    return Status::Ok();
  }
  if (it->is_number_integer()) {
    const auto number = it->get<std::int64_t>();
    if (number < 0 && !std::numeric_limits<Int>::is_signed) return WrongType(field);
    out = static_cast<Int>(number);
    return Status::Ok();
  }
  if (it->is_number_float()) {
    const double number = it->get<double>();
    // Both bounds are powers of two, exact as doubles; NaN fails both tests.
    const double low = static_cast<double>(std::numeric_limits<Int>::min());
    const double high = static_cast<double>(std::numeric_limits<Int>::max()) + 1.0;
    if (!(number >= low && number < high)) return WrongType(field);
    out = static_cast<Int>(number);
    return Status::Ok();
  }
  return WrongType(field);
}

Status ReadMetadata(const Json& object, std::map<std::string, std::string>& out) {
  const auto it = object.find("metadata");
  if (it == object.end() || it->is_null()) return Status::Ok();
  if (!it->is_object()) return WrongType("metadata");
  for (const auto& [key, value] : it->items()) {
    if (!value.is_string()) return WrongType("metadata");
    out[key] = value.get<std::string>();
  }
  return Status::Ok();
}

// Parses `json` as an object whose "type" is `type` and reads the identity.
Result<Json> ParseObject(std::string_view json, std::string_view type, ServiceIdentity& identity) {
  Json document = Json::parse(json.begin(), json.end(), nullptr, /*allow_exceptions=*/false);
  if (document.is_discarded()) return ProtocolError("service API JSON is malformed");
  if (!document.is_object()) return ProtocolError("service API JSON is not an object");
  const auto type_field = document.find("type");
  if (type_field == document.end() || !type_field->is_string() ||
      type_field->get_ref<const std::string&>() != type) {
    return ProtocolError("service API JSON: \"type\" is not " + std::string(type));
  }
  EMBED_RETURN_IF_ERROR(ReadString(document, "name", identity.name));
  EMBED_RETURN_IF_ERROR(ReadString(document, "id", identity.id));
  EMBED_RETURN_IF_ERROR(ReadString(document, "version", identity.version));
  EMBED_RETURN_IF_ERROR(ReadMetadata(document, identity.metadata));
  return document;
}

// Calls `read` on each element of the "endpoints" array (absent or null: none).
template <typename Read>
Status ForEachEndpoint(const Json& document, Read read) {
  const auto it = document.find("endpoints");
  if (it == document.end() || it->is_null()) return Status::Ok();
  if (!it->is_array()) return WrongType("endpoints");
  for (const Json& endpoint : *it) {
    if (!endpoint.is_object()) return WrongType("endpoints");
    EMBED_RETURN_IF_ERROR(read(endpoint));
  }
  return Status::Ok();
}

}  // namespace

std::string_view VerbName(Verb verb) {
  switch (verb) {
    case Verb::kPing:
      return "PING";
    case Verb::kInfo:
      return "INFO";
    case Verb::kStats:
      return "STATS";
  }
  return "PING";
}

std::vector<std::string> VerbSubjects(Verb verb, std::string_view name, std::string_view id) {
  // nats-wire.md §9.1: "$SRV.<VERB>", "$SRV.<VERB>.<name>", "$SRV.<VERB>.<name>.<id>".
  std::string all = "$SRV.";
  all += VerbName(verb);
  std::string by_name = all + "." + std::string(name);
  std::string by_id = by_name + "." + std::string(id);
  return {std::move(all), std::move(by_name), std::move(by_id)};
}

bool IsValidName(std::string_view name) {
  if (name.empty()) return false;
  for (char c : name) {
    if (!IsAsciiAlnum(c) && c != '_' && c != '-') return false;
  }
  return true;
}

// A hand-written equivalent of the official SemVer 2.0 regular expression
// (https://semver.org, "Is there a suggested regular expression"):
//   ^(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)
//    (?:-((?:0|[1-9]\d*|\d*[a-zA-Z-][0-9a-zA-Z-]*)(?:\.(?:0|[1-9]\d*|\d*[a-zA-Z-][0-9a-zA-Z-]*))*))?
//    (?:\+([0-9a-zA-Z-]+(?:\.[0-9a-zA-Z-]+)*))?$
// libstdc++'s std::regex recurses per character, so a long hostile string
// could exhaust the stack; this check is linear and allocation-free.
bool IsValidVersion(std::string_view version) {
  // Build metadata follows the first '+' (it may contain '-', never '+').
  const std::size_t plus = version.find('+');
  if (plus != std::string_view::npos) {
    if (!EachDotPart(version.substr(plus + 1), IsAlphanumericIdentifier)) return false;
    version = version.substr(0, plus);
  }
  // The core has no '-', so the first '-' starts the pre-release.
  const std::size_t dash = version.find('-');
  if (dash != std::string_view::npos) {
    // Pre-release identifier: alphanumeric, and without leading zeros when numeric.
    const auto is_pre_release_identifier = [](std::string_view part) {
      if (!IsAlphanumericIdentifier(part)) return false;
      return !IsAllDigits(part) || IsNumericIdentifier(part);
    };
    if (!EachDotPart(version.substr(dash + 1), is_pre_release_identifier)) return false;
    version = version.substr(0, dash);
  }
  int parts = 0;
  const bool numeric = EachDotPart(version, [&parts](std::string_view part) {
    ++parts;
    return IsNumericIdentifier(part);
  });
  return numeric && parts == 3;
}

std::string FormatRfc3339(std::chrono::system_clock::time_point time) {
  // Always nine fraction digits (Go's RFC3339Nano trims trailing zeros; both
  // are RFC 3339 and parse the same).
  const auto since_epoch =
      std::chrono::duration_cast<std::chrono::nanoseconds>(time.time_since_epoch());
  const auto days = std::chrono::floor<std::chrono::days>(since_epoch);
  const std::chrono::year_month_day date{std::chrono::sys_days(days)};
  const std::chrono::hh_mm_ss<std::chrono::nanoseconds> clock(since_epoch - days);
  char text[64];
  std::snprintf(text, sizeof(text), "%04d-%02u-%02uT%02d:%02d:%02d.%09lldZ",
                static_cast<int>(date.year()), static_cast<unsigned>(date.month()),
                static_cast<unsigned>(date.day()), static_cast<int>(clock.hours().count()),
                static_cast<int>(clock.minutes().count()),
                static_cast<int>(clock.seconds().count()),
                static_cast<long long>(clock.subseconds().count()));
  return text;
}

std::string PingResponseJson(const ServiceIdentity& service) {
  return Dump(IdentityJson(service, kPingType));
}

std::string InfoResponseJson(const ServiceIdentity& service, std::string_view description,
                             const std::vector<EndpointInfo>& endpoints) {
  OrderedJson json = IdentityJson(service, kInfoType);
  json["description"] = std::string(description);
  OrderedJson list = OrderedJson::array();
  for (const EndpointInfo& endpoint : endpoints) {
    OrderedJson item = OrderedJson::object();
    item["name"] = endpoint.name;
    item["subject"] = endpoint.subject;
    item["queue_group"] = endpoint.queue_group;
    // nats.go: a nil map is null.
    item["metadata"] = nullptr;
    for (const auto& [key, value] : endpoint.metadata) item["metadata"][key] = value;
    list.push_back(std::move(item));
  }
  json["endpoints"] = std::move(list);
  return Dump(json);
}

std::string StatsResponseJson(const ServiceIdentity& service, std::string_view started_rfc3339,
                              const std::vector<EndpointStats>& endpoints) {
  OrderedJson json = IdentityJson(service, kStatsType);
  json["started"] = std::string(started_rfc3339);
  OrderedJson list = OrderedJson::array();
  for (const EndpointStats& endpoint : endpoints) {
    OrderedJson item = OrderedJson::object();
    item["name"] = endpoint.name;
    item["subject"] = endpoint.subject;
    item["queue_group"] = endpoint.queue_group;
    item["num_requests"] = endpoint.num_requests;
    item["num_errors"] = endpoint.num_errors;
    item["last_error"] = endpoint.last_error;
    item["processing_time"] = endpoint.processing_time_ns;
    item["average_processing_time"] = endpoint.average_processing_time_ns;
    list.push_back(std::move(item));
  }
  json["endpoints"] = std::move(list);
  return Dump(json);
}

Result<ServiceIdentity> ParsePingResponse(std::string_view json) {
  ServiceIdentity identity;
  const Result<Json> document = ParseObject(json, kPingType, identity);
  if (!document.ok()) return document.status();
  return identity;
}

Result<InfoResponse> ParseInfoResponse(std::string_view json) {
  InfoResponse response;
  EMBED_ASSIGN_OR_RETURN(Json document, ParseObject(json, kInfoType, response.service));
  EMBED_RETURN_IF_ERROR(ReadString(document, "description", response.description));
  const auto read_endpoint = [&response](const Json& item) -> Status {
    EndpointInfo endpoint;
    EMBED_RETURN_IF_ERROR(ReadString(item, "name", endpoint.name));
    EMBED_RETURN_IF_ERROR(ReadString(item, "subject", endpoint.subject));
    EMBED_RETURN_IF_ERROR(ReadString(item, "queue_group", endpoint.queue_group));
    EMBED_RETURN_IF_ERROR(ReadMetadata(item, endpoint.metadata));
    response.endpoints.push_back(std::move(endpoint));
    return Status::Ok();
  };
  EMBED_RETURN_IF_ERROR(ForEachEndpoint(document, read_endpoint));
  return response;
}

Result<StatsResponse> ParseStatsResponse(std::string_view json) {
  StatsResponse response;
  EMBED_ASSIGN_OR_RETURN(Json document, ParseObject(json, kStatsType, response.service));
  EMBED_RETURN_IF_ERROR(ReadString(document, "started", response.started));
  const auto read_endpoint = [&response](const Json& item) -> Status {
    EndpointStats endpoint;
    EMBED_RETURN_IF_ERROR(ReadString(item, "name", endpoint.name));
    EMBED_RETURN_IF_ERROR(ReadString(item, "subject", endpoint.subject));
    EMBED_RETURN_IF_ERROR(ReadString(item, "queue_group", endpoint.queue_group));
    EMBED_RETURN_IF_ERROR(ReadInt(item, "num_requests", endpoint.num_requests));
    EMBED_RETURN_IF_ERROR(ReadInt(item, "num_errors", endpoint.num_errors));
    EMBED_RETURN_IF_ERROR(ReadString(item, "last_error", endpoint.last_error));
    EMBED_RETURN_IF_ERROR(ReadInt(item, "processing_time", endpoint.processing_time_ns));
    EMBED_RETURN_IF_ERROR(
        ReadInt(item, "average_processing_time", endpoint.average_processing_time_ns));
    response.endpoints.push_back(std::move(endpoint));
    return Status::Ok();
  };
  EMBED_RETURN_IF_ERROR(ForEachEndpoint(document, read_endpoint));
  return response;
}

}  // namespace embed::rpc::micro
