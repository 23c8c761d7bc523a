#include "embed/wire/encoder.h"

namespace embed::wire {
namespace {

// Appends `value` in decimal. The digits are formed in a stack buffer so the
// string grows once.
void AppendDecimal(std::string& out, std::uint64_t value) {
  char digits[20];
  char* end = digits + sizeof(digits);
  char* cursor = end;
  do {
    *--cursor = static_cast<char>('0' + value % 10);
    value /= 10;
  } while (value != 0);
  out.append(cursor, static_cast<std::size_t>(end - cursor));
}

void AppendSpaced(std::string& out, std::string_view word) {
  out.push_back(' ');
  out.append(word);
}

// Grows `out` geometrically: libc++'s reserve() allocates exactly what is
// asked, which would make batching many ops into one string quadratic.
void Reserve(std::string& out, std::size_t extra) {
  const std::size_t needed = out.size() + extra;
  if (needed <= out.capacity()) return;
  const std::size_t doubled = 2 * out.capacity();
  out.reserve(needed > doubled ? needed : doubled);
}

// Control line bytes besides the arguments: the op name, separators, sizes
// and CR LF; generous so the one reserve() covers everything.
constexpr std::size_t kLineOverhead = 48;

}  // namespace

void EncodeConnect(std::string& out, std::string_view connect_json) {
  Reserve(out, connect_json.size() + 10);
  out.append("CONNECT ");
  out.append(connect_json);
  out.append("\r\n");
}

void EncodePub(std::string& out, std::string_view subject, std::string_view reply_to,
               ByteView payload) {
  Reserve(out, subject.size() + reply_to.size() + payload.size() + kLineOverhead);
  out.append("PUB ");
  out.append(subject);
  if (!reply_to.empty()) AppendSpaced(out, reply_to);
  out.push_back(' ');
  AppendDecimal(out, payload.size());
  out.append("\r\n");
  out.append(payload);
  out.append("\r\n");
}

void EncodeHPub(std::string& out, std::string_view subject, std::string_view reply_to,
                ByteView headers, ByteView payload) {
  Reserve(out, subject.size() + reply_to.size() + headers.size() + payload.size() +
              kLineOverhead);
  out.append("HPUB ");
  out.append(subject);
  if (!reply_to.empty()) AppendSpaced(out, reply_to);
  out.push_back(' ');
  AppendDecimal(out, headers.size());
  out.push_back(' ');
  AppendDecimal(out, headers.size() + payload.size());
  out.append("\r\n");
  out.append(headers);
  out.append(payload);
  out.append("\r\n");
}

void EncodeSub(std::string& out, std::string_view subject, std::string_view queue_group,
               std::string_view sid) {
  Reserve(out, subject.size() + queue_group.size() + sid.size() + kLineOverhead);
  out.append("SUB ");
  out.append(subject);
  if (!queue_group.empty()) AppendSpaced(out, queue_group);
  AppendSpaced(out, sid);
  out.append("\r\n");
}

void EncodeUnsub(std::string& out, std::string_view sid, std::uint64_t max_msgs) {
  Reserve(out, sid.size() + kLineOverhead);
  out.append("UNSUB ");
  out.append(sid);
  if (max_msgs != 0) {
    out.push_back(' ');
    AppendDecimal(out, max_msgs);
  }
  out.append("\r\n");
}

void EncodePing(std::string& out) { out.append("PING\r\n"); }

void EncodePong(std::string& out) { out.append("PONG\r\n"); }

void EncodeInfo(std::string& out, std::string_view info_json) {
  // NATS: "INFO", the JSON and CR LF joined with spaces: a space precedes CR LF.
  Reserve(out, info_json.size() + 8);
  out.append("INFO ");
  out.append(info_json);
  out.append(" \r\n");
}

void EncodeMsg(std::string& out, std::string_view subject, std::string_view sid,
               std::string_view reply_to, ByteView payload) {
  Reserve(out, subject.size() + sid.size() + reply_to.size() + payload.size() +
              kLineOverhead);
  out.append("MSG ");
  out.append(subject);
  AppendSpaced(out, sid);
  if (!reply_to.empty()) AppendSpaced(out, reply_to);
  out.push_back(' ');
  AppendDecimal(out, payload.size());
  out.append("\r\n");
  out.append(payload);
  out.append("\r\n");
}

void EncodeHMsg(std::string& out, std::string_view subject, std::string_view sid,
                std::string_view reply_to, ByteView headers, ByteView payload) {
  Reserve(out, subject.size() + sid.size() + reply_to.size() + headers.size() +
              payload.size() + kLineOverhead);
  out.append("HMSG ");
  out.append(subject);
  AppendSpaced(out, sid);
  if (!reply_to.empty()) AppendSpaced(out, reply_to);
  out.push_back(' ');
  AppendDecimal(out, headers.size());
  out.push_back(' ');
  AppendDecimal(out, headers.size() + payload.size());
  out.append("\r\n");
  out.append(headers);
  out.append(payload);
  out.append("\r\n");
}

void EncodeOk(std::string& out) { out.append("+OK\r\n"); }

void EncodeErr(std::string& out, std::string_view text) {
  Reserve(out, text.size() + 10);
  out.append("-ERR '");
  out.append(text);
  out.append("'\r\n");
}

}  // namespace embed::wire
