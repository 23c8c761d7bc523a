#include "embed/subject/subject.h"

#include <string>
#include <string_view>
#include <vector>

#include <gtest/gtest.h>

namespace embed::subject {
namespace {

struct SubjectCase {
  std::string_view subject;
  bool is_valid_subscribe;
  bool is_valid_publish;
};

// nats-wire.md §1.14.
const SubjectCase kSubjectCases[] = {
    {"foo", true, true},
    {"foo.bar", true, true},
    {"foo.bar.baz.qux", true, true},
    {"$SYS.ACCOUNT.x", true, true},
    {"_INBOX.abc.1", true, true},
    {"foo*", true, true},  // a wildcard only as a whole token
    {"f>o", true, true},
    {"**", true, true},
    {">>", true, true},
    {"foo.bar*.baz", true, true},
    {"gr\303\274\303\237e.x", true, true},  // UTF-8 is allowed
    {"foo\001bar", true, true},             // so is any non-whitespace byte
    {"foo.*", true, false},
    {"foo.>", true, false},
    {"*", true, false},
    {">", true, false},
    {"*.*", true, false},
    {"*.>", true, false},
    {"foo.*.bar", true, false},
    {"foo.*.>", true, false},
    {"", false, false},
    {".", false, false},
    {"..", false, false},
    {".foo", false, false},
    {"foo.", false, false},
    {"foo..bar", false, false},
    {"foo.>.bar", false, false},
    {">.foo", false, false},
    {"foo.>.>", false, false},
    {"foo bar", false, false},
    {"foo\tbar", false, false},
    {"foo\rbar", false, false},
    {"foo\nbar", false, false},
    {"foo\fbar", false, false},
    {" foo", false, false},
    {"foo.* ", false, false},
};

TEST(Subject, ValidatesSubscribeSubjectsPerTheWireGrammar) {
  for (const SubjectCase& c : kSubjectCases) {
    EXPECT_EQ(IsValidSubscribeSubject(c.subject), c.is_valid_subscribe) << '"' << c.subject << '"';
    const Status status = ValidateSubscribeSubject(c.subject);
    EXPECT_EQ(status.code(), c.is_valid_subscribe ? StatusCode::kOk : StatusCode::kInvalidArgument)
        << '"' << c.subject << '"';
  }
}

TEST(Subject, ValidatesPublishSubjectsAsLiteralSubscribeSubjects) {
  for (const SubjectCase& c : kSubjectCases) {
    EXPECT_EQ(IsValidPublishSubject(c.subject), c.is_valid_publish) << '"' << c.subject << '"';
    const Status status = ValidatePublishSubject(c.subject);
    EXPECT_EQ(status.code(), c.is_valid_publish ? StatusCode::kOk : StatusCode::kInvalidArgument)
        << '"' << c.subject << '"';
  }
}

TEST(Subject, ValidationMessagesNameTheProblemWithoutQuotingTheSubject) {
  struct Case {
    std::string_view subject;
    std::string_view message;
  };
  const Case cases[] = {
      {"", "subject is empty"},
      {"secret..x", "subject has an empty token"},
      {"secret x", "subject contains whitespace"},
      {"secret.>.x", "subject has a token after '>'"},
  };
  for (const Case& c : cases) {
    const Status status = ValidateSubscribeSubject(c.subject);
    EXPECT_EQ(status.message(), c.message) << '"' << c.subject << '"';
  }
  EXPECT_EQ(ValidatePublishSubject("secret.*").message(),
            "publish subject contains a wildcard token");
}

TEST(Subject, EnforcesByteAndTokenLimitsWhereZeroMeansUnlimited) {
  struct Case {
    std::string subject;
    SubjectLimits limits;
    bool is_valid;
  };
  const Case cases[] = {
      {std::string(1024, 'a'), {}, true},
      {std::string(1025, 'a'), {}, false},
      {std::string(5000, 'a'), {0, 0}, true},
      {"a.b.c", {5, 3}, true},
      {"a.b.c", {4, 3}, false},
      {"a.b.c.d", {100, 3}, false},
      {"a.b.c.d", {100, 0}, true},
  };
  for (const Case& c : cases) {
    EXPECT_EQ(IsValidSubscribeSubject(c.subject, c.limits), c.is_valid) << c.subject.size();
    EXPECT_EQ(IsValidPublishSubject(c.subject, c.limits), c.is_valid) << c.subject.size();
  }
  EXPECT_EQ(ValidateSubscribeSubject("a.b.c", {100, 2}).message(),
            "subject has more than 2 tokens");
  EXPECT_EQ(ValidateSubscribeSubject("abc", {2, 0}).message(), "subject is longer than 2 bytes");
}

TEST(Subject, ValidatesQueueNamesAsAdr6Terms) {
  struct Case {
    std::string_view queue_group;
    bool is_valid;
  };
  const Case cases[] = {
      {"workers", true},
      {"a-b_c", true},
      {"$G", true},
      {"~!@#%^&()", true},
      {"Q1", true},
      {"", false},
      {"a.b", false},
      {"*", false},
      {">", false},
      {"q*", false},
      {"a b", false},
      {"a\tb", false},
      {"a\r", false},
      {"\n", false},
      {"gr\303\274ppe", false},
      {"\x7F", false},
      {std::string_view("a\0b", 3), false},
  };
  for (const Case& c : cases) {
    EXPECT_EQ(IsValidQueueName(c.queue_group), c.is_valid) << '"' << c.queue_group << '"';
    EXPECT_EQ(ValidateQueueName(c.queue_group).ok(), c.is_valid) << '"' << c.queue_group << '"';
  }
}

TEST(Subject, HasWildcardOnlyForWholeWildcardTokens) {
  struct Case {
    std::string_view subject;
    bool has_wildcard;
  };
  const Case cases[] = {
      {"foo", false}, {"foo.bar", false}, {"foo*", false}, {"foo.bar*.baz", false},
      {"f>o", false}, {"", false},        {"foo.*", true}, {"foo.>", true},
      {"*", true},    {">", true},        {"*.bar", true}, {"foo.*.bar", true},
  };
  for (const Case& c : cases) {
    EXPECT_EQ(HasWildcard(c.subject), c.has_wildcard) << '"' << c.subject << '"';
  }
}

struct MatchCase {
  std::string_view pattern;
  std::string_view subject;
  bool matches;
};

const MatchCase kMatchCases[] = {
    {"foo.bar", "foo.bar", true},
    {"foo.bar", "foo.baz", false},
    {"foo.bar", "foo", false},
    {"foo", "foo.bar", false},
    {"Foo", "foo", false},
    {"foo.*", "foo.bar", true},
    {"foo.*", "foo", false},
    {"foo.*", "foo.bar.baz", false},
    {"foo.*.baz", "foo.bar.baz", true},
    {"foo.*.baz", "foo.bar.qux", false},
    {"foo.>", "foo.bar", true},
    {"foo.>", "foo.bar.baz", true},
    {"foo.>", "foo", false},
    {"foo.>", "bar.foo", false},
    {">", "foo", true},
    {">", "foo.bar.baz", true},
    {"*", "foo", true},
    {"*", "foo.bar", false},
    {"*.*", "foo.bar", true},
    {"*.*", "foo", false},
    {"*.*", "a.b.c", false},
    {"*.>", "foo", false},
    {"*.>", "foo.bar", true},
    {"*.bar.>", "x.bar.y.z", true},
    {"foo*", "foobar", false},  // literal token
    {"foo*", "foo*", true},
    // Wildcard tokens in a published subject are literal tokens.
    {"foo.*", "foo.*", true},
    {"foo.>", "foo.>", true},
    {"foo.bar", "foo.*", false},
    {"foo.bar", "foo.>", false},
    {"*", ">", true},
    {">", "*.>", true},
    // A subject with an empty token matches nothing.
    {">", "", false},
    {"*", "", false},
    {">", "foo.", false},
    {">", ".foo", false},
    {"foo.>", "foo..bar", false},
    {"foo.*", "foo.", false},
    {"foo.*.bar", "foo..bar", false},
    // Invalid patterns match nothing.
    {"", "", false},
    {"foo..bar", "foo..bar", false},
    {"foo.>.bar", "foo.x.bar", false},
    {"foo.", "foo.", false},
};

TEST(Subject, SubjectMatchesFollowsWildcardRules) {
  for (const MatchCase& c : kMatchCases) {
    EXPECT_EQ(SubjectMatches(c.pattern, c.subject), c.matches)
        << '"' << c.pattern << "\" vs \"" << c.subject << '"';
  }
}

TEST(Subject, TokenizeSplitsAtDotsKeepingEmptyTokens) {
  using Tokens = std::vector<std::string_view>;
  struct Case {
    std::string_view subject;
    Tokens tokens;
  };
  const Case cases[] = {
      {"a", {"a"}},
      {"a.b.c", {"a", "b", "c"}},
      {"foo.*.>", {"foo", "*", ">"}},
      {"a..b", {"a", "", "b"}},
      {"a.", {"a", ""}},
      {"", {""}},
  };
  for (const Case& c : cases) EXPECT_EQ(Tokenize(c.subject), c.tokens) << '"' << c.subject << '"';
}

}  // namespace
}  // namespace embed::subject
