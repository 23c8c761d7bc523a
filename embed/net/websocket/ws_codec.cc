#include "embed/net/websocket/ws_codec.h"

#include <algorithm>
#include <cstring>
#include <random>
#include <utility>

#include <boost/asio/error.hpp>
#include <zlib.h>

#include "embed/net/layered_stream.h"

namespace embed::net {

static_assert(StreamCodec<WsCodec>);

namespace {

constexpr std::uint8_t kFin = 0x80;
constexpr std::uint8_t kRsv1 = 0x40;
constexpr std::uint8_t kRsv2 = 0x20;
constexpr std::uint8_t kRsv3 = 0x10;
constexpr std::uint8_t kOpContinuation = 0x0;
constexpr std::uint8_t kOpText = 0x1;
constexpr std::uint8_t kOpBinary = 0x2;
constexpr std::uint8_t kOpClose = 0x8;
constexpr std::uint8_t kOpPing = 0x9;
constexpr std::uint8_t kOpPong = 0xA;
constexpr std::uint8_t kMaskBit = 0x80;
constexpr int kNoStatus = 1005;
// RFC 7692 §7.2.1: the tail a sync flush leaves, stripped on send and
// appended again before inflating.
constexpr char kDeflateTail[4] = {0x00, 0x00, static_cast<char>(0xFF), static_cast<char>(0xFF)};
constexpr std::size_t kInflateChunkBytes = 16 * 1024;
constexpr std::size_t kUnmaskChunkBytes = 4 * 1024;

class WsErrorCategoryImpl : public boost::system::error_category {
 public:
  const char* name() const noexcept override { return "websocket"; }
  std::string message(int value) const override {
    switch (static_cast<WsError>(value)) {
      case WsError::kMaskMissing: return "mask bit missing";
      case WsError::kUnexpectedMask: return "masked frame from the server";
      case WsError::kReservedBits: return "reserved bits set";
      case WsError::kReservedOpcode: return "reserved opcode";
      case WsError::kBadControlFrame: return "invalid control frame";
      case WsError::kBadContinuation: return "invalid continuation frame";
      case WsError::kBadLength: return "invalid frame length";
      case WsError::kMessageTooBig: return "message too big";
      case WsError::kBadCompressedData: return "invalid compressed data";
    }
    return "websocket error";
  }
};

// A cheap per-thread generator for client masking keys (RFC 6455 §5.3 asks
// for unpredictable keys; seeded once per thread from the OS).
std::uint32_t NextMaskKey() {
  thread_local std::uint64_t state = [] {
    std::random_device device;
    return (std::uint64_t{device()} << 32) ^ device() ^ 0x9E3779B97F4A7C15ull;
  }();
  // splitmix64
  state += 0x9E3779B97F4A7C15ull;
  std::uint64_t z = state;
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return static_cast<std::uint32_t>(z ^ (z >> 31));
}

// XORs `data` with the 4-byte key starting at key position `offset` (mod 4),
// a word at a time; returns the position after it.
std::size_t ApplyMask(char* data, std::size_t size, const std::array<std::uint8_t, 4>& key,
                      std::size_t offset) {
  std::size_t i = 0;
  offset &= 3;
  if (size >= 16) {
    std::uint8_t rotated[8];
    for (std::size_t k = 0; k < 8; ++k) rotated[k] = key[(offset + k) & 3];
    std::uint64_t word_key;
    std::memcpy(&word_key, rotated, 8);
    for (; i + 8 <= size; i += 8) {
      std::uint64_t word;
      std::memcpy(&word, data + i, 8);
      word ^= word_key;
      std::memcpy(data + i, &word, 8);
    }
  }
  for (; i < size; ++i) data[i] = static_cast<char>(data[i] ^ key[(offset + i) & 3]);
  return (offset + size) & 3;
}

// RFC 6455 §7.4: the status codes a CLOSE may carry (and we echo): the
// defined 1000-1003 and 1007-1011, and 3000-4999 (registered / private).
bool IsValidCloseCode(int code) {
  return (code >= 1000 && code <= 1003) || (code >= 1007 && code <= 1011) || (code >= 3000 && code <= 4999);
}

// Strict UTF-8 (no overlong forms, surrogates or code points past U+10FFFF).
bool IsValidUtf8(std::string_view text) {
  std::size_t i = 0;
  while (i < text.size()) {
    const auto c = static_cast<unsigned char>(text[i]);
    if (c < 0x80) {
      ++i;
      continue;
    }
    std::size_t length;
    std::uint32_t code_point;
    if ((c & 0xE0) == 0xC0) {
      length = 2;
      code_point = c & 0x1F;
    } else if ((c & 0xF0) == 0xE0) {
      length = 3;
      code_point = c & 0x0F;
    } else if ((c & 0xF8) == 0xF0) {
      length = 4;
      code_point = c & 0x07;
    } else {
      return false;
    }
    if (text.size() - i < length) return false;
    for (std::size_t k = 1; k < length; ++k) {
      const auto next = static_cast<unsigned char>(text[i + k]);
      if ((next & 0xC0) != 0x80) return false;
      code_point = (code_point << 6) | (next & 0x3F);
    }
    if ((length == 2 && code_point < 0x80) || (length == 3 && code_point < 0x800) ||
        (length == 4 && code_point < 0x10000) || code_point > 0x10FFFF ||
        (code_point >= 0xD800 && code_point <= 0xDFFF)) {
      return false;
    }
    i += length;
  }
  return true;
}

// One raw-deflate compressor per thread, reset for every message (no
// context takeover), so connections hold no compressor of their own.
struct Deflater {
  z_stream stream{};
  bool ready = false;
  Deflater() {
    ready = deflateInit2(&stream, Z_BEST_SPEED, Z_DEFLATED, -15, 8, Z_DEFAULT_STRATEGY) == Z_OK;
  }
  ~Deflater() {
    if (ready) deflateEnd(&stream);
  }
  Deflater(const Deflater&) = delete;
  Deflater& operator=(const Deflater&) = delete;
};

// Compresses `input` as one permessage-deflate message body (tail
// stripped). False if zlib failed (the caller sends it uncompressed).
bool Compress(std::string_view input, std::string& out) {
  thread_local Deflater deflater;
  if (!deflater.ready || deflateReset(&deflater.stream) != Z_OK) return false;
  z_stream& z = deflater.stream;
  out.resize(deflateBound(&z, static_cast<uLong>(input.size())) + 16);
  std::size_t produced = 0;
  z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(input.data()));
  std::size_t input_left = input.size();
  while (true) {
    const uInt in_now = static_cast<uInt>(std::min<std::size_t>(input_left, 1u << 30));
    z.avail_in = in_now;
    input_left -= in_now;
    const int flush = input_left == 0 ? Z_SYNC_FLUSH : Z_NO_FLUSH;
    do {
      if (produced == out.size()) out.resize(out.size() * 2 + 64);
      const std::size_t room = std::min<std::size_t>(out.size() - produced, 1u << 30);
      z.next_out = reinterpret_cast<Bytef*>(out.data() + produced);
      z.avail_out = static_cast<uInt>(room);
      const int rc = deflate(&z, flush);
      if (rc != Z_OK && rc != Z_BUF_ERROR) return false;
      produced += room - z.avail_out;
    } while (z.avail_out == 0);
    if (input_left == 0) break;
  }
  out.resize(produced);
  if (out.size() >= 4 && std::memcmp(out.data() + out.size() - 4, kDeflateTail, 4) == 0) {
    out.resize(out.size() - 4);
  }
  return true;
}

}  // namespace

