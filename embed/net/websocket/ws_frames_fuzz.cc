// libFuzzer target for WsCodec input. The first byte picks the options
// (role, compression, no-masking, browser framing); the rest is wire input.
// Checks: no crash, bounded output, the same result whether the input comes
// whole or in pieces, and an encode/decode round trip of the same bytes.

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "embed/net/websocket/ws_codec.h"

namespace {

using embed::net::WsCodec;
using embed::net::WsCodecOptions;
using embed::net::WsRole;

constexpr std::size_t kMaxMessageBytes = 64 * 1024;

void Check(bool condition) {
  if (!condition) __builtin_trap();
}

struct Outcome {
  std::string app;
  std::string wire;
  boost::system::error_code error;
};

void Drain(WsCodec& codec, Outcome& outcome) {
  char buffer[1000];
  while (codec.has_app_data()) {
    const std::size_t count = codec.ReadApp(buffer, sizeof(buffer));
    Check(count > 0 && count <= sizeof(buffer));
    outcome.app.append(buffer, count);
  }
  const std::size_t before = outcome.wire.size();
  codec.TakeWireOutput(outcome.wire);
  // What one take hands over: at most one PONG and one CLOSE.
  Check(outcome.wire.size() - before <= 2 * (14 + 125));
  Check(!codec.has_wire_output());
}

// The codec's own frames, PONGs folded: only the latest PING is answered,
// so how many PONGs go out depends on how often the output was taken.
struct ControlOutput {
  std::string other;      // first byte + unmasked payload of each non-PONG frame
  std::string last_pong;  // unmasked payload of the last PONG
  bool has_pong = false;
  bool operator==(const ControlOutput&) const = default;
};

ControlOutput ParseControl(std::string_view wire) {
  ControlOutput out;
  std::size_t at = 0;
  while (at < wire.size()) {
    Check(wire.size() - at >= 2);
    const auto first = static_cast<std::uint8_t>(wire[at]);
    const auto second = static_cast<std::uint8_t>(wire[at + 1]);
    const std::size_t size = second & 0x7F;
    Check(size <= 125 && (first & 0x08) != 0);  // only control frames
    at += 2;
    std::uint8_t key[4] = {0, 0, 0, 0};
    if (second & 0x80) {
      Check(wire.size() - at >= 4);
      for (int i = 0; i < 4; ++i) key[i] = static_cast<std::uint8_t>(wire[at + static_cast<std::size_t>(i)]);
      at += 4;
    }
    Check(wire.size() - at >= size);
    std::string payload(wire.substr(at, size));
    for (std::size_t i = 0; i < size; ++i) payload[i] = static_cast<char>(payload[i] ^ key[i % 4]);
    at += size;
    if ((first & 0x0F) == 0x0A) {
      out.has_pong = true;
      out.last_pong = payload;
    } else {
      out.other.push_back(static_cast<char>(first));
      out.other += payload;
    }
  }
  return out;
}

Outcome Decode(const WsCodecOptions& options, std::string_view input, std::uint32_t hash) {
  WsCodec codec(options);
  Outcome outcome;
  while (!input.empty()) {
    hash = hash * 1664525u + 1013904223u;
    const std::size_t take = hash == 0 ? input.size() : 1 + (hash >> 8) % input.size();
    codec.OnWireInput(input.substr(0, take));
    input.remove_prefix(take);
    Drain(codec, outcome);
  }
  outcome.error = codec.error();
  // A CLOSE goes out at most once: queued by the codec or encoded here.
  const bool queued_close = outcome.wire.size() >= 2 && codec.sent_close_code() != 0;
  std::string close;
  codec.EncodeClose(1000, "bye", close);
  if (queued_close) Check(close.empty());
  std::string again;
  codec.EncodeClose(1000, "bye", again);
  Check(again.empty());
  return outcome;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  const std::uint8_t flags = data[0];
  WsCodecOptions options;
  options.role = (flags & 1) ? WsRole::kClient : WsRole::kServer;
  options.compression = (flags & 2) != 0;
  options.accept_unmasked = (flags & 4) != 0;
  options.browser_framing = (flags & 8) != 0;
  options.max_message_bytes = (flags & 16) ? 100 : kMaxMessageBytes;
  const std::string_view input(reinterpret_cast<const char*>(data) + 1, size - 1);

  std::uint32_t hash = 2166136261u;
  for (char c : input) hash = (hash ^ static_cast<unsigned char>(c)) * 16777619u;

  const Outcome whole = Decode(options, input, 0);
  const Outcome split = Decode(options, input, hash | 1);
  Check(whole.app == split.app);
  Check(whole.error == split.error);
  Check(ParseControl(whole.wire) == ParseControl(split.wire));
  // Decoded bytes never exceed what the frames could carry.
  if (!options.compression) Check(whole.app.size() <= input.size());

  // Round trip: the input as application bytes through the peer's encoder.
  WsCodecOptions peer = options;
  peer.role = options.role == WsRole::kServer ? WsRole::kClient : WsRole::kServer;
  peer.max_message_bytes = kMaxMessageBytes;
  WsCodec encoder(peer);
  std::string wire;
  encoder.EncodeApp(input.substr(0, input.size() / 2), wire);
  encoder.EncodeApp(input.substr(input.size() / 2), wire);
  WsCodecOptions receiver_options = options;
  receiver_options.max_message_bytes = kMaxMessageBytes;
  const Outcome round = Decode(receiver_options, wire, hash);
  Check(!round.error);
  Check(round.app == input);
  return 0;
}
