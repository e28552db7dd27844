#include "faceage/tune/test_functions.hpp"

#include <gtest/gtest.h>

namespace faceage::tune {
namespace {

TEST(TestFunctions, KnownOptimaAndRanges) {
  EXPECT_NEAR(branin({-3.14159265358979, 12.275}), 0.397887357729738, 1e-9);
  EXPECT_NEAR(branin({9.42478, 2.475}), 0.397887, 1e-5);
  EXPECT_NEAR(branin({-5, 0}), 308.129096011607, 1e-9);
  EXPECT_NEAR(hartmann6({0.20169, 0.150011, 0.476874, 0.275332, 0.311652, 0.6573}), -3.32236801141551, 1e-5);
  const auto f = branin_function();
  EXPECT_DOUBLE_EQ(f.relative_regret(f.f_min), 0.0);
  EXPECT_DOUBLE_EQ(f.relative_regret(f.f_max), 1.0);
}

TEST(TestFunctions, EvaluationsToReachCountsFromOne) {
  const auto f = branin_function();
  EXPECT_EQ(evaluations_to_reach(f, {100.0, 50.0, 0.5, 0.4}), 3);  // 0.5 is within 1 % of 307.7
  EXPECT_EQ(evaluations_to_reach(f, {100.0, 50.0}), 3);            // never: budget + 1
}

}  // namespace
}  // namespace faceage::tune
