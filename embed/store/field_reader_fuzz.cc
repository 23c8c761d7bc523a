// libFuzzer target for the store's protobuf wire-format reader, which reads
// whatever bytes an app hands to Put. Nothing may crash or read out of
// bounds, and the reader must agree with itself: Extract validates the whole
// top level, so it succeeds only on messages ValidateMessage accepts, and a
// string it returns lies inside the input.
//
// Input layout: byte 0 picks the FieldType, byte 1 the path length (1..3),
// then one byte per field number (1..16); the rest is the message.

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string_view>
#include <vector>

#include "embed/store/internal/field_reader.h"

namespace {

void Check(bool condition, const char* what) {
  if (!condition) {
    std::fprintf(stderr, "store_fields fuzz check failed: %s\n", what);
    std::abort();
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace embed::store;
  using namespace embed::store::internal;
  if (size < 2) return 0;
  const auto type = static_cast<FieldType>(data[0] % 16);
  const std::size_t length = 1 + data[1] % 3;
  if (size < 2 + length) return 0;
  std::vector<std::uint32_t> path;
  for (std::size_t i = 0; i < length; ++i) path.push_back(1 + data[2 + i] % 16);
  const std::string_view message(reinterpret_cast<const char*>(data) + 2 + length,
                                 size - 2 - length);

  const bool valid = ValidateMessage(message).ok();
  auto value = Extract(message, path, type);
  if (value.ok()) {
    Check(valid, "Extract accepted a message ValidateMessage refuses");
    if (const auto* bytes = std::get_if<std::string_view>(&*value)) {
      Check(bytes->empty() || (bytes->data() >= message.data() &&
                               bytes->data() + bytes->size() <= message.data() + message.size()),
            "extracted bytes lie outside the message");
    }
    Check(value->index() == static_cast<std::size_t>(KindOf(type)), "value of the wrong kind");
  } else {
    Check(value.status().code() == embed::StatusCode::kInvalidArgument, "unexpected error code");
  }
  if (!valid) Check(!value.ok(), "Extract accepted a malformed message");
  return 0;
}
