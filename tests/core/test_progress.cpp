#include "faceage/core/progress.hpp"

#include <gtest/gtest.h>

namespace faceage {

TEST(Progress, RendersFractionRateAndEta) {
  ProgressBar bar({.label = "predict", .total = 100, .force = 0, .unit = "img"});
  std::string text = bar.render(50, 10.0, "loss 1.2");
  EXPECT_NE(text.find("predict ["), std::string::npos);
  EXPECT_NE(text.find("50/100 50%"), std::string::npos);
  EXPECT_NE(text.find("5.0 img/s"), std::string::npos);
  EXPECT_NE(text.find("ETA 0:10"), std::string::npos);
  EXPECT_NE(text.find("loss 1.2"), std::string::npos);
}

TEST(Progress, DisabledWhenForcedOff) {
  ProgressBar bar({.label = "x", .total = 10, .force = 0});
  EXPECT_FALSE(bar.enabled());
  bar.update(5);  // draws nothing
}

TEST(Progress, FormatsDurations) {
  EXPECT_EQ(format_duration(65), "1:05");
  EXPECT_EQ(format_duration(3725), "1:02:05");
}

}  // namespace faceage
