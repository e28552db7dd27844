// SPDX-License-Identifier: Apache-2.0
#include "faceage/models/calibration.hpp"

#include <gtest/gtest.h>

#include <algorithm>
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

// The hand computations' bands: age < 10 and age >= 10, own quantiles from 5 faces.
ConformalOptions two_bands(ConformalBands bands_of) {
  ConformalOptions options;
  options.bands_of = bands_of;
  options.band_upper = {10};
  options.min_band_count = 5;
  return options;
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
  const auto options = two_bands(ConformalBands::kPredictedAge);
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
  const auto options = two_bands(ConformalBands::kPredictedAge);
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
  ConformalOptions options;
  options.bands_of = ConformalBands::kPredictedAge;
  options.band_upper = default_band_upper(ConformalBands::kPredictedAge);
  const auto c = fit_conformal(p, s, t, 0.9, options);
  int covered = 0, missed_above = 0, missed_below = 0;
  for (size_t i = 0; i < p2.size(); ++i) {
    const auto interval = c.interval(p2[i], s2[i]);
    ASSERT_TRUE(interval);
    if (t2[i] > interval->high) ++missed_above;
    else if (t2[i] < interval->low) ++missed_below;
    else ++covered;
  }
  EXPECT_NEAR(covered / 4000.0, 0.9, 0.02);
  EXPECT_NEAR(missed_above / 4000.0, 0.05, 0.015);
  EXPECT_NEAR(missed_below / 4000.0, 0.05, 0.015);
  // The skew shows in the quantiles: the upper side is the wider one.
  EXPECT_GT(c.pooled.upper, 2 * c.pooled.lower);
}

// Label-conditional bands by hand. Bands of true age {< 10, >= 10}, 80 %: each side may miss 10 %,
// rank ceil(10 * 0.9) = 9 of 9 -> the largest score of the band.
TEST(Conformal, TrueAgeBandsByHand) {
  const auto options = two_bands(ConformalBands::kTrueAge);
  std::vector<double> predicted, scale, truth;
  // True ages 1..9 all estimated 10: lower scores (10 - t) 9..1 -> 9; upper scores -9..-1 -> 0.
  for (int t = 1; t <= 9; ++t) { predicted.push_back(10); scale.push_back(1); truth.push_back(t); }
  // True ages 11..19 all estimated 10: lower scores -1..-9 -> 0; upper scores 1..9 -> 9.
  for (int t = 11; t <= 19; ++t) { predicted.push_back(10); scale.push_back(1); truth.push_back(t); }
  const auto c = fit_conformal(predicted, scale, truth, 0.8, options);
  EXPECT_EQ(c.bands_of, ConformalBands::kTrueAge);
  ASSERT_EQ(c.quantiles.size(), 2u);
  EXPECT_EQ(c.counts, (std::vector<int>{9, 9}));
  EXPECT_EQ(c.quantiles[0].lower, 9);
  EXPECT_EQ(c.quantiles[0].upper, 0);
  EXPECT_EQ(c.quantiles[1].lower, 0);
  EXPECT_EQ(c.quantiles[1].upper, 9);
  // Estimate 12, scale 1: band [0, 10) admits [max(0, 12 - 9), min(10, 12 + 0)] = [3, 10]; band
  // [10, inf) admits [max(10, 12 - 0), 12 + 9] = [12, 21]; the hull is [3, 21].
  auto interval = c.interval(12, 1);
  ASSERT_TRUE(interval);
  EXPECT_DOUBLE_EQ(interval->low, 3);
  EXPECT_DOUBLE_EQ(interval->high, 21);
  // Estimate 30, scale 0.5: band 0 reaches down only to 30 - 4.5 = 25.5, above its end (empty);
  // band 1 admits [30, 34.5].
  interval = c.interval(30, 0.5);
  ASSERT_TRUE(interval);
  EXPECT_DOUBLE_EQ(interval->low, 30);
  EXPECT_DOUBLE_EQ(interval->high, 34.5);
  // Estimate 2, scale 1: band 0 admits [0, 2] (never below 0); band 1 admits [10, 11]: [0, 11].
  interval = c.interval(2, 1);
  ASSERT_TRUE(interval);
  EXPECT_DOUBLE_EQ(interval->low, 0);
  EXPECT_DOUBLE_EQ(interval->high, 11);
  // The kind of band survives the bundle's JSON; JSON without it is a predicted-age calibration.
  const auto back = conformal_from_json(nlohmann::json::parse(to_json(c).dump()));
  EXPECT_EQ(back.bands_of, ConformalBands::kTrueAge);
  EXPECT_DOUBLE_EQ(back.interval(12, 1)->low, 3);
  auto json = to_json(c);
  json.erase("bands_of");
  EXPECT_EQ(conformal_from_json(json).bands_of, ConformalBands::kPredictedAge);
  json["bands_of"] = "shoe_size";
  EXPECT_THROW(conformal_from_json(json), Error);
}

