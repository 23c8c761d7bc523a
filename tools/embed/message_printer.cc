#include "tools/embed/message_printer.h"

#include <cstdio>
#include <string>

namespace embed::tools {
namespace {

void Write(std::string_view text) {
  std::fwrite(text.data(), 1, text.size(), stdout);
  std::fflush(stdout);
}

}  // namespace

void AppendBody(const client::Message& message, std::string& out) {
  if (message.has_headers || !message.headers.empty()) {
    if (message.headers.status() != 0) {
      out += "NATS/1.0 " + std::to_string(message.headers.status());
      if (!message.headers.description().empty()) out += " " + message.headers.description();
      out += "\n";
    }
    for (const auto& [key, value] : message.headers.entries()) {
      out += key + ": " + value + "\n";
    }
    out += "\n";
  }
  out += message.payload;
  out += "\n";
}

void MessagePrinter::PrintMessage(std::uint64_t number, const client::Message& message) {
  std::string text = "[#" + std::to_string(number) + "] Received on \"" + message.subject + "\"";
  if (!message.reply_to.empty()) text += " with reply \"" + message.reply_to + "\"";
  text += "\n";
  AppendBody(message, text);
  text += "\n";
  std::lock_guard<std::mutex> lock(mutex_);
  Write(text);
}

void MessagePrinter::PrintLine(std::string_view line) {
  std::string text(line);
  text += "\n";
  std::lock_guard<std::mutex> lock(mutex_);
  Write(text);
}

void MessagePrinter::PrintBody(const client::Message& message) {
  std::string text;
  AppendBody(message, text);
  std::lock_guard<std::mutex> lock(mutex_);
  Write(text);
}

}  // namespace embed::tools
