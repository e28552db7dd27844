// SPDX-License-Identifier: Apache-2.0
#pragma once
// Answers a user can act on: the probability that a face is under an age gate (calibrated), and
// age intervals that hold at a chosen coverage (split-conformal, per predicted-age band). Fitted on
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

// Mondrian split-conformal intervals with a per-face scale (the predicted distribution's spread,
// widened for poor-quality faces: the predictor's interval_scale_of), one pair of quantiles per band
// of PREDICTED age (the true age is unknown when answering). The two sides are calibrated apart,
// each missing at most (1 - coverage) / 2: errors are skewed (adults of 40-60 come out younger,
// teenagers older), and a symmetric interval then over-covers one side while the true-age bands on
// the other side miss (measured on UTKFace val: 72-79 % for ages 3-17 and 40-59 with symmetric
// bands, docs/eval.md). Interval = [predicted - lower * scale, predicted + upper * scale];
// neither side goes below 0, so the interval always holds the point estimate.
struct ConformalCalibration {
  struct Quantiles {
    double lower = 0, upper = 0;
  };
  double coverage = 0.9;
  std::vector<double> band_upper;  // band i: predicted age < band_upper[i] (last: +inf)
  std::vector<Quantiles> quantiles;  // one per band
  std::vector<int> counts;         // calibration faces per band
  Quantiles pooled;                // all bands together; used for bands with too few faces

  Quantiles quantiles_for(double predicted_age) const;
};
struct ConformalOptions {
  // Finer among children and teenagers, whose error changes fastest with age; + a last open band.
  std::vector<double> band_upper{2, 4, 6, 8, 10, 13, 16, 20, 25, 30, 35, 40, 45, 50, 55, 60, 65, 70};
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