const boost::system::error_category& WsErrorCategory() {
  static const WsErrorCategoryImpl category;
  return category;
}

// A raw-inflate state, held by a codec only while a compressed message is
// in progress; one idle instance per thread is kept for reuse.
struct WsCodec::Inflater {
  z_stream stream{};
  bool ready = false;
  bool ended = false;  // the deflate stream ended (BFINAL): ignore the rest
  Inflater() { ready = inflateInit2(&stream, -15) == Z_OK; }
  ~Inflater() {
    if (ready) inflateEnd(&stream);
  }
  Inflater(const Inflater&) = delete;
  Inflater& operator=(const Inflater&) = delete;
};

WsCodec::WsCodec(WsCodecOptions options) : options_(options) {}
// Frees an inflater in progress directly: the per-thread spare may already
// be gone when a codec dies late (static destruction).
WsCodec::~WsCodec() = default;
WsCodec::WsCodec(WsCodec&&) noexcept = default;
WsCodec& WsCodec::operator=(WsCodec&&) noexcept = default;

std::unique_ptr<WsCodec::Inflater>& WsCodec::SpareInflater() {
  thread_local std::unique_ptr<Inflater> spare;
  return spare;
}

void WsCodec::ReleaseInflater() {
  inflate_pending_ = false;
  if (!inflater_) return;
  auto& spare = SpareInflater();
  if (!spare && inflater_->ready && inflateReset(&inflater_->stream) == Z_OK) {
    inflater_->ended = false;
    spare = std::move(inflater_);
  }
  inflater_.reset();
}

