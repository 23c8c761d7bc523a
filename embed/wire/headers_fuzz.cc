// libFuzzer target for ParseHeaders: parsing never fails badly, and a parsed
// block encodes to a block that parses back to the same headers (encoding
// is a fixed point after one parse).

#include <cstddef>
#include <cstdint>
#include <string>

#include "embed/wire/headers.h"
#include "embed/wire/internal/fuzz_support.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace embed::wire;
  using internal::FuzzCheck;
  const embed::ByteView input(reinterpret_cast<const char*>(data), size);
  auto parsed = ParseHeaders(input, 4096);
  if (!parsed.ok()) return 0;
  const std::string encoded = parsed->Encode();
  auto reparsed = ParseHeaders(encoded, encoded.size());
  FuzzCheck(reparsed.ok());
  FuzzCheck(reparsed->status() == parsed->status());
  FuzzCheck(reparsed->Encode() == encoded);
  FuzzCheck(reparsed->entries().size() == parsed->entries().size());
  if (!parsed->entries().empty()) {
    const std::string& key = parsed->entries().front().first;
    FuzzCheck(reparsed->Has(key));
    FuzzCheck(reparsed->Values(key).size() == parsed->Values(key).size());
  }
  return 0;
}
