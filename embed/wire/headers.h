#pragma once
// NATS message headers (ADR-4, nats-wire.md §3): "NATS/1.0[ code[ desc]]\r\n"
// then "Key: Value\r\n" lines, then "\r\n". Case-preserving, case-sensitive,
// multi-valued. Not thread-safe.

#include <cstddef>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "embed/base/bytes.h"
#include "embed/base/result.h"

namespace embed::wire {

// True when `key` can be a header name: printable ASCII 33..126 except ':'
// (no SP, CR or LF, which would inject header lines), and not empty.
bool IsValidHeaderKey(std::string_view key);

class Headers {
 public:
  Headers() = default;

  // Appends a value (keys may repeat). Precondition: IsValidHeaderKey(key)
  // (the client's Publish rejects a message that breaks it); CR/LF in values
  // are replaced by spaces when encoding.
  void Add(std::string_view key, std::string_view value);
  // Replaces all values of `key` with one value.
  void Set(std::string_view key, std::string_view value);
  void Remove(std::string_view key);
  // First value of `key` (exact match), or empty view when absent.
  std::string_view Get(std::string_view key) const;
  std::vector<std::string_view> Values(std::string_view key) const;
  bool Has(std::string_view key) const;
  const std::vector<std::pair<std::string, std::string>>& entries() const { return entries_; }
  bool empty() const { return entries_.empty() && status_ == 0; }

  // The status line code (0 when absent), e.g. 503 for no responders.
  int status() const { return status_; }
  const std::string& description() const { return description_; }
  void set_status(int code, std::string_view description = {});

  // Encodes the whole block including the terminating blank line.
  std::string Encode() const;
  void EncodeTo(std::string& out) const;

 private:
  int status_ = 0;
  std::string description_;
  std::vector<std::pair<std::string, std::string>> entries_;
};

// Decodes a header block. kProtocolError when it does not start with
// "NATS/1.0", a status is not 3 digits, or the block is not terminated; the
// leniencies of official clients are accepted (bare LF, whitespace after ':').
Result<Headers> ParseHeaders(ByteView block, std::size_t max_header_bytes = 64 * 1024);

}  // namespace embed::wire
