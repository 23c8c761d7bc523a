#pragma once
// Encoders for every NATS op. Each appends to `out` (so a session can batch
// many ops into one buffer and write once) and never allocates beyond that.
// Callers pass valid arguments (validate subjects first); the encoder does
// not check them.

#include <cstdint>
#include <string>
#include <string_view>

#include "embed/base/bytes.h"

namespace embed::wire {

// Client -> server.
void EncodeConnect(std::string& out, std::string_view connect_json);
void EncodePub(std::string& out, std::string_view subject, std::string_view reply_to,
               ByteView payload);
// `headers` is a complete header block (see headers.h).
void EncodeHPub(std::string& out, std::string_view subject, std::string_view reply_to,
                ByteView headers, ByteView payload);
void EncodeSub(std::string& out, std::string_view subject, std::string_view queue_group,
               std::string_view sid);
// max_msgs == 0 means no max.
void EncodeUnsub(std::string& out, std::string_view sid, std::uint64_t max_msgs = 0);
void EncodePing(std::string& out);
void EncodePong(std::string& out);

// Server -> client.
// INFO {json} \r\n (with the space nats-server writes before CR LF).
void EncodeInfo(std::string& out, std::string_view info_json);
void EncodeMsg(std::string& out, std::string_view subject, std::string_view sid,
               std::string_view reply_to, ByteView payload);
void EncodeHMsg(std::string& out, std::string_view subject, std::string_view sid,
                std::string_view reply_to, ByteView headers, ByteView payload);
void EncodeOk(std::string& out);
// -ERR '<text>'\r\n
void EncodeErr(std::string& out, std::string_view text);

}  // namespace embed::wire