void WsCodec::OnWireInput(std::string_view bytes) {
  if (error_ || bytes.empty()) return;
  if (app_read_ > 0) {
    // Only when fed before the reader drained (LayeredStream never does):
    // drop the read prefix so app_ stays bounded.
    app_.erase(0, app_read_);
    app_read_ = 0;
  }
  if (!stash_.empty() || inflate_pending_) {
    stash_.append(bytes);  // behind the input kept earlier
    ResumeInput();
    return;
  }
  const std::size_t used = Decode(bytes.data(), bytes.size());
  if (used < bytes.size() && !error_) stash_.assign(bytes.substr(used));
}

void WsCodec::ResumeInput() {
  std::string input;
  input.swap(stash_);
  const std::size_t used = Decode(input.data(), input.size());
  if (used < input.size() && !error_) {
    input.erase(0, used);
    stash_.swap(input);
  }
}

std::size_t WsCodec::Decode(const char* data, std::size_t size) {
  std::size_t used = 0;
  while (!error_) {
    if (inflate_pending_) {
      // Output the inflater held back at the budget comes first.
      InflateInto(kDeflateTail, 0, /*budgeted=*/true);
      if (inflate_pending_) break;
      continue;
    }
    if (phase_ == Phase::kPayload && payload_left_ == 0) {
      EndFrame();
      continue;
    }
    if (used == size || unread_app_bytes() >= kAppBudgetBytes) break;
    if (phase_ == Phase::kHeader) {
      used += ConsumeHeader(data + used, size - used);
      continue;
    }
    const std::size_t count = static_cast<std::size_t>(std::min<std::uint64_t>(payload_left_, size - used));
    const std::size_t consumed = ConsumePayload(data + used, count);
    used += consumed;
    payload_left_ -= consumed;
  }
  return used;
}

std::size_t WsCodec::ConsumeHeader(const char* data, std::size_t size) {
  std::size_t used = 0;
  if (header_size_ < 2) {
    const std::size_t take = std::min(2 - header_size_, size);
    std::memcpy(header_.data() + header_size_, data, take);
    header_size_ += take;
    used = take;
    if (header_size_ < 2) return used;
  }
  const std::uint8_t length7 = header_[1] & 0x7F;
  const std::size_t extended = length7 == 126 ? 2 : length7 == 127 ? 8 : 0;
  const std::size_t need = 2 + extended + ((header_[1] & kMaskBit) ? 4 : 0);
  const std::size_t take = std::min(need - header_size_, size - used);
  std::memcpy(header_.data() + header_size_, data + used, take);
  header_size_ += take;
  used += take;
  if (header_size_ == need) {
    std::uint64_t length = length7;
    if (extended != 0) {
      length = 0;
      for (std::size_t i = 0; i < extended; ++i) length = (length << 8) | header_[2 + i];
    }
    payload_left_ = length;
    masked_ = (header_[1] & kMaskBit) != 0;
    if (masked_) std::memcpy(mask_.data(), header_.data() + 2 + extended, 4);
    mask_offset_ = 0;
    StartFrame();
  }
  return used;
}

