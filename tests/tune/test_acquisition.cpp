#include "faceage/tune/acquisition.hpp"

#include <gtest/gtest.h>

namespace faceage::tune {
namespace {

// Reference numbers from tests/tune/gp_reference.py.
TEST(ExpectedImprovement, MatchesClosedFormReference) {
  EXPECT_NEAR(expected_improvement(0.5, 0.3, 0.8, 0.05), 0.28399146738218006, 1e-12);
  EXPECT_NEAR(expected_improvement(1.2, 0.5, 0.8, 0.0), 0.06010361694738274, 1e-12);
  EXPECT_NEAR(expected_improvement(0.0, 2.0, 0.0, 0.0), 0.7978845608028654, 1e-12);  // sigma / sqrt(2 pi)
}

TEST(ExpectedImprovement, ZeroSigmaIsPlainImprovement) {
  EXPECT_DOUBLE_EQ(expected_improvement(0.3, 0.0, 0.8, 0.1), 0.4);
  EXPECT_DOUBLE_EQ(expected_improvement(0.9, 0.0, 0.8, 0.0), 0.0);
  // Continuous as sigma -> 0.
  EXPECT_NEAR(expected_improvement(0.3, 1e-9, 0.8, 0.1), 0.4, 1e-9);
}

TEST(ExpectedImprovement, VectorFormTakesVariances) {
  Eigen::Vector2d mean(0.5, 1.2), var(0.09, 0.25);
  const auto ei = expected_improvement(mean, var, 0.8, 0.0);
  EXPECT_NEAR(ei[1], 0.06010361694738274, 1e-12);
  EXPECT_NEAR(ei[0], expected_improvement(0.5, 0.3, 0.8, 0.0), 1e-15);
}

TEST(ExpectedImprovement, GrowsWithUncertaintyAndLowerMean) {
  EXPECT_GT(expected_improvement(1.0, 0.5, 0.8), expected_improvement(1.0, 0.2, 0.8));
  EXPECT_GT(expected_improvement(0.6, 0.2, 0.8), expected_improvement(0.7, 0.2, 0.8));
}

}  // namespace
}  // namespace faceage::tune
