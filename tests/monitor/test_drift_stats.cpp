#include "faceage/monitor/drift_stats.hpp"

#include <gtest/gtest.h>

#include <random>

#include "support/error_code.hpp"

namespace faceage::monitor {
namespace {

using faceage::testing::error_of;

TEST(PopulationStabilityIndex, MatchesHandComputation) {
  // ref 0.25 each, live 0.1 0.2 0.3 0.4:
  //   (0.1-0.25) ln(0.1/0.25) = -0.15 * -0.916291 = 0.137444
  //   (0.2-0.25) ln(0.2/0.25) = -0.05 * -0.223144 = 0.011157
  //   (0.3-0.25) ln(0.3/0.25) =  0.05 *  0.182322 = 0.009116
  //   (0.4-0.25) ln(0.4/0.25) =  0.15 *  0.470004 = 0.070501
  //   sum = 0.228217
  EXPECT_NEAR(population_stability_index({0.25, 0.25, 0.25, 0.25}, {0.1, 0.2, 0.3, 0.4}), 0.228217, 1e-6);
  EXPECT_DOUBLE_EQ(population_stability_index({0.3, 0.7}, {0.3, 0.7}), 0.0);
}

TEST(PopulationStabilityIndex, EmptyBinCountsAsTheFloor) {
  // ref 0.5 0.5, live 1 0 -> the empty live bin counts as 1e-4:
  //   (1-0.5) ln(1/0.5) = 0.346574;  (1e-4-0.5) ln(1e-4/0.5) = -0.4999 * -8.517193 = 4.257745
  //   sum = 4.604318
  EXPECT_NEAR(population_stability_index({0.5, 0.5}, {1.0, 0.0}), 4.604318, 1e-6);
}

TEST(PopulationStabilityIndex, RejectsDifferentBins) {
  EXPECT_EQ(error_of([] { population_stability_index({0.5, 0.5}, {1.0}); }), ErrorCode::kInvalidArgument);
}

TEST(Binning, CutsAreReferenceQuantilesAndBinsCloseOnTheRight) {
  // 1..10 in 4 bins: positions 0.25*9 = 2.25, 4.5, 6.75 between order statistics -> 3.25, 5.5, 7.75.
  const auto cuts = quantile_cuts({10, 9, 8, 7, 6, 5, 4, 3, 2, 1}, 4);
  ASSERT_EQ(cuts.size(), 3u);
  EXPECT_DOUBLE_EQ(cuts[0], 3.25);
  EXPECT_DOUBLE_EQ(cuts[1], 5.5);
  EXPECT_DOUBLE_EQ(cuts[2], 7.75);
  // cuts 1, 2: (-inf,1] holds 0 and 1; (1,2] holds 1.5 and 2; (2,inf) holds 3.
  const auto fractions = bin_fractions({1, 2}, {0, 1, 1.5, 2, 3});
  ASSERT_EQ(fractions.size(), 3u);
  EXPECT_DOUBLE_EQ(fractions[0], 0.4);
  EXPECT_DOUBLE_EQ(fractions[1], 0.4);
  EXPECT_DOUBLE_EQ(fractions[2], 0.2);
}

TEST(Binning, RepeatedQuantilesCollapse) {
  // A 0/1 feature that is 1 in 15 % of cases: every decile cut below 0.9 is 0, the 0.9 cut is 1.
  std::vector<double> values(85, 0.0);
  values.insert(values.end(), 15, 1.0);
  const auto cuts = quantile_cuts(values, 10);
  ASSERT_EQ(cuts.size(), 2u);
  EXPECT_DOUBLE_EQ(cuts[0], 0.0);
  EXPECT_DOUBLE_EQ(cuts[1], 1.0);
}

TEST(KolmogorovSmirnov, StatisticMatchesHandComputation) {
  // a = 1 2 3 4, b = 3..8. After x: F_a - F_b = 1/4-0, 2/4-0, 3/4-1/6, 1-2/6, 1-3/6, ... -> max 2/3 at x = 4.
  EXPECT_NEAR(ks_statistic({1, 2, 3, 4}, {3, 4, 5, 6, 7, 8}), 2.0 / 3.0, 1e-12);
  // Ties move both CDFs: a = 0 0 1, b = 0 1 1 -> after 0: 2/3 - 1/3; after 1: 1 - 1 -> 1/3.
  EXPECT_NEAR(ks_statistic({0, 0, 1}, {0, 1, 1}), 1.0 / 3.0, 1e-12);
  EXPECT_DOUBLE_EQ(ks_statistic({1, 2, 3}, {3, 2, 1}), 0.0);
}

TEST(KolmogorovSmirnov, PValueMatchesHandComputation) {
  // n = 4, m = 6, D = 2/3: ne = sqrt(24/10) = 1.549193;
  // lambda = (1.549193 + 0.12 + 0.11/1.549193) * 2/3 = 1.160132;
  // Q = 2 (exp(-2 l^2) - exp(-8 l^2) + ...) = 2 (0.067758 - 0.0000211 + ...) = 0.135474.
  const auto result = ks_two_sample({1, 2, 3, 4}, {3, 4, 5, 6, 7, 8});
  EXPECT_NEAR(result.p_value, 0.135474, 1e-5);
  EXPECT_DOUBLE_EQ(ks_p_value(0.0, 100, 100), 1.0);
}

TEST(KolmogorovSmirnov, SeparatesSameFromShifted) {
  std::mt19937 rng(7);
  std::normal_distribution<double> normal(0.0, 1.0);
  std::vector<double> a(500), b(500), c(500);
  for (auto* v : {&a, &b}) for (double& x : *v) x = normal(rng);
  for (double& x : c) x = normal(rng) + 0.5;
  EXPECT_GT(ks_two_sample(a, b).p_value, 0.05);
  EXPECT_LT(ks_two_sample(a, c).p_value, 1e-6);
}

TEST(Wasserstein, MatchesHandComputation) {
  // A shift moves every unit of mass by 5.
  EXPECT_NEAR(wasserstein_distance({0, 1, 3}, {5, 6, 8}), 5.0, 1e-12);
  // a = 0 2, b = 1: |F_a - F_b| = |0.5 - 0| on [0,1) + |0.5 - 1| on [1,2) = 0.5 + 0.5.
  EXPECT_NEAR(wasserstein_distance({0, 2}, {1}), 1.0, 1e-12);
  // a = 0 1 2 3, b = 0 3: |0.25-0.5| + |0.5-0.5| + |0.75-0.5| over unit gaps = 0.5.
  EXPECT_NEAR(wasserstein_distance({0, 1, 2, 3}, {0, 3}), 0.5, 1e-12);
  EXPECT_DOUBLE_EQ(wasserstein_distance({2, 2}, {2}), 0.0);
}

TEST(QuantileSummary, InterpolatesBetweenOrderStatistics) {
  const auto q = quantile_summary({5, 1, 4, 2, 3}, 3);
  ASSERT_EQ(q.size(), 3u);
  EXPECT_DOUBLE_EQ(q[0], 1);
  EXPECT_DOUBLE_EQ(q[1], 3);
  EXPECT_DOUBLE_EQ(q[2], 5);
  EXPECT_EQ(error_of([] { quantile_summary({}, 3); }), ErrorCode::kInvalidArgument);
  EXPECT_EQ(error_of([] { ks_statistic({}, {1}); }), ErrorCode::kInvalidArgument);
}

}  // namespace
}  // namespace faceage::monitor