bool WsCodec::StartFrame() {
  const std::uint8_t first = header_[0];
  fin_ = (first & kFin) != 0;
  opcode_ = first & 0x0F;
  const bool rsv1 = (first & kRsv1) != 0;
  const bool control = (opcode_ & 0x8) != 0;
  if (first & (kRsv2 | kRsv3)) {
    Fail(WsError::kReservedBits, ws_close::kProtocolError, "RSV2 and RSV3 must be clear");
    return false;
  }
  if (opcode_ != kOpContinuation && opcode_ != kOpText && opcode_ != kOpBinary &&
      opcode_ != kOpClose && opcode_ != kOpPing && opcode_ != kOpPong) {
    Fail(WsError::kReservedOpcode, ws_close::kProtocolError, "unknown opcode");
    return false;
  }
  if (options_.role == WsRole::kServer && !masked_ && !options_.accept_unmasked) {
    Fail(WsError::kMaskMissing, ws_close::kProtocolError, "mask bit missing");
    return false;
  }
  if (options_.role == WsRole::kClient && masked_) {
    Fail(WsError::kUnexpectedMask, ws_close::kProtocolError, "masked server frame");
    return false;
  }
  if (payload_left_ >> 63) {
    Fail(WsError::kBadLength, ws_close::kProtocolError, "invalid payload length");
    return false;
  }
  if (control) {
    if (!fin_ || payload_left_ > kMaxControlPayloadBytes) {
      Fail(WsError::kBadControlFrame, ws_close::kProtocolError, "control frame length bigger than 125 or not final");
      return false;
    }
    if (rsv1) {
      Fail(WsError::kReservedBits, ws_close::kProtocolError, "RSV1 set on a control frame");
      return false;
    }
    control_size_ = 0;
  } else if (opcode_ == kOpContinuation) {
    if (!in_message_) {
      Fail(WsError::kBadContinuation, ws_close::kProtocolError, "invalid continuation frame");
      return false;
    }
    if (rsv1) {
      Fail(WsError::kReservedBits, ws_close::kProtocolError, "RSV1 set on a continuation frame");
      return false;
    }
  } else {
    if (in_message_) {
      Fail(WsError::kBadContinuation, ws_close::kProtocolError,
           "new message started before final frame for previous message was received");
      return false;
    }
    if (rsv1 && !options_.compression) {
      Fail(WsError::kReservedBits, ws_close::kProtocolError, "RSV1 set without compression");
      return false;
    }
    in_message_ = true;
    message_compressed_ = rsv1;
    message_wire_bytes_ = 0;
    message_app_bytes_ = 0;
  }
  if (!control) {
    message_wire_bytes_ += payload_left_;
    if (message_wire_bytes_ > options_.max_message_bytes) {
      Fail(WsError::kMessageTooBig, ws_close::kMessageTooBig, "message too big");
      return false;
    }
    if (message_compressed_ && !inflater_) {
      auto& spare = SpareInflater();
      inflater_ = spare ? std::move(spare) : std::make_unique<Inflater>();
      if (!inflater_->ready) {
        Fail(WsError::kBadCompressedData, ws_close::kInternalError, "inflate unavailable");
        return false;
      }
    }
  }
  phase_ = Phase::kPayload;  // Decode() ends an empty frame at once
  return true;
}

