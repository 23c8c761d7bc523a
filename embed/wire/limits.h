#pragma once
// Named limits for the NATS codec. Every parser takes one; a breach is an
// error value, never a crash or an unbounded buffer.

#include <cstddef>
#include <cstdint>

namespace embed::wire {

struct Limits {
  // Bytes of a control line's arguments (after the op name, before CR LF),
  // CONNECT/INFO JSON included. nats-server: max_control_line.
  std::size_t max_control_line_bytes = 4096;
  // Bytes of a message body; for HPUB/HMSG headers + payload. max_payload.
  std::size_t max_payload_bytes = 1024 * 1024;
  // Bytes of a header block (NATS/1.0 line .. blank line).
  std::size_t max_header_bytes = 64 * 1024;
  // Bytes of a subject, and tokens in one.
  std::size_t max_subject_bytes = 1024;
  std::size_t max_subject_tokens = 128;
  // Bytes of the INFO line the client accepts from a server (server ops only).
  std::size_t max_info_bytes = 64 * 1024;
};

// What kind of protocol violation a parser found; decides the broker's
// reaction (nats-wire.md §5).
enum class Violation {
  kNone,
  kUnknownOperation,    // -ERR 'Unknown Protocol Operation' + close.
  kControlLineTooLong,  // -ERR 'maximum control line exceeded' + close.
  kPayloadTooLarge,     // -ERR 'Maximum Payload Violation' + close. Also a header
                        // block over max_header_bytes.
  kMalformed,           // Bad arg count / bad size / header size > total, or a
                        // subject over max_subject_bytes / max_subject_tokens:
                        // close without -ERR. (A bad payload trailer is
                        // kUnknownOperation, as in nats-server.)
};

}  // namespace embed::wire
