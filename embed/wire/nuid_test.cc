#include "embed/wire/nuid.h"

#include <set>
#include <string>

#include <gtest/gtest.h>

namespace embed::wire {
namespace {

bool IsBase62(char c) {
  return (c >= '0' && c <= '9') || (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z');
}

TEST(Nuid, ProducesTwentyTwoBase62Characters) {
  Nuid nuid;
  for (int i = 0; i < 1000; ++i) {
    const std::string id = nuid.Next();
    ASSERT_EQ(id.size(), 22u);
    for (char c : id) ASSERT_TRUE(IsBase62(c)) << id;
  }
}

TEST(Nuid, ProducesUniqueIds) {
  Nuid nuid;
  std::set<std::string> seen;
  for (int i = 0; i < 100000; ++i) ASSERT_TRUE(seen.insert(nuid.Next()).second);
}

TEST(Nuid, KeepsThePrefixAndAdvancesTheSequence) {
  Nuid nuid;
  const std::string first = nuid.Next();
  const std::string second = nuid.Next();
  // The prefix changes only when the sequence wraps, after ~10^15 ids.
  EXPECT_EQ(first.substr(0, 12), second.substr(0, 12));
  EXPECT_NE(first.substr(12), second.substr(12));
}

TEST(Nuid, DifferentGeneratorsUseDifferentPrefixes) {
  Nuid a;
  Nuid b;
  EXPECT_NE(a.Next().substr(0, 12), b.Next().substr(0, 12));
}

TEST(NewInbox, PrefixesANuidWithInbox) {
  Nuid nuid;
  const std::string inbox = NewInbox(nuid);
  ASSERT_EQ(inbox.size(), 29u);
  EXPECT_EQ(inbox.substr(0, 7), "_INBOX.");
  for (char c : inbox.substr(7)) EXPECT_TRUE(IsBase62(c)) << inbox;
  EXPECT_NE(NewInbox(nuid), inbox);
}

}  // namespace
}  // namespace embed::wire