std::size_t WsCodec::ConsumePayload(const char* data, std::size_t count) {
  if (count == 0) return 0;
  if (opcode_ & 0x8) {
    std::memcpy(control_.data() + control_size_, data, count);
    if (masked_) mask_offset_ = ApplyMask(control_.data() + control_size_, count, mask_, mask_offset_);
    control_size_ += count;
    return count;
  }
  if (!message_compressed_) {
    // Copy once, straight into the application buffer, and unmask there;
    // never past the budget (Decode() only calls with room left).
    count = std::min(count, kAppBudgetBytes - std::min(kAppBudgetBytes, unread_app_bytes()));
    const std::size_t old_size = app_.size();
    app_.append(data, count);
    if (masked_) mask_offset_ = ApplyMask(app_.data() + old_size, count, mask_, mask_offset_);
    return count;
  }
  if (!masked_) return InflateInto(data, count, /*budgeted=*/true);
  char chunk[kUnmaskChunkBytes];
  std::size_t done = 0;
  while (done < count && !error_) {
    const std::size_t take = std::min(count - done, sizeof(chunk));
    std::memcpy(chunk, data + done, take);
    const std::size_t offset = mask_offset_;
    ApplyMask(chunk, take, mask_, offset);
    const std::size_t used = InflateInto(chunk, take, /*budgeted=*/true);
    mask_offset_ = (offset + used) & 3;  // the unused rest is unmasked again later
    done += used;
    if (used < take) break;
  }
  return done;
}

std::size_t WsCodec::InflateInto(const char* data, std::size_t count, bool budgeted) {
  Inflater& inflater = *inflater_;
  if (inflater.ended) {
    inflate_pending_ = false;
    return count;
  }
  z_stream& z = inflater.stream;
  z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(data));
  z.avail_in = static_cast<uInt>(count);  // count <= the read scratch size
  // What the call used; z_stream must not keep pointing at `data`.
  auto used = [&z, count] {
    const std::size_t left = z.avail_in;
    z.next_in = nullptr;
    z.avail_in = 0;
    return count - left;
  };
  while (true) {
    if (budgeted && unread_app_bytes() >= kAppBudgetBytes) {
      inflate_pending_ = true;  // resumed by ReadApp once the reader drained
      return used();
    }
    // Never produce more than one byte past the limit: a bomb stops here.
    const std::uint64_t allowed = options_.max_message_bytes - std::min<std::uint64_t>(
                                                                   message_app_bytes_, options_.max_message_bytes);
    const std::size_t room = static_cast<std::size_t>(std::min<std::uint64_t>(kInflateChunkBytes, allowed + 1));
    const std::size_t old_size = app_.size();
    app_.resize(old_size + room);
    z.next_out = reinterpret_cast<Bytef*>(app_.data() + old_size);
    z.avail_out = static_cast<uInt>(room);
    const int rc = inflate(&z, Z_SYNC_FLUSH);
    const std::size_t produced = room - z.avail_out;
    app_.resize(old_size + produced);
    message_app_bytes_ += produced;
    if (message_app_bytes_ > options_.max_message_bytes) {
      Fail(WsError::kMessageTooBig, ws_close::kMessageTooBig, "message too big");
      return count;
    }
    if (rc == Z_STREAM_END) {
      inflater.ended = true;
      inflate_pending_ = false;
      used();
      return count;  // the rest of the message is ignored
    }
    if (rc == Z_BUF_ERROR || (rc == Z_OK && z.avail_in == 0 && z.avail_out != 0)) {
      inflate_pending_ = false;  // all output out; needs more input
      return used();
    }
    if (rc != Z_OK) {
      Fail(WsError::kBadCompressedData, ws_close::kProtocolError, "invalid compressed data");
      return count;
    }
  }
}

