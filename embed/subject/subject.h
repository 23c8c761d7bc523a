#pragma once
// Subject grammar (nats-wire.md §1.14): validation of publish and subscribe
// subjects and queue names, and tokenizing. Pure functions, thread-safe.

#include <cstddef>
#include <string_view>

#include "embed/base/status.h"

namespace embed::subject {

struct SubjectLimits {
  std::size_t max_bytes = 1024;
  std::size_t max_tokens = 128;
};

// A subscribe subject: non-empty tokens separated by '.', no whitespace, and
// '>' only as the last token. '*' and '>' are wildcards only as whole tokens.
bool IsValidSubscribeSubject(std::string_view subject, const SubjectLimits& limits = {});
// A publish subject: valid and literal (no '*' or '>' token).
bool IsValidPublishSubject(std::string_view subject, const SubjectLimits& limits = {});
// A queue group name: non-empty, no whitespace, (ADR-6) no '.', '*', '>'.
bool IsValidQueueName(std::string_view queue_group);
// True when the subject has a '*' or '>' token.
bool HasWildcard(std::string_view subject);
// True when literal subject `subject` matches `pattern` (which may have wildcards).
bool SubjectMatches(std::string_view pattern, std::string_view subject);

// The same checks returning kInvalidArgument with a message naming the problem.
Status ValidateSubscribeSubject(std::string_view subject, const SubjectLimits& limits = {});
Status ValidatePublishSubject(std::string_view subject, const SubjectLimits& limits = {});
Status ValidateQueueName(std::string_view queue_group);

}  // namespace embed::subject
