#include "embed/subject/subject_index.h"

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <random>
#include <string>
#include <string_view>
#include <vector>

#include <gtest/gtest.h>

#include "embed/subject/subject.h"

namespace embed::subject {
namespace {

using Values = std::vector<int>;
using Groups = std::vector<std::vector<int>>;

struct Subscription {
  std::string subject;
  std::string queue_group;
  int value;
};

void InsertAll(SubjectIndex<int>& index, const std::vector<Subscription>& subscriptions) {
  for (const Subscription& s : subscriptions) {
    ASSERT_TRUE(index.Insert(s.subject, s.queue_group, s.value).ok()) << s.subject;
  }
}

const std::vector<Subscription> kSubscriptions = {
    {"foo.bar", "", 1},      {"foo.*", "", 2},
    {"foo.>", "", 3},        {">", "", 4},
    {"*.*", "", 5},          {"foo.bar", "workers", 6},
    {"foo.*", "workers", 7}, {"foo.*", "others", 8},
    {"foo.bar.baz", "", 9},  {"*.bar.>", "workers", 10},
};

struct MatchCase {
  std::string_view subject;
  Values plain;
  Groups queue_groups;
};

const MatchCase kMatchCases[] = {
    {"foo.bar", {1, 2, 3, 4, 5}, {{6, 7}, {8}}},
    {"foo.baz", {2, 3, 4, 5}, {{7}, {8}}},
    {"foo.bar.baz", {3, 4, 9}, {{10}}},
    {"foo", {4}, {}},
    {"bar.baz", {4, 5}, {}},
    {"x.bar.y.z", {4}, {{10}}},
    {"FOO.bar", {4, 5}, {}},
    // A wildcard token in a published subject is looked up literally.
    {"foo.*", {2, 3, 4, 5}, {{7}, {8}}},
    {"foo.>", {2, 3, 4, 5}, {{7}, {8}}},
    {"*.bar.>", {4}, {{10}}},
    // Subjects with empty tokens match nothing.
    {"", {}, {}},
    {".", {}, {}},
    {"foo.", {}, {}},
    {".foo", {}, {}},
    {"foo..bar", {}, {}},
};

TEST(SubjectIndex, MatchesLiteralAndWildcardPatternsWithQueueGroupsAcrossPatterns) {
  SubjectIndex<int> index;
  InsertAll(index, kSubscriptions);
  EXPECT_EQ(index.size(), kSubscriptions.size());
  // Twice: the second pass is served from the cache.
  for (int pass = 0; pass < 2; ++pass) {
    for (const MatchCase& c : kMatchCases) {
      auto result = index.Match(c.subject);
      ASSERT_NE(result, nullptr);
      EXPECT_EQ(result->plain, c.plain) << '"' << c.subject << "\" pass " << pass;
      EXPECT_EQ(result->queue_groups, c.queue_groups) << '"' << c.subject << "\" pass " << pass;
    }
  }
  EXPECT_GT(index.stats().cache_hits, 0u);
}

TEST(SubjectIndex, RejectsInvalidSubscribeSubjectsWithoutChangingAnything) {
  SubjectIndex<int> index;
  for (std::string_view subject : {"", "foo..bar", "foo.>.bar", "foo.", "a b", ">.x"}) {
    const Status status = index.Insert(subject, "", 1);
    EXPECT_EQ(status.code(), StatusCode::kInvalidArgument) << '"' << subject << '"';
  }
  EXPECT_EQ(index.size(), 0u);
  EXPECT_EQ(index.generation(), 0u);
}

TEST(SubjectIndex, EnforcesItsSubjectLimitsOnInsert) {
  SubjectIndex<int> index(16, SubjectLimits{8, 2});
  EXPECT_TRUE(index.Insert("a.b", "", 1).ok());
  EXPECT_EQ(index.Insert("a.b.c", "", 1).code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(index.Insert("abcdefghi", "", 1).code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(index.size(), 1u);
}

TEST(SubjectIndex, KeepsEveryValueOnOnePatternIncludingDuplicates) {
  SubjectIndex<int> index;
  InsertAll(index,
            {{"foo", "", 1}, {"foo", "", 2}, {"foo", "", 1}, {"foo", "q", 3}, {"foo", "q", 3}});
  EXPECT_EQ(index.size(), 5u);
  auto result = index.Match("foo");
  EXPECT_EQ(result->plain, (Values{1, 2, 1}));
  EXPECT_EQ(result->queue_groups, (Groups{{3, 3}}));

  EXPECT_TRUE(index.Remove("foo", "", 1));
  result = index.Match("foo");
  EXPECT_EQ(result->plain, (Values{2, 1}));
  EXPECT_TRUE(index.Remove("foo", "q", 3));
  EXPECT_EQ(index.Match("foo")->queue_groups, (Groups{{3}}));
  EXPECT_EQ(index.size(), 3u);
}

TEST(SubjectIndex, OrdersQueueMembersByInsertionAcrossPatterns) {
  SubjectIndex<int> index;
  InsertAll(index, {{"foo.*", "w", 1},
                    {"foo.bar", "w", 2},
                    {"foo.>", "v", 3},
                    {"foo.*", "w", 4},
                    {">", "w", 5},
                    {"foo.bar", "v", 6}});
  auto result = index.Match("foo.bar");
  EXPECT_TRUE(result->plain.empty());
  EXPECT_EQ(result->queue_groups, (Groups{{1, 2, 4, 5}, {3, 6}}));
}

TEST(SubjectIndex, RemoveReturnsFalseForAnythingNotPresent) {
  SubjectIndex<int> index;
  InsertAll(index, {{"foo.*", "", 1}, {"foo.bar", "q", 2}});
  const std::uint64_t generation = index.generation();
  struct Case {
    std::string_view subject;
    std::string_view queue_group;
    int value;
  };
  const Case cases[] = {
      {"foo.*", "", 2},                          // other value
      {"foo.*", "q", 1},                         // plain, not queue
      {"foo.bar", "", 2},                        // queue, not plain
      {"foo.bar", "r", 2},                       // other queue
      {"foo.bar", "q", 1},                       // other value in the queue
      {"foo", "", 1},                            // a prefix of a pattern
      {"foo.*.baz", "", 1},                      // longer
      {"foo.>", "", 1},     {"foo.bar", "", 1},  // a subject the pattern matches is not the pattern
      {"", "", 1},          {"foo..", "", 1},   {"foo.>.x", "", 1},
  };
  for (const Case& c : cases) {
    EXPECT_FALSE(index.Remove(c.subject, c.queue_group, c.value)) << '"' << c.subject << '"';
  }
  EXPECT_EQ(index.size(), 2u);
  EXPECT_EQ(index.generation(), generation);
}

TEST(SubjectIndex, RemovingEverythingLeavesAnEmptyIndexThatStillWorks) {
  SubjectIndex<int> index;
  InsertAll(index, kSubscriptions);
  for (const MatchCase& c : kMatchCases) index.Match(c.subject).reset();
  for (const Subscription& s : kSubscriptions) {
    EXPECT_TRUE(index.Remove(s.subject, s.queue_group, s.value)) << s.subject;
  }
  EXPECT_EQ(index.size(), 0u);
  for (const MatchCase& c : kMatchCases) {
    EXPECT_TRUE(index.Match(c.subject)->empty()) << '"' << c.subject << '"';
  }
  InsertAll(index, kSubscriptions);
  for (const MatchCase& c : kMatchCases) {
    EXPECT_EQ(index.Match(c.subject)->plain, c.plain) << '"' << c.subject << '"';
  }
}

TEST(SubjectIndex, GenerationBumpsOnEverySuccessfulInsertAndRemove) {
  SubjectIndex<int> index;
  EXPECT_TRUE(index.Insert("a", "", 1).ok());
  EXPECT_EQ(index.generation(), 1u);
  EXPECT_TRUE(index.Insert("a", "q", 1).ok());
  EXPECT_EQ(index.generation(), 2u);
  EXPECT_TRUE(index.Remove("a", "", 1));
  EXPECT_EQ(index.generation(), 3u);
  EXPECT_FALSE(index.Remove("a", "", 1));
  EXPECT_EQ(index.generation(), 3u);
  EXPECT_EQ(index.stats().inserts, 2u);
  EXPECT_EQ(index.stats().removes, 1u);
}

TEST(SubjectIndex, ServesRepeatedMatchesFromTheCacheWithTheSameResult) {
  SubjectIndex<int> index;
  InsertAll(index, {{"foo.*", "", 1}});
  auto first = index.Match("foo.bar");
  auto second = index.Match("foo.bar");
  EXPECT_EQ(first.get(), second.get());
  EXPECT_EQ(index.cache_size(), 1u);
  EXPECT_EQ(index.stats().matches, 2u);
  EXPECT_EQ(index.stats().cache_hits, 1u);
}

TEST(SubjectIndex, InvalidatesOnlyTheCachedSubjectsAChangedPatternMatches) {
  SubjectIndex<int> index;
  InsertAll(index, {{"foo.*", "", 1}, {"bar.>", "", 2}});
  auto foo_bar = index.Match("foo.bar");
  auto foo_baz = index.Match("foo.baz");
  auto bar_x = index.Match("bar.x");
  auto qux = index.Match("qux");
  ASSERT_EQ(index.cache_size(), 4u);

  struct Step {
    std::string_view subject;
    std::vector<std::string_view> invalidated;
  };
  const Step steps[] = {
      {"foo.bar", {"foo.bar"}},           // literal: exactly one entry
      {"foo.*", {"foo.bar", "foo.baz"}},  // wildcard: all it matches
      {"*.x", {"bar.x"}},
      {">", {"foo.bar", "foo.baz", "bar.x", "qux"}},
      {"nothing.cached", {}},
  };
  int value = 100;
  for (const Step& step : steps) {
    std::vector<std::string_view> subjects = {"foo.bar", "foo.baz", "bar.x", "qux"};
    std::vector<std::shared_ptr<const MatchResult<int>>> before;
    for (std::string_view subject : subjects) before.push_back(index.Match(subject));
    ASSERT_TRUE(index.Insert(step.subject, "", value++).ok());
    for (std::size_t i = 0; i < subjects.size(); ++i) {
      const bool is_invalidated = std::find(step.invalidated.begin(), step.invalidated.end(),
                                            subjects[i]) != step.invalidated.end();
      auto after = index.Match(subjects[i]);
      EXPECT_EQ(after.get() != before[i].get(), is_invalidated)
          << "insert " << step.subject << ", match " << subjects[i];
    }
  }
  EXPECT_EQ(foo_bar->plain, (Values{1}));  // results kept by the caller do not change
  EXPECT_EQ(index.Match("foo.bar")->plain, (Values{1, 100, 101, 103}));
  EXPECT_TRUE(qux->empty());
  EXPECT_EQ(index.Match("qux")->plain, (Values{103}));
}

TEST(SubjectIndex, InvalidatesCachedSubjectsOnRemove) {
  SubjectIndex<int> index;
  InsertAll(index, {{"foo.*", "", 1}, {"foo.bar", "", 2}, {"foo.>", "q", 3}});
  EXPECT_EQ(index.Match("foo.bar")->plain, (Values{1, 2}));
  EXPECT_EQ(index.Match("foo.baz")->plain, (Values{1}));
  EXPECT_TRUE(index.Remove("foo.bar", "", 2));
  EXPECT_EQ(index.Match("foo.bar")->plain, (Values{1}));
  EXPECT_TRUE(index.Remove("foo.*", "", 1));
  EXPECT_TRUE(index.Match("foo.bar")->plain.empty());
  EXPECT_TRUE(index.Match("foo.baz")->plain.empty());
  EXPECT_EQ(index.Match("foo.baz")->queue_groups, (Groups{{3}}));
  EXPECT_TRUE(index.Remove("foo.>", "q", 3));
  EXPECT_TRUE(index.Match("foo.baz")->empty());
}

TEST(SubjectIndex, EvictsASubjectNotMatchedRecentlyWhenTheCacheIsFull) {
  SubjectIndex<int> index(2);
  InsertAll(index, {{">", "", 1}});
  index.Match("a").reset();
  index.Match("b").reset();
  index.Match("a").reset();  // hit: "b" is now the one not matched recently
  index.Match("c").reset();  // evicts "b"
  EXPECT_EQ(index.cache_size(), 2u);
  const std::uint64_t hits = index.stats().cache_hits;
  index.Match("a").reset();
  EXPECT_EQ(index.stats().cache_hits, hits + 1);
  index.Match("b").reset();
  EXPECT_EQ(index.stats().cache_hits, hits + 1);
  EXPECT_EQ(index.cache_size(), 2u);
}

TEST(SubjectIndex, KeepsAFrequentlyMatchedSubjectCachedUnderAStreamOfUniqueSubjects) {
  SubjectIndex<int> index(4);
  InsertAll(index, {{">", "", 1}});
  index.Match("hot").reset();
  for (int i = 0; i < 100; ++i) {
    index.Match("_INBOX.reply." + std::to_string(i)).reset();
    const std::uint64_t hits = index.stats().cache_hits;
    index.Match("hot").reset();
    ASSERT_EQ(index.stats().cache_hits, hits + 1) << "after reply " << i;
  }
  EXPECT_EQ(index.cache_size(), 4u);
}

TEST(SubjectIndex, WorksWithTheCacheDisabled) {
  SubjectIndex<int> index(0);
  InsertAll(index, kSubscriptions);
  for (const MatchCase& c : kMatchCases) {
    EXPECT_EQ(index.Match(c.subject)->plain, c.plain) << '"' << c.subject << '"';
  }
  EXPECT_EQ(index.cache_size(), 0u);
  EXPECT_EQ(index.stats().cache_hits, 0u);
}

TEST(SubjectIndex, DoesNotCacheSubjectsThatCannotMatch) {
  SubjectIndex<int> index;
  InsertAll(index, {{">", "", 1}});
  for (std::string_view subject : {"", "a..b", ".", "a."}) {
    EXPECT_TRUE(index.Match(subject)->empty()) << '"' << subject << '"';
  }
  EXPECT_EQ(index.cache_size(), 0u);
}

// A brute-force model: every subscription in insertion order, matched with
// SubjectMatches and grouped as the index promises.
class BruteForceIndex {
 public:
  void Insert(const Subscription& subscription) { subscriptions_.push_back(subscription); }

  bool Remove(const Subscription& subscription) {
    auto found = std::find_if(subscriptions_.begin(), subscriptions_.end(), [&](const auto& s) {
      return s.subject == subscription.subject && s.queue_group == subscription.queue_group &&
             s.value == subscription.value;
    });
    if (found == subscriptions_.end()) return false;
    subscriptions_.erase(found);
    return true;
  }

  MatchResult<int> Match(std::string_view subject) const {
    MatchResult<int> result;
    std::vector<std::string> group_names;
    for (const Subscription& s : subscriptions_) {
      if (!SubjectMatches(s.subject, subject)) continue;
      if (s.queue_group.empty()) {
        result.plain.push_back(s.value);
        continue;
      }
      auto name = std::find(group_names.begin(), group_names.end(), s.queue_group);
      if (name == group_names.end()) {
        group_names.push_back(s.queue_group);
        result.queue_groups.push_back({s.value});
      } else {
        result.queue_groups[static_cast<std::size_t>(name - group_names.begin())].push_back(
            s.value);
      }
    }
    return result;
  }

  const std::vector<Subscription>& subscriptions() const { return subscriptions_; }

 private:
  std::vector<Subscription> subscriptions_;
};

std::string RandomSubject(std::mt19937& random, bool allow_wildcards, bool allow_empty_tokens) {
  static const char* const kLiteralTokens[] = {"a", "b", "c"};
  std::string subject;
  const int token_count = std::uniform_int_distribution<int>(1, 4)(random);
  for (int i = 0; i < token_count; ++i) {
    if (i > 0) subject += '.';
    const int pick = std::uniform_int_distribution<int>(0, 9)(random);
    if (allow_wildcards && pick == 0) {
      subject += '*';
    } else if (allow_wildcards && pick == 1) {
      subject += '>';
      if (i + 1 < token_count && !allow_empty_tokens) break;  // keep patterns valid
    } else if (allow_empty_tokens && pick == 2) {
      // empty token
    } else {
      subject += kLiteralTokens[pick % 3];
    }
  }
  return subject;
}

void RunRandomizedComparison(std::size_t max_cache_entries, std::uint32_t seed) {
  std::mt19937 random(seed);
  SubjectIndex<int> index(max_cache_entries);
  BruteForceIndex model;
  const char* const kQueueGroups[] = {"", "", "q1", "q2"};
  int next_value = 0;
  std::shared_ptr<const MatchResult<int>> kept;
  MatchResult<int> kept_expected;
  for (int step = 0; step < 6000; ++step) {
    const int action = std::uniform_int_distribution<int>(0, 9)(random);
    if (action <= 2) {
      // Insert: a fresh value, or reuse one to get duplicates.
      const int value = std::uniform_int_distribution<int>(0, 3)(random) == 0 && next_value > 0
                            ? next_value - 1
                            : next_value++;
      Subscription s{RandomSubject(random, true, step % 7 == 0),
                     kQueueGroups[std::uniform_int_distribution<int>(0, 3)(random)], value};
      const Status status = index.Insert(s.subject, s.queue_group, s.value);
      ASSERT_EQ(status.ok(), IsValidSubscribeSubject(s.subject)) << s.subject;
      if (status.ok()) model.Insert(s);
    } else if (action <= 5) {
      // Remove an existing subscription or a random (mostly absent) one.
      Subscription s;
      const auto& existing = model.subscriptions();
      if (!existing.empty() && action <= 4) {
        s = existing[std::uniform_int_distribution<std::size_t>(0, existing.size() - 1)(random)];
      } else {
        s = {RandomSubject(random, true, false),
             kQueueGroups[std::uniform_int_distribution<int>(0, 3)(random)],
             std::uniform_int_distribution<int>(0, next_value)(random)};
      }
      ASSERT_EQ(index.Remove(s.subject, s.queue_group, s.value), model.Remove(s)) << s.subject;
    } else {
      const std::string subject = RandomSubject(random, step % 5 == 0, step % 11 == 0);
      auto result = index.Match(subject);
      const MatchResult<int> expected = model.Match(subject);
      ASSERT_EQ(result->plain, expected.plain) << "step " << step << " subject " << subject;
      ASSERT_EQ(result->queue_groups, expected.queue_groups)
          << "step " << step << " subject " << subject;
      if (step % 100 == 0) {
        kept = result;
        kept_expected = expected;
      }
    }
    ASSERT_EQ(index.size(), model.subscriptions().size());
    ASSERT_LE(index.cache_size(), max_cache_entries);
    if (kept != nullptr) {
      ASSERT_EQ(kept->plain, kept_expected.plain);  // held results never change
    }
  }
  EXPECT_GT(index.stats().cache_hits, 0u);
}

TEST(SubjectIndex, AgreesWithABruteForceMatcherUnderRandomChurnWithASmallCache) {
  RunRandomizedComparison(8, 1);
}

TEST(SubjectIndex, AgreesWithABruteForceMatcherUnderRandomChurnWithALargeCache) {
  RunRandomizedComparison(4096, 2);
}

TEST(SubjectIndex, GroupsManyQueueNamesAcrossPatternsLikeABruteForceMatcher) {
  SubjectIndex<int> index;
  BruteForceIndex model;
  const char* const kPatterns[] = {"a.*", "a.b", ">", "*.b"};
  for (int i = 0; i < 200; ++i) {
    Subscription s{kPatterns[i % 4], "q" + std::to_string(i * 7 % 23), i};
    ASSERT_TRUE(index.Insert(s.subject, s.queue_group, s.value).ok());
    model.Insert(s);
    if (i % 5 == 4) {
      const Subscription& victim = model.subscriptions()[static_cast<std::size_t>(i) % 7];
      const Subscription copy = victim;
      ASSERT_TRUE(index.Remove(copy.subject, copy.queue_group, copy.value));
      ASSERT_TRUE(model.Remove(copy));
    }
    for (std::string_view subject : {"a.b", "a.c", "x.b"}) {
      auto result = index.Match(subject);
      const MatchResult<int> expected = model.Match(subject);
      ASSERT_EQ(result->plain, expected.plain) << subject << " after " << i;
      ASSERT_EQ(result->queue_groups, expected.queue_groups) << subject << " after " << i;
    }
  }
  EXPECT_EQ(index.Match("a.b")->queue_groups.size(), 23u);
}

TEST(SubjectIndex, WorksWithPointerValues) {
  int a = 0;
  int b = 0;
  SubjectIndex<const int*> index;
  ASSERT_TRUE(index.Insert("x.*", "", &a).ok());
  ASSERT_TRUE(index.Insert("x.y", "g", &b).ok());
  auto result = index.Match("x.y");
  EXPECT_EQ(result->plain, (std::vector<const int*>{&a}));
  EXPECT_EQ(result->queue_groups, (std::vector<std::vector<const int*>>{{&b}}));
  EXPECT_TRUE(index.Remove("x.y", "g", &b));
  EXPECT_TRUE(index.Match("x.y")->queue_groups.empty());
}

TEST(SubjectIndex, DoesNotKeepRemovedValuesAlive) {
  auto plain = std::make_shared<int>(1);
  auto member = std::make_shared<int>(2);
  {
    SubjectIndex<std::shared_ptr<int>> index;
    ASSERT_TRUE(index.Insert("a.*", "", plain).ok());
    ASSERT_TRUE(index.Insert("a.>", "q", member).ok());
    EXPECT_EQ(index.Match("a.b")->plain.size(), 1u);
    EXPECT_TRUE(index.Remove("a.*", "", plain));
    EXPECT_TRUE(index.Remove("a.>", "q", member));
    EXPECT_EQ(plain.use_count(), 1);
    EXPECT_EQ(member.use_count(), 1);
  }
}

}  // namespace
}  // namespace embed::subject