void WsCodec::EndFrame() {
  phase_ = Phase::kHeader;
  header_size_ = 0;
  if (opcode_ & 0x8) {
    HandleControlFrame();
    return;
  }
  if (!fin_) return;
  if (message_compressed_) {
    // Unbudgeted: nothing is held back here (Decode() drained the inflater
    // first), and 4 bytes decode to a few KiB at most.
    InflateInto(kDeflateTail, sizeof(kDeflateTail), /*budgeted=*/false);
    ReleaseInflater();
  }
  in_message_ = false;
  message_compressed_ = false;
  message_wire_bytes_ = 0;
  message_app_bytes_ = 0;
  if (app_read_ == app_.size() && app_.capacity() > 0) {
    std::string().swap(app_);
    app_read_ = 0;
  }
}

void WsCodec::HandleControlFrame() {
  const std::string_view payload(control_.data(), control_size_);
  control_size_ = 0;
  switch (opcode_) {
    case kOpPing:
      // Only the latest PING is answered (RFC 6455 §5.5.3): a peer that
      // floods PINGs and never reads holds one PONG here, not a pile.
      if (!close_sent_) {
        std::memcpy(pong_.data(), payload.data(), payload.size());
        pong_size_ = payload.size();
        has_pong_ = true;
      }
      return;
    case kOpPong:
      return;
    case kOpClose: {
      if (payload.size() == 1) {
        Fail(WsError::kBadControlFrame, ws_close::kProtocolError, "invalid close frame");
        return;
      }
      int status = kNoStatus;
      if (payload.size() >= 2) {
        status = (static_cast<unsigned char>(payload[0]) << 8) | static_cast<unsigned char>(payload[1]);
        received_close_code_ = status;
        // RFC 6455 §7.4 / §8.1: never echo a reserved or unassigned code
        // (1005, 1006, 1015 must not be sent), nor a reason that is not UTF-8.
        if (!IsValidCloseCode(status)) {
          Fail(WsError::kBadControlFrame, ws_close::kProtocolError, "invalid close status code");
          return;
        }
        if (!IsValidUtf8(payload.substr(2))) {
          Fail(WsError::kBadControlFrame, ws_close::kProtocolError, "close reason is not valid UTF-8");
          return;
        }
      }
      received_close_code_ = status;
      if (!close_sent_) QueueClose(status, "");
      ReleaseInflater();
      error_ = boost::asio::error::eof;
      return;
    }
    default:
      return;
  }
}

void WsCodec::Fail(WsError error, int close_code, std::string_view reason) {
  if (error_) return;
  error_ = make_error_code(error);
  if (!close_sent_) QueueClose(close_code, reason);
  ReleaseInflater();
}

void WsCodec::QueueClose(int code, std::string_view reason) {
  // The PONG owed goes before the CLOSE: nothing may follow a CLOSE.
  AppendPendingPong(wire_out_);
  AppendClose(wire_out_, code, reason);
}

void WsCodec::AppendPendingPong(std::string& wire) {
  if (!has_pong_) return;
  has_pong_ = false;
  AppendFrame(wire, kFin | kOpPong, std::string_view(pong_.data(), pong_size_));
  pong_size_ = 0;
}

void WsCodec::AppendClose(std::string& wire, int code, std::string_view reason) {
  std::string payload;
  if (code > 0 && code <= 0xFFFF && code != kNoStatus) {
    payload.push_back(static_cast<char>((code >> 8) & 0xFF));
    payload.push_back(static_cast<char>(code & 0xFF));
    if (reason.size() > kMaxCloseReasonBytes) {
      payload.append(reason.substr(0, kMaxCloseReasonBytes - 3));
      payload.append("...");
    } else {
      payload.append(reason);
    }
  }
  AppendFrame(wire, kFin | kOpClose, payload);
  close_sent_ = true;
  sent_close_code_ = code;
}

