#pragma once
// Subject grammar (nats-wire.md §1.14): validation of publish and subscribe
// subjects and queue names, tokenizing and wildcard matching. Pure functions,
// thread-safe.
//
//   if (!IsValidSubscribeSubject("orders.*.created")) return -ERR 'Invalid Subject';
//   SubjectMatches("orders.>", "orders.eu.created");  // true

#include <cstddef>
#include <string_view>
#include <vector>

#include "embed/base/status.h"

namespace embed::subject {

// Bounds on a subject. A limit of 0 means "no limit" (nats-server's default
// for max_sub_tokens); the defaults match wire::Limits.
struct SubjectLimits {
  std::size_t max_bytes = 1024;
  std::size_t max_tokens = 128;
};

// The token separator and the two wildcard tokens.
inline constexpr char kTokenSeparator = '.';
inline constexpr std::string_view kSingleTokenWildcard = "*";
inline constexpr std::string_view kFullWildcard = ">";

// A subscribe subject: non-empty tokens separated by '.', no whitespace
// (SP, TAB, CR, LF, FF), and '>' only as the last token. '*' and '>' are
// wildcards only as whole tokens ("foo*" is a literal token). Any other byte
// is allowed, as nats-server allows it.
bool IsValidSubscribeSubject(std::string_view subject, const SubjectLimits& limits = {});
// A publish subject: a valid subscribe subject with no '*' or '>' token.
bool IsValidPublishSubject(std::string_view subject, const SubjectLimits& limits = {});
// A queue group name per ADR-6 (`queue-name = term`): non-empty, printable
// ASCII 33..126 only, and no '.', '*' or '>'. This is what clients enforce;
// nats-server itself accepts any non-whitespace token.
bool IsValidQueueName(std::string_view queue_group);
// True when the subject has a '*' or '>' token.
bool HasWildcard(std::string_view subject);
// True when subject `subject` matches `pattern` (which may have wildcards).
// `subject` is treated literally: a '*' or '>' token in it only matches a
// wildcard token of the pattern at that position. Returns false when either
// side has an empty token or the pattern has a token after '>'.
bool SubjectMatches(std::string_view pattern, std::string_view subject);

// Splits `subject` at '.' into views of it (empty tokens included, so
// "a..b" gives {"a", "", "b"} and "" gives {""}). The views borrow `subject`.
std::vector<std::string_view> Tokenize(std::string_view subject);

// The same checks returning kInvalidArgument with a message naming the problem
// (the message never quotes the subject, which may come from a peer).
Status ValidateSubscribeSubject(std::string_view subject, const SubjectLimits& limits = {});
Status ValidatePublishSubject(std::string_view subject, const SubjectLimits& limits = {});
Status ValidateQueueName(std::string_view queue_group);

}  // namespace embed::subject
