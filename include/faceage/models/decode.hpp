#pragma once
// Decoding model outputs into answers, shared by the trainer (validation, interval calibration)
// and the predictor so both report exactly the same numbers.
#include <utility>

#include "faceage/models/bundle.hpp"

namespace faceage::models {

struct AgeAnswer {
  double age = 0;   // expectation (distribution head) or the regression output
  double std = 0;   // std of the distribution; the interval half-width for regression
  double low = 0, high = 0;
};

// One row of bin probabilities (sum 1) over ages min_age..min_age+bins-1. The interval is the
// central `coverage` mass (linear interpolation of the CDF, each bin spanning age±0.5), widened
// around the expectation by `scale` and clipped to the bin range.
AgeAnswer decode_distribution(const float* probs, int bins, int min_age, double coverage, double scale);
// A regression output: age ± halfwidth·scale (low clipped at 0).
AgeAnswer decode_regression(double age, double halfwidth, double scale);

// Answers for a batch of model outputs (already averaged over flips/ensembles by the caller):
// probs [B,bins] float on CPU for the distribution head, or ages [B] for regression.
AgeAnswer decode_age(const ModelOptions& model, const LabelSpec& labels, const float* probs_row, double regression_age);

}  // namespace faceage::models
