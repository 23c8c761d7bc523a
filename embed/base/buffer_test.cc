#include "embed/base/buffer.h"

#include <gtest/gtest.h>

namespace embed {
namespace {

TEST(Buffer, AppendsAndConsumes) {
  Buffer b;
  b.Append("hello ");
  b.Append("world");
  EXPECT_EQ(b.Readable(), "hello world");
  b.Consume(6);
  EXPECT_EQ(b.Readable(), "world");
  b.Append("!");
  EXPECT_EQ(b.Readable(), "world!");
  b.Consume(6);
  EXPECT_TRUE(b.empty());
}

TEST(EscapeForLog, EscapesControlBytesAndTruncates) {
  EXPECT_EQ(EscapeForLog("a\r\nb"), "a\\x0d\\x0ab");
  EXPECT_EQ(EscapeForLog("abcdef", 3), "abc...");
}

}  // namespace
}  // namespace embed