void WsCodec::AppendFrame(std::string& wire, std::uint8_t first_byte, std::string_view payload) const {
  const bool mask = options_.role == WsRole::kClient;
  char header[14];
  std::size_t header_size = 0;
  header[header_size++] = static_cast<char>(first_byte);
  const std::uint8_t mask_bit = mask ? kMaskBit : 0;
  const std::uint64_t size = payload.size();
  if (size < 126) {
    header[header_size++] = static_cast<char>(mask_bit | size);
  } else if (size <= 0xFFFF) {
    header[header_size++] = static_cast<char>(mask_bit | 126);
    header[header_size++] = static_cast<char>((size >> 8) & 0xFF);
    header[header_size++] = static_cast<char>(size & 0xFF);
  } else {
    header[header_size++] = static_cast<char>(mask_bit | 127);
    for (int shift = 56; shift >= 0; shift -= 8) {
      header[header_size++] = static_cast<char>((size >> shift) & 0xFF);
    }
  }
  std::array<std::uint8_t, 4> key{};
  if (mask) {
    const std::uint32_t random = NextMaskKey();
    std::memcpy(key.data(), &random, 4);
    std::memcpy(header + header_size, key.data(), 4);
    header_size += 4;
  }
  wire.append(header, header_size);
  const std::size_t payload_at = wire.size();
  wire.append(payload);
  if (mask) ApplyMask(wire.data() + payload_at, payload.size(), key, 0);
}

void WsCodec::EncodeApp(std::string_view bytes, std::string& wire) {
  if (bytes.empty() || close_sent_) return;  // no data may follow a CLOSE
  std::uint8_t rsv1 = 0;
  std::string compressed;
  std::string_view payload = bytes;
  if (options_.compression && bytes.size() > kCompressThresholdBytes && Compress(bytes, compressed)) {
    payload = compressed;
    rsv1 = kRsv1;
  }
  if (!options_.browser_framing || payload.size() <= kBrowserFrameBytes ||
      (rsv1 != 0 && options_.no_fragmenting_compressed)) {
    AppendFrame(wire, static_cast<std::uint8_t>(kFin | rsv1 | kOpBinary), payload);
    return;
  }
  // Browser framing: uncompressed output as complete messages of at most
  // 4096 bytes; a compressed message fragmented with continuation frames.
  bool first = true;
  while (!payload.empty()) {
    const std::string_view part = payload.substr(0, kBrowserFrameBytes);
    payload.remove_prefix(part.size());
    std::uint8_t first_byte;
    if (rsv1 == 0) {
      first_byte = kFin | kOpBinary;
    } else {
      first_byte = first ? static_cast<std::uint8_t>(kRsv1 | kOpBinary) : kOpContinuation;
      if (payload.empty()) first_byte |= kFin;
    }
    AppendFrame(wire, first_byte, part);
    first = false;
  }
}

std::size_t WsCodec::ReadApp(char* out, std::size_t size) {
  const std::size_t count = std::min(size, app_.size() - app_read_);
  std::memcpy(out, app_.data() + app_read_, count);
  app_read_ += count;
  if (app_read_ == app_.size()) {
    std::string().swap(app_);  // an idle codec holds no buffer
    app_read_ = 0;
    // Decode what the budget held back: has_app_data() turns true again if
    // it yields bytes; a rest that yields none is decoded away here.
    if (!error_ && (!stash_.empty() || inflate_pending_)) ResumeInput();
  }
  return count;
}

std::size_t WsCodec::heap_bytes() const {
  const std::size_t inline_capacity = std::string().capacity();
  std::size_t bytes = 0;
  if (app_.capacity() > inline_capacity) bytes += app_.capacity();
  if (wire_out_.capacity() > inline_capacity) bytes += wire_out_.capacity();
  if (stash_.capacity() > inline_capacity) bytes += stash_.capacity();
  if (inflater_) bytes += sizeof(Inflater) + (std::size_t{1} << 15);  // + its window
  return bytes;
}

void WsCodec::TakeWireOutput(std::string& wire) {
  AppendPendingPong(wire);
  if (wire_out_.empty()) return;
  wire.append(wire_out_);
  std::string().swap(wire_out_);
}

void WsCodec::EncodeClose(int code, std::string_view reason, std::string& wire) {
  if (close_sent_) return;
  AppendPendingPong(wire);
  AppendClose(wire, code, reason);
}

}  // namespace embed::net
