#include "embed/subject/subject.h"

#include <string>

namespace embed::subject {
namespace {

enum class SubjectKind { kSubscribe, kPublish };

enum class Problem {
  kNone,
  kEmpty,
  kTooLong,
  kTooManyTokens,
  kEmptyToken,
  kWhitespace,
  kTokenAfterFullWildcard,
  kWildcardInPublish,
};

// NATS: tokens carry no whitespace. On the wire SP/TAB/CR/LF split arguments;
// nats-server's general validator also rejects FF.
bool IsSubjectWhitespace(char c) {
  return c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\f';
}

bool IsWildcardToken(std::string_view token) {
  return token == kSingleTokenWildcard || token == kFullWildcard;
}

Problem FindProblem(std::string_view subject, const SubjectLimits& limits, SubjectKind kind) {
  if (subject.empty()) return Problem::kEmpty;
  if (limits.max_bytes != 0 && subject.size() > limits.max_bytes) return Problem::kTooLong;
  std::size_t token_count = 0;
  std::size_t token_start = 0;
  bool has_full_wildcard = false;
  for (std::size_t i = 0; i <= subject.size(); ++i) {
    const bool at_token_end = i == subject.size() || subject[i] == kTokenSeparator;
    if (!at_token_end) {
      if (IsSubjectWhitespace(subject[i])) return Problem::kWhitespace;
      continue;
    }
    const std::string_view token = subject.substr(token_start, i - token_start);
    token_start = i + 1;
    ++token_count;
    if (token.empty()) return Problem::kEmptyToken;
    if (limits.max_tokens != 0 && token_count > limits.max_tokens) return Problem::kTooManyTokens;
    // NATS: '>' must be the last token.
    if (has_full_wildcard) return Problem::kTokenAfterFullWildcard;
    if (IsWildcardToken(token)) {
      if (kind == SubjectKind::kPublish) return Problem::kWildcardInPublish;
      has_full_wildcard = token == kFullWildcard;
    }
  }
  return Problem::kNone;
}

Status ProblemToStatus(Problem problem, const SubjectLimits& limits) {
  switch (problem) {
    case Problem::kNone:
      return Status::Ok();
    case Problem::kEmpty:
      return InvalidArgumentError("subject is empty");
    case Problem::kTooLong:
      return InvalidArgumentError("subject is longer than " + std::to_string(limits.max_bytes) +
                                  " bytes");
    case Problem::kTooManyTokens:
      return InvalidArgumentError("subject has more than " + std::to_string(limits.max_tokens) +
                                  " tokens");
    case Problem::kEmptyToken:
      return InvalidArgumentError("subject has an empty token");
    case Problem::kWhitespace:
      return InvalidArgumentError("subject contains whitespace");
    case Problem::kTokenAfterFullWildcard:
      return InvalidArgumentError("subject has a token after '>'");
    case Problem::kWildcardInPublish:
      return InvalidArgumentError("publish subject contains a wildcard token");
  }
  return InternalError("unknown subject problem");
}

// ADR-6: term = (printable except dot, asterisk or gt)+, printable = ASCII 33..126.
bool IsQueueNameByte(char c) {
  const auto byte = static_cast<unsigned char>(c);
  return byte >= 33 && byte <= 126 && c != '.' && c != '*' && c != '>';
}

// Walks the '.'-separated tokens of a text left to right.
class TokenCursor {
 public:
  explicit TokenCursor(std::string_view text) : text_(text) {}

  bool is_done() const { return is_done_; }

  // Precondition: !is_done().
  std::string_view Next() {
    const std::size_t end = text_.find(kTokenSeparator, position_);
    if (end == std::string_view::npos) {
      is_done_ = true;
      return text_.substr(position_);
    }
    const std::string_view token = text_.substr(position_, end - position_);
    position_ = end + 1;
    return token;
  }

 private:
  std::string_view text_;
  std::size_t position_ = 0;
  bool is_done_ = false;
};

}  // namespace

bool IsValidSubscribeSubject(std::string_view subject, const SubjectLimits& limits) {
  return FindProblem(subject, limits, SubjectKind::kSubscribe) == Problem::kNone;
}

bool IsValidPublishSubject(std::string_view subject, const SubjectLimits& limits) {
  return FindProblem(subject, limits, SubjectKind::kPublish) == Problem::kNone;
}

bool IsValidQueueName(std::string_view queue_group) {
  if (queue_group.empty()) return false;
  for (char c : queue_group) {
    if (!IsQueueNameByte(c)) return false;
  }
  return true;
}

bool HasWildcard(std::string_view subject) {
  TokenCursor cursor(subject);
  while (!cursor.is_done()) {
    if (IsWildcardToken(cursor.Next())) return true;
  }
  return false;
}

bool SubjectMatches(std::string_view pattern, std::string_view subject) {
  TokenCursor pattern_cursor(pattern);
  TokenCursor subject_cursor(subject);
  while (!pattern_cursor.is_done()) {
    const std::string_view pattern_token = pattern_cursor.Next();
    if (pattern_token.empty()) return false;
    if (pattern_token == kFullWildcard) {
      // NATS: '>' is last and matches one or more remaining tokens.
      if (!pattern_cursor.is_done() || subject_cursor.is_done()) return false;
      while (!subject_cursor.is_done()) {
        if (subject_cursor.Next().empty()) return false;
      }
      return true;
    }
    if (subject_cursor.is_done()) return false;
    const std::string_view subject_token = subject_cursor.Next();
    if (subject_token.empty()) return false;
    if (pattern_token != kSingleTokenWildcard && pattern_token != subject_token) return false;
  }
  return subject_cursor.is_done();
}

std::vector<std::string_view> Tokenize(std::string_view subject) {
  std::vector<std::string_view> tokens;
  TokenCursor cursor(subject);
  while (!cursor.is_done()) tokens.push_back(cursor.Next());
  return tokens;
}

Status ValidateSubscribeSubject(std::string_view subject, const SubjectLimits& limits) {
  return ProblemToStatus(FindProblem(subject, limits, SubjectKind::kSubscribe), limits);
}

Status ValidatePublishSubject(std::string_view subject, const SubjectLimits& limits) {
  return ProblemToStatus(FindProblem(subject, limits, SubjectKind::kPublish), limits);
}

Status ValidateQueueName(std::string_view queue_group) {
  if (queue_group.empty()) return InvalidArgumentError("queue group name is empty");
  for (char c : queue_group) {
    if (!IsQueueNameByte(c)) {
      return InvalidArgumentError(
          "queue group name has a byte outside printable ASCII or one of '.', '*', '>'");
    }
  }
  return Status::Ok();
}

}  // namespace embed::subject
