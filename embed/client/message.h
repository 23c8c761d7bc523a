#pragma once
// A message as published or received. Owns its bytes.

#include <string>

#include "embed/wire/headers.h"

namespace embed::client {

struct Message {
  std::string subject;
  std::string reply_to;  // empty when none
  // Headers are sent (HPUB) only when has_headers is true or headers is non-empty.
  wire::Headers headers;
  bool has_headers = false;
  std::string payload;
};

}  // namespace embed::client
