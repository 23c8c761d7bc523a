// libFuzzer target for the NATS service API parsers (the JSON `embed rpc
// --list` reads from any service). Nothing may crash; an INFO or STATS
// response that parses, encoded again, parses to the same endpoints.

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>

#include "embed/rpc/micro.h"

namespace {

void Check(bool condition, const char* what) {
  if (!condition) {
    std::fprintf(stderr, "micro_json fuzz check failed: %s\n", what);
    std::abort();
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace embed::rpc::micro;
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  auto ping = ParsePingResponse(input);
  if (ping.ok()) {
    auto again = ParsePingResponse(PingResponseJson(*ping));
    Check(again.ok() && again->name == ping->name && again->id == ping->id, "ping round trip");
  }
  auto info = ParseInfoResponse(input);
  if (info.ok()) {
    auto again = ParseInfoResponse(InfoResponseJson(info->service, info->description,
                                                    info->endpoints));
    Check(again.ok(), "info round trip parses");
    Check(again->endpoints.size() == info->endpoints.size(), "info keeps its endpoints");
  }
  auto stats = ParseStatsResponse(input);
  if (stats.ok()) {
    auto again = ParseStatsResponse(StatsResponseJson(stats->service, stats->started,
                                                      stats->endpoints));
    Check(again.ok(), "stats round trip parses");
    Check(again->endpoints.size() == stats->endpoints.size(), "stats keeps its endpoints");
  }
  return 0;
}
