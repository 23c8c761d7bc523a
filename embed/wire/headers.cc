#include "embed/wire/headers.h"

#include <algorithm>

namespace embed::wire {
namespace {

constexpr std::string_view kVersion = "NATS/1.0";

bool IsBlank(char c) { return c == ' ' || c == '\t'; }

// Trims SP, TAB and stray CR: a value cannot carry CR at its ends because
// the encoder would turn it into a space that the next parse trims.
std::string_view Trim(std::string_view text) {
  auto is_trimmed = [](char c) { return IsBlank(c) || c == '\r'; };
  while (!text.empty() && is_trimmed(text.front())) text.remove_prefix(1);
  while (!text.empty() && is_trimmed(text.back())) text.remove_suffix(1);
  return text;
}

// Splits off the next line (without CR LF or a bare LF). False when no LF.
bool NextLine(std::string_view& block, std::string_view& line) {
  const std::size_t lf = block.find('\n');
  if (lf == std::string_view::npos) return false;
  line = block.substr(0, lf);
  if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
  block.remove_prefix(lf + 1);
  return true;
}

void AppendValue(std::string& out, std::string_view value) {
  // NATS (nats.go): CR and LF cannot appear in a value; they become spaces.
  for (char c : value) out.push_back(c == '\r' || c == '\n' ? ' ' : c);
}

}  // namespace

bool IsValidHeaderKey(std::string_view key) {
  if (key.empty()) return false;
  return std::all_of(key.begin(), key.end(), [](char c) { return c > 32 && c < 127 && c != ':'; });
}

void Headers::Add(std::string_view key, std::string_view value) {
  entries_.emplace_back(std::string(key), std::string(value));
}

void Headers::Set(std::string_view key, std::string_view value) {
  Remove(key);
  Add(key, value);
}

void Headers::Remove(std::string_view key) {
  entries_.erase(std::remove_if(entries_.begin(), entries_.end(),
                                [key](const auto& entry) { return entry.first == key; }),
                 entries_.end());
}

std::string_view Headers::Get(std::string_view key) const {
  for (const auto& entry : entries_) {
    if (entry.first == key) return entry.second;
  }
  return {};
}

std::vector<std::string_view> Headers::Values(std::string_view key) const {
  std::vector<std::string_view> values;
  for (const auto& entry : entries_) {
    if (entry.first == key) values.emplace_back(entry.second);
  }
  return values;
}

bool Headers::Has(std::string_view key) const {
  return std::any_of(entries_.begin(), entries_.end(),
                     [key](const auto& entry) { return entry.first == key; });
}

void Headers::set_status(int code, std::string_view description) {
  status_ = code;
  description_.assign(description.data(), description.size());
}

std::string Headers::Encode() const {
  std::string out;
  EncodeTo(out);
  return out;
}

void Headers::EncodeTo(std::string& out) const {
  std::size_t size = kVersion.size() + 2 + 2 + (status_ != 0 ? 5 + description_.size() : 0);
  for (const auto& entry : entries_) size += entry.first.size() + entry.second.size() + 4;
  out.reserve(out.size() + size);
  out.append(kVersion);
  if (status_ != 0) {
    // NATS: the status is exactly three digits.
    const int code = status_ < 0 ? 0 : status_ % 1000;
    out.push_back(' ');
    out.push_back(static_cast<char>('0' + code / 100));
    out.push_back(static_cast<char>('0' + code / 10 % 10));
    out.push_back(static_cast<char>('0' + code % 10));
    if (!description_.empty()) {
      out.push_back(' ');
      AppendValue(out, description_);
    }
  }
  out.append("\r\n");
  for (const auto& entry : entries_) {
    out.append(entry.first);
    out.append(": ");
    AppendValue(out, entry.second);
    out.append("\r\n");
  }
  out.append("\r\n");
}

Result<Headers> ParseHeaders(ByteView block, std::size_t max_header_bytes) {
  if (block.size() > max_header_bytes) {
    return ResourceExhaustedError("header block larger than max_header_bytes");
  }
  std::string_view line;
  if (!NextLine(block, line)) return ProtocolError("header block has no version line");
  if (line.substr(0, kVersion.size()) != kVersion) {
    return ProtocolError("header block does not start with NATS/1.0");
  }
  Headers headers;
  std::string_view status_text = line.substr(kVersion.size());
  if (!status_text.empty()) {
    if (!IsBlank(status_text.front())) return ProtocolError("bad header version line");
    status_text = Trim(status_text);
  }
  if (!status_text.empty()) {
    // NATS: "NATS/1.0 <3-digit code>[ <description>]".
    if (status_text.size() < 3) return ProtocolError("header status is not 3 digits");
    int code = 0;
    for (std::size_t i = 0; i < 3; ++i) {
      const char c = status_text[i];
      if (c < '0' || c > '9') return ProtocolError("header status is not 3 digits");
      code = code * 10 + (c - '0');
    }
    const std::string_view description = status_text.substr(3);
    if (!description.empty() && !IsBlank(description.front())) {
      return ProtocolError("header status is not 3 digits");
    }
    headers.set_status(code, Trim(description));
  }
  while (true) {
    if (!NextLine(block, line)) return ProtocolError("header block not terminated");
    if (line.empty()) break;
    const std::size_t colon = line.find(':');
    if (colon == std::string_view::npos) return ProtocolError("header line without ':'");
    const std::string_view key = line.substr(0, colon);
    if (!IsValidHeaderKey(key)) return ProtocolError("bad header name");
    headers.Add(key, Trim(line.substr(colon + 1)));
  }
  if (!block.empty()) return ProtocolError("bytes after the header block");
  return headers;
}

}  // namespace embed::wire
