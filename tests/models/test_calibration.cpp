// SPDX-License-Identifier: Apache-2.0
#include "faceage/models/calibration.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <random>

#include "faceage/core/error.hpp"

namespace faceage::models {
namespace {

TEST(MinorProbability, SumsTheMassBelowTheGate) {
  // Ages 15..20 (min_age 15, 6 bins). Under 18: bins 15, 16, 17 -> 0.1 + 0.2 + 0.3 = 0.6.
  const float probs[] = {0.1f, 0.2f, 0.3f, 0.25f, 0.1f, 0.05f};
  EXPECT_NEAR(minor_probability(probs, 6, 15, 18), 0.6, 1e-6);
  EXPECT_NEAR(minor_probability(probs, 6, 15, 17.5), 0.6, 1e-6);  // ages 15..17 are below 17.5
  EXPECT_NEAR(minor_probability(probs, 6, 15, 17), 0.3, 1e-6);
  EXPECT_NEAR(minor_probability(probs, 6, 15, 10), 0.0, 1e-9);
  EXPECT_NEAR(minor_probability(probs, 6, 15, 99), 1.0, 1e-6);
}

TEST(MinorProbability, NormalForRegression) {
  EXPECT_NEAR(minor_probability_normal(17.5, 3, 18), 0.5, 1e-12);
  EXPECT_NEAR(minor_probability_normal(14.5, 3, 18), 0.841344746, 1e-6);  // Phi(1)
  EXPECT_EQ(minor_probability_normal(17.4, 0, 18), 1.0);
  EXPECT_EQ(minor_probability_normal(17.6, 0, 18), 0.0);
}

TEST(Platt, IdentityByDefaultAndFitsAShift) {
  PlattScaling identity;
  EXPECT_NEAR(identity.apply(0.3), 0.3, 1e-9);
  // Labels drawn from sigmoid(2*logit(p) - 1): the fit recovers a ~ 2, b ~ -1.
  std::mt19937 rng(3);
  std::uniform_real_distribution<double> u(0.02, 0.98), coin(0.0, 1.0);
  std::vector<double> p;
  std::vector<int> y;
  for (int i = 0; i < 20000; ++i) {
    const double pi = u(rng);
    const double x = std::log(pi / (1 - pi));
    const double truth = 1 / (1 + std::exp(-(2 * x - 1)));
    p.push_back(pi);
    y.push_back(coin(rng) < truth ? 1 : 0);
  }
  const auto s = fit_platt(p, y);
  EXPECT_NEAR(s.a, 2.0, 0.1);
  EXPECT_NEAR(s.b, -1.0, 0.1);
}

TEST(Platt, RefusesOneClass) {
  EXPECT_THROW(fit_platt({0.2, 0.3}, {1, 1}), Error);
  EXPECT_THROW(fit_platt({0.2}, {1, 0}), Error);
}

TEST(Reliability, EceByHand) {
  // Bin [0,0.5): p 0.2, 0.4 with labels 0, 1 -> mean 0.3, rate 0.5, |diff| 0.2, weight 2/4.
  // Bin [0.5,1]: p 0.6, 1.0 with labels 1, 1 -> mean 0.8, rate 1.0, |diff| 0.2, weight 2/4.
  const auto bins = reliability_bins({0.2, 0.4, 0.6, 1.0}, {0, 1, 1, 1}, 2);
  ASSERT_EQ(bins.size(), 2u);
  EXPECT_EQ(bins[0].count, 2);
  EXPECT_NEAR(bins[0].mean_predicted, 0.3, 1e-12);
  EXPECT_NEAR(bins[1].observed_rate, 1.0, 1e-12);
  EXPECT_NEAR(expected_calibration_error(bins), 0.2, 1e-12);
}

TEST(Conformal, QuantileByHand) {
  // n = 9, alpha 0.1: rank ceil(10 * 0.9) = 9 -> the largest.
  std::vector<double> s{5, 1, 4, 2, 9, 3, 8, 6, 7};
  EXPECT_EQ(conformal_quantile(s, 0.1), 9);
  // alpha 0.2: rank ceil(10 * 0.8) = 8 -> 8.
  EXPECT_EQ(conformal_quantile(s, 0.2), 8);
  // alpha 0.5: rank 5 -> 5.
  EXPECT_EQ(conformal_quantile(s, 0.5), 5);
  // n = 5 at alpha 0.1: rank ceil(6 * 0.9) = 6 > 5 -> infinite.
  EXPECT_TRUE(std::isinf(conformal_quantile({1, 2, 3, 4, 5}, 0.1)));
}

TEST(Conformal, MondrianBandsAndPooledFallback) {
  ConformalOptions options;
  options.band_upper = {10};
  options.min_band_count = 5;
  // Band 0 (predicted 5, scale 1): true ages 6..14, all above the estimate: upper scores 1..9,
  // lower scores -1..-9. Band 1: 3 faces (< 5) -> the pooled quantiles.
  std::vector<double> predicted, scale, truth;
  for (int i = 1; i <= 9; ++i) { predicted.push_back(5); scale.push_back(1); truth.push_back(5 + i); }
  for (int i = 1; i <= 3; ++i) { predicted.push_back(40); scale.push_back(2); truth.push_back(40 - 2 * 10 * i); }
  const auto c = fit_conformal(predicted, scale, truth, 0.8, options);
  ASSERT_EQ(c.quantiles.size(), 2u);
  EXPECT_EQ(c.counts[0], 9);
  EXPECT_EQ(c.counts[1], 3);
  // Each side may miss (1 - 0.8) / 2 = 0.1: rank ceil(10 * 0.9) = 9 of 9 upper scores -> 9.
  EXPECT_EQ(c.quantiles[0].upper, 9);
  // Lower scores are all negative (-9..-1; rank 9 -> -1): clipped to 0, the interval starts at the estimate.
  EXPECT_EQ(c.quantiles[0].lower, 0);
  // Pooled upper: 12 scores {1..9, -10, -20, -30}; rank ceil(13 * 0.9) = 12 -> 9.
  // Pooled lower: {-1..-9, 10, 20, 30}; rank 12 -> 30.
  EXPECT_EQ(c.pooled.upper, 9);
  EXPECT_EQ(c.pooled.lower, 30);
  EXPECT_EQ(c.quantiles[1].lower, 30);
  EXPECT_EQ(c.quantiles_for(3).upper, 9);
  EXPECT_EQ(c.quantiles_for(55).lower, 30);
  const auto back = conformal_from_json(to_json(c));
  ASSERT_EQ(back.quantiles.size(), 2u);
  EXPECT_EQ(back.quantiles[0].upper, 9);
  EXPECT_EQ(back.quantiles[1].lower, 30);
  EXPECT_EQ(back.pooled.lower, 30);
  EXPECT_EQ(back.band_upper, c.band_upper);
}

// A band with enough faces for its own quantile at 80 % but not at 95 % (rank ceil(10 * 0.975) =
// 10 > 9) takes the pooled quantile on that side instead of an infinite one.
TEST(Conformal, ABandTooSmallForTheCoverageUsesThePooledQuantile) {
  ConformalOptions options;
  options.band_upper = {10};
  options.min_band_count = 5;
  std::vector<double> predicted, scale, truth;
  for (int i = 1; i <= 9; ++i) { predicted.push_back(5); scale.push_back(1); truth.push_back(5 + i); }
  for (int i = 1; i <= 60; ++i) { predicted.push_back(40); scale.push_back(1); truth.push_back(40 + (i % 7) - 3); }
  const auto c = fit_conformal(predicted, scale, truth, 0.95, options);
  EXPECT_TRUE(std::isfinite(c.pooled.upper));
  EXPECT_EQ(c.quantiles[0].upper, c.pooled.upper);
  EXPECT_TRUE(std::isfinite(c.quantiles[1].upper));

  // Too few faces for any side: infinite quantiles survive the bundle's JSON (as null).
  const auto tiny = fit_conformal({5, 6}, {1, 1}, {6, 7}, 0.95, options);
  EXPECT_TRUE(std::isinf(tiny.pooled.upper));
  const auto back = conformal_from_json(nlohmann::json::parse(to_json(tiny).dump()));
  EXPECT_TRUE(std::isinf(back.pooled.upper));
  EXPECT_TRUE(std::isinf(back.quantiles_for(5).lower));
}

// Bundles calibrated before the two sides were split store one symmetric quantile per band.
TEST(Conformal, ReadsSymmetricCalibrations) {
  const auto c = conformal_from_json(nlohmann::json{{"coverage", 0.9},
                                                    {"band_upper", {10}},
                                                    {"quantiles", {1.5, 2.5}},
                                                    {"counts", {40, 50}},
                                                    {"pooled_quantile", 2.0}});
  EXPECT_EQ(c.quantiles_for(5).lower, 1.5);
  EXPECT_EQ(c.quantiles_for(5).upper, 1.5);
  EXPECT_EQ(c.quantiles_for(50).upper, 2.5);
  EXPECT_EQ(c.pooled.lower, 2.0);
}

// Skewed errors (true ages above the estimate three times as far as below): both sides cover
// on held-out data, each missing about (1 - coverage) / 2.
TEST(Conformal, EachSideCoversOnSkewedExchangeableData) {
  std::mt19937 rng(7);
  std::exponential_distribution<double> above(0.5), below(1.5);
  std::bernoulli_distribution side(0.5);
  auto draw = [&](int n, std::vector<double>& p, std::vector<double>& s, std::vector<double>& t) {
    for (int i = 0; i < n; ++i) {
      const double age = 1 + (i % 80), sigma = 1 + age / 10;
      p.push_back(age); s.push_back(sigma);
      t.push_back(age + sigma * (side(rng) ? above(rng) : -below(rng)));
    }
  };
  std::vector<double> p, s, t, p2, s2, t2;
  draw(4000, p, s, t);
  draw(4000, p2, s2, t2);
  const auto c = fit_conformal(p, s, t, 0.9);
  int covered = 0, missed_above = 0, missed_below = 0;
  for (size_t i = 0; i < p2.size(); ++i) {
    const auto q = c.quantiles_for(p2[i]);
    if (t2[i] > p2[i] + q.upper * s2[i]) ++missed_above;
    else if (t2[i] < p2[i] - q.lower * s2[i]) ++missed_below;
    else ++covered;
  }
  EXPECT_NEAR(covered / 4000.0, 0.9, 0.02);
  EXPECT_NEAR(missed_above / 4000.0, 0.05, 0.015);
  EXPECT_NEAR(missed_below / 4000.0, 0.05, 0.015);
  // The skew shows in the quantiles: the upper side is the wider one.
  EXPECT_GT(c.pooled.upper, 2 * c.pooled.lower);
}

TEST(Conformal, RejectsBadInput) {
  EXPECT_THROW(fit_conformal({1}, {1}, {1, 2}, 0.9), Error);
  EXPECT_THROW(fit_conformal({1}, {1}, {1}, 1.5), Error);
  EXPECT_THROW(conformal_from_json(nlohmann::json{{"coverage", 0.9}}), Error);
}

}  // namespace
}  // namespace faceage::models
