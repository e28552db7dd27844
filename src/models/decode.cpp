#include "faceage/models/decode.hpp"

#include <algorithm>
#include <cmath>

namespace faceage::models {

AgeAnswer decode_distribution(const float* probs, int bins, int min_age, double coverage, double scale) {
  AgeAnswer answer;
  double mean = 0, second = 0;
  for (int b = 0; b < bins; ++b) {
    const double value = min_age + b;
    mean += probs[b] * value;
    second += probs[b] * value * value;
  }
  answer.age = mean;
  answer.std = std::sqrt(std::max(0.0, second - mean * mean));
  const double lower_q = (1.0 - coverage) / 2.0, upper_q = 1.0 - lower_q;
  double cumulative = 0, low = min_age, high = min_age + bins - 1;
  bool low_set = false;
  for (int i = 0; i < bins; ++i) {
    const double previous = cumulative;
    cumulative += probs[i];
    if (!low_set && cumulative >= lower_q) {
      low = min_age + i - 0.5 + (probs[i] > 0 ? (lower_q - previous) / probs[i] : 0.0);
      low_set = true;
    }
    if (cumulative >= upper_q) {
      high = min_age + i - 0.5 + (probs[i] > 0 ? (upper_q - previous) / probs[i] : 0.0);
      break;
    }
  }
  answer.low = std::max<double>(min_age, mean - (mean - low) * scale);
  answer.high = std::min<double>(min_age + bins - 1, mean + (high - mean) * scale);
  return answer;
}

AgeAnswer decode_regression(double age, double halfwidth, double scale) {
  AgeAnswer answer;
  answer.age = age;
  answer.std = halfwidth * scale;
  answer.low = std::max(0.0, age - halfwidth * scale);
  answer.high = age + halfwidth * scale;
  return answer;
}

AgeAnswer decode_age(const ModelOptions& model, const LabelSpec& labels, const float* probs_row, double regression_age) {
  if (model.age_head == AgeHeadKind::kDistribution) {
    return decode_distribution(probs_row, static_cast<int>(model.age_bins()), model.min_age, labels.interval_coverage,
                               labels.interval_scale);
  }
  return decode_regression(regression_age, labels.interval_halfwidth, labels.interval_scale);
}

}  // namespace faceage::models
