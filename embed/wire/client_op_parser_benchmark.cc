// Throughput of the hot path: parsing client ops the broker receives and
// encoding the MSGs it sends. Run a Release build:
//   build/embed/wire/embed_wire_benchmark --benchmark_min_time=1

#include <cstddef>
#include <string>

#include <benchmark/benchmark.h>

#include "embed/wire/client_op_parser.h"
#include "embed/wire/encoder.h"
#include "embed/wire/server_op_parser.h"

namespace embed::wire {
namespace {

std::string PubStream(std::size_t payload_bytes, std::size_t count) {
  std::string stream;
  const std::string payload(payload_bytes, 'x');
  for (std::size_t i = 0; i < count; ++i) EncodePub(stream, "bench.subject", "", payload);
  return stream;
}

// Feeds `stream` in reads of `read_bytes` (not aligned to ops) and drains.
template <typename Parser>
std::size_t ParseStream(Parser& parser, const std::string& stream, std::size_t read_bytes) {
  std::size_t ops = 0;
  for (std::size_t at = 0; at < stream.size(); at += read_bytes) {
    parser.Feed(ByteView(stream).substr(at, read_bytes));
    while (true) {
      auto next = parser.Next();
      if (!next.ok() || !next->has_value()) break;
      benchmark::DoNotOptimize(**next);
      ++ops;
    }
  }
  return ops;
}

void BM_ClientOpParserPub(benchmark::State& state) {
  const std::string stream = PubStream(static_cast<std::size_t>(state.range(0)), 10000);
  const auto read_bytes = static_cast<std::size_t>(state.range(1));
  std::size_t ops = 0;
  for (auto _ : state) {
    ClientOpParser parser;
    ops += ParseStream(parser, stream, read_bytes);
  }
  state.SetItemsProcessed(static_cast<std::int64_t>(ops));
  state.SetBytesProcessed(static_cast<std::int64_t>(stream.size() * state.iterations()));
}
BENCHMARK(BM_ClientOpParserPub)->Args({16, 65536})->Args({16, 4096})->Args({128, 65536})->Args({1024, 65536});

void BM_ServerOpParserMsg(benchmark::State& state) {
  std::string stream;
  const std::string payload(static_cast<std::size_t>(state.range(0)), 'x');
  for (int i = 0; i < 10000; ++i) EncodeMsg(stream, "bench.subject", "1", "", payload);
  std::size_t ops = 0;
  for (auto _ : state) {
    ServerOpParser parser;
    ops += ParseStream(parser, stream, 65536);
  }
  state.SetItemsProcessed(static_cast<std::int64_t>(ops));
}
BENCHMARK(BM_ServerOpParserMsg)->Arg(16)->Arg(1024);

void BM_EncodeMsg(benchmark::State& state) {
  const std::string payload(static_cast<std::size_t>(state.range(0)), 'x');
  std::string out;
  std::size_t ops = 0;
  for (auto _ : state) {
    if (out.size() > (1 << 20)) out.clear();
    EncodeMsg(out, "bench.subject", "12", "", payload);
    ++ops;
  }
  benchmark::DoNotOptimize(out.data());
  state.SetItemsProcessed(static_cast<std::int64_t>(ops));
}
BENCHMARK(BM_EncodeMsg)->Arg(16)->Arg(1024);

}  // namespace
}  // namespace embed::wire

BENCHMARK_MAIN();
