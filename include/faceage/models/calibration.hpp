// SPDX-License-Identifier: Apache-2.0
#pragma once
// Answers a user can act on: the probability that a face is under an age gate (calibrated), and
// age intervals that hold at a chosen coverage (split-conformal, per age band). Fitted on
// a calibration split (`faceage models calibrate`), stored in the bundle's label spec, applied by
// the predictor. No torch here: plain numbers in, plain numbers out.
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace faceage::models {

// P(age < gate) from one distribution row over ages min_age..min_age+bins-1. Ages are completed
// years (a label of 17 is a 17-year-old: under 18), so it is the mass of the bins below the gate.
double minor_probability(const float* probs, int bins, int min_age, double gate);
// For a regression head: P(label < gate) under a normal(age, std) with a continuity correction
// (label <= ceil(gate) - 1 <=> continuous age < ceil(gate) - 0.5); std <= 0 gives 0 or 1.
double minor_probability_normal(double age, double std, double gate);

// Platt scaling of a probability: sigmoid(a * logit(p) + b). Identity by default.
struct PlattScaling {
  double a = 1, b = 0;
  double apply(double p) const;
};
// Fitted by Newton's method on the log-loss (labels 0/1), with a tiny ridge so separable data
// stays finite. kInvalidArgument when sizes differ or a class is absent.
PlattScaling fit_platt(const std::vector<double>& probabilities, const std::vector<int>& labels);

struct ReliabilityBin {
  double lower = 0, upper = 0;   // predicted-probability range
  int count = 0;
  double mean_predicted = 0, observed_rate = 0;
};
// Equal-width bins over [0,1]; ECE = sum over bins of count/n * |mean_predicted - observed_rate|.
std::vector<ReliabilityBin> reliability_bins(const std::vector<double>& probabilities, const std::vector<int>& labels,
                                             int bins = 10);
double expected_calibration_error(const std::vector<ReliabilityBin>& bins);

// A calibrated minor probability for one gate age.
struct MinorCalibration {
  double gate = 18;
  PlattScaling scaling;
};

// Split-conformal quantile: the ceil((n+1)(1-alpha))-th smallest score (1-based), +infinity when
// that exceeds n (too few scores for the coverage asked).
double conformal_quantile(std::vector<double> scores, double alpha);

// Which age the Mondrian bands of a conformal calibration group faces by.
//  - kTrueAge (label-conditional, the default since 2026-12-05): quantiles are fitted per band of
//    TRUE age, and an age y is admitted for a face when y's own band's quantiles reach it; the
//    interval is the hull of the admitted ages. Coverage then holds within every true-age band
//    (Vovk's label-conditional conformal), which is what an age gate needs: teenagers, whom the
//    model calls older, are covered at the nominal rate instead of at adults' (measured on UTKFace
//    test, calibrated on val: worst true-age band 78 % with predicted-age bands, 86 % with these).
//  - kPredictedAge: one quantile pair per band of predicted age (bundles calibrated before then);
//    coverage holds per predicted-age band, not per true-age band.
enum class ConformalBands { kPredictedAge, kTrueAge };
std::string to_string(ConformalBands bands);
// "true_age" / "predicted_age"; nullopt for any other name (each caller says whose error it is).
std::optional<ConformalBands> conformal_bands_from_string(const std::string& name);

struct AgeInterval {
  double low = 0, high = 0;
};

// Mondrian split-conformal intervals with a per-face scale (the predicted distribution's spread,
// widened for poor-quality faces: the predictor's interval_scale_of). The two sides are calibrated
// apart, each missing at most (1 - coverage) / 2: errors are skewed (adults of 40-60 come out
// younger, teenagers older), and a symmetric interval then over-covers one side while the other
// misses. A band's lower quantile bounds (predicted - true) / scale, its upper (true - predicted) /
// scale; both are clipped at 0 so every interval holds the point estimate, and none goes below 0.
struct ConformalCalibration {
  struct Quantiles {
    double lower = 0, upper = 0;
  };
  double coverage = 0.9;
  ConformalBands bands_of = ConformalBands::kPredictedAge;  // what JSON without "bands_of" means
  std::vector<double> band_upper;  // band i: age < band_upper[i] (last: +inf); band 0 starts at 0
  std::vector<Quantiles> quantiles;  // one per band
  std::vector<int> counts;         // calibration faces per band
  Quantiles pooled;                // all bands together; used for bands with too few faces

  // The quantiles of the band holding `age` (of the band kind above).
  Quantiles quantiles_for(double age) const;
  // The interval for an estimate with this scale; nullopt when a quantile it needs is infinite
  // (too few calibration faces for the coverage), so the caller keeps the model's own interval.
  std::optional<AgeInterval> interval(double predicted_age, double scale) const;
};
// The default band edges of each kind: finer among children and teenagers, whose error changes
// fastest with age. True-age bands need enough faces per band for both sides (the 18 edge keeps
// the gate's two sides apart).
std::vector<double> default_band_upper(ConformalBands bands);
struct ConformalOptions {
  ConformalBands bands_of = ConformalBands::kTrueAge;
  std::vector<double> band_upper = default_band_upper(ConformalBands::kTrueAge);
  int min_band_count = 30;  // fewer calibration faces: the band uses the pooled quantiles
};
ConformalCalibration fit_conformal(const std::vector<double>& predicted, const std::vector<double>& scale,
                                   const std::vector<double>& truth, double coverage,
                                   const ConformalOptions& options = {});

nlohmann::json to_json(const ConformalCalibration& calibration);
ConformalCalibration conformal_from_json(const nlohmann::json& json);
nlohmann::json to_json(const MinorCalibration& calibration);
MinorCalibration minor_calibration_from_json(const nlohmann::json& json);

// The calibration for `coverage` among those stored (exact match within 1e-6), if any.
const ConformalCalibration* find_conformal(const std::vector<ConformalCalibration>& stored, double coverage);
// The stored Platt scaling for `gate`, if any.
const MinorCalibration* find_minor_calibration(const std::vector<MinorCalibration>& stored, double gate);

}  // namespace faceage::models
