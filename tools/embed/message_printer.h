#pragma once
// Prints received messages to stdout the way `embed sub` and `embed reply`
// show them, one whole message at a time (thread-safe), flushed at once so a
// pipe reader sees each message as it arrives:
//
//   [#1] Received on "orders.new" with reply "_INBOX.abc"
//   Key: Value            <- headers, when present, then a blank line
//
//   payload
//   <blank line>

#include <cstdint>
#include <mutex>
#include <string_view>

#include "embed/client/message.h"

namespace embed::tools {

class MessagePrinter {
 public:
  void PrintMessage(std::uint64_t number, const client::Message& message);
  // Prints `line` and a newline to stdout and flushes.
  void PrintLine(std::string_view line);
  // Prints only the headers (if any) and the payload: the body of a reply.
  void PrintBody(const client::Message& message);

 private:
  std::mutex mutex_;
};

// Appends headers (status line if any, "Key: Value" lines, a blank line) when
// the message has any, then the payload and a newline.
void AppendBody(const client::Message& message, std::string& out);

}  // namespace embed::tools