// Regression to the mean, as age models show it: the young are estimated older, the old younger.
// Bands of predicted age cover on average but miss within the extreme true-age bands; bands of true
// age cover in every true-age band.
TEST(Conformal, TrueAgeBandsCoverEveryTrueAgeBand) {
  std::mt19937 rng(11);
  std::uniform_real_distribution<double> age(0, 90);
  std::normal_distribution<double> noise(0, 1);
  auto draw = [&](int n, std::vector<double>& p, std::vector<double>& s, std::vector<double>& t) {
    for (int i = 0; i < n; ++i) {
      const double truth = age(rng), sigma = 2 + truth / 15;
      t.push_back(truth);
      p.push_back(0.6 * truth + 14 + sigma * noise(rng));
      s.push_back(sigma);
    }
  };
  std::vector<double> p, s, t, p2, s2, t2;
  draw(20000, p, s, t);
  draw(20000, p2, s2, t2);
  const std::vector<double> report_edges{10, 20, 30, 40, 50, 60, 70, 80};
  auto worst_band_coverage = [&](const ConformalCalibration& c, double* overall) {
    std::vector<int> n(report_edges.size() + 1), covered(report_edges.size() + 1);
    int all = 0;
    for (size_t i = 0; i < p2.size(); ++i) {
      const auto band = std::upper_bound(report_edges.begin(), report_edges.end(), t2[i]) - report_edges.begin();
      const auto interval = c.interval(p2[i], s2[i]);
      const bool in = interval && t2[i] >= interval->low && t2[i] <= interval->high;
      ++n[band];
      covered[band] += in;
      all += in;
    }
    *overall = all / double(p2.size());
    double worst = 1;
    for (size_t b = 0; b < n.size(); ++b) worst = std::min(worst, covered[b] / double(n[b]));
    return worst;
  };
  ConformalOptions by_prediction;
  by_prediction.bands_of = ConformalBands::kPredictedAge;
  by_prediction.band_upper = default_band_upper(ConformalBands::kPredictedAge);
  double overall_predicted = 0, overall_true = 0;
  const double worst_predicted =
      worst_band_coverage(fit_conformal(p, s, t, 0.9, by_prediction), &overall_predicted);
  const double worst_true = worst_band_coverage(fit_conformal(p, s, t, 0.9), &overall_true);
  EXPECT_NEAR(overall_predicted, 0.9, 0.015);
  EXPECT_LT(worst_predicted, 0.85);  // 0.82 here
  EXPECT_GE(overall_true, 0.89);
  EXPECT_GE(worst_true, 0.88);
}

TEST(Conformal, RejectsBadInput) {
  EXPECT_THROW(fit_conformal({1}, {1}, {1, 2}, 0.9), Error);
  EXPECT_THROW(fit_conformal({1}, {1}, {1}, 1.5), Error);
  EXPECT_THROW(conformal_from_json(nlohmann::json{{"coverage", 0.9}}), Error);
}

}  // namespace
}  // namespace faceage::models
