#include "faceage/monitor/time.hpp"

#include <gtest/gtest.h>

#include "support/error_code.hpp"

namespace faceage::monitor {
namespace {

using faceage::testing::error_of;

TEST(Iso8601, ParsesUtcOffsetsAndFractions) {
  // 2026-12-04T14:00:00Z = 20791 days * 86400 + 14 h = 1796392800.
  EXPECT_DOUBLE_EQ(parse_iso8601("2026-12-04T14:00:00Z"), 1796392800.0);
  EXPECT_DOUBLE_EQ(parse_iso8601("2026-12-04T15:00:00+01:00"), 1796392800.0);
  EXPECT_DOUBLE_EQ(parse_iso8601("2026-12-04T13:30:00-0030"), 1796392800.0);
  EXPECT_DOUBLE_EQ(parse_iso8601("2026-12-04 14:00Z"), 1796392800.0);
  EXPECT_DOUBLE_EQ(parse_iso8601("2026-12-04T14:00:00.25Z"), 1796392800.25);
  EXPECT_DOUBLE_EQ(parse_iso8601("2026-12-04"), 1796342400.0);
  EXPECT_DOUBLE_EQ(parse_iso8601("1970-01-01T00:00:00Z"), 0.0);
}

TEST(Iso8601, RejectsWhatIsNotATime) {
  for (const char* bad : {"", "yesterday", "2026-13-01", "2026-02-30", "2026-12-04T14:00:00", "2026-12-04T25:00Z",
                          "2026-12-04T14:00:00Zjunk", "1796392800"})
    EXPECT_EQ(error_of([&] { parse_iso8601(bad); }), ErrorCode::kInvalidArgument) << bad;
}

TEST(Iso8601, FormatsUtcWithMilliseconds) {
  EXPECT_EQ(format_iso8601(1796392800.25), "2026-12-04T14:00:00.250Z");
  EXPECT_DOUBLE_EQ(parse_iso8601(format_iso8601(1796392800.125)), 1796392800.125);
}

TEST(TimeWindow, IsClosedAndOpenWhereAbsent) {
  TimeWindow window{10.0, 20.0};
  EXPECT_TRUE(window.contains(10.0));
  EXPECT_TRUE(window.contains(20.0));
  EXPECT_FALSE(window.contains(20.5));
  EXPECT_TRUE(TimeWindow{}.contains(-1e9));
}

}  // namespace
}  // namespace faceage::monitor
