// SPDX-License-Identifier: Apache-2.0
#include "faceage/models/calibration.hpp"

#include <algorithm>
#include <cmath>
#include <limits>

#include "faceage/core/check.hpp"

namespace faceage::models {

double minor_probability(const float* probs, int bins, int min_age, double gate) {
  double mass = 0;
  for (int b = 0; b < bins && min_age + b < gate; ++b) mass += probs[b];
  return std::clamp(mass, 0.0, 1.0);
}

double minor_probability_normal(double age, double std, double gate) {
  // Labels are completed years: "under 18" is a label <= 17, i.e. a continuous age below 17.5.
  const double threshold = std::ceil(gate) - 0.5;
  if (!(std > 0)) return age < threshold ? 1.0 : 0.0;
  return 0.5 * std::erfc(-(threshold - age) / (std * std::sqrt(2.0)));
}

namespace {
constexpr double kProbabilityFloor = 1e-6;
double logit(double p) {
  p = std::clamp(p, kProbabilityFloor, 1.0 - kProbabilityFloor);
  return std::log(p / (1.0 - p));
}
double sigmoid(double x) { return 1.0 / (1.0 + std::exp(-x)); }
}  // namespace

double PlattScaling::apply(double p) const { return sigmoid(a * logit(p) + b); }

PlattScaling fit_platt(const std::vector<double>& probabilities, const std::vector<int>& labels) {
  FACEAGE_CHECK(probabilities.size() == labels.size(), ErrorCode::kInvalidArgument,
                "fit_platt: " << probabilities.size() << " probabilities but " << labels.size() << " labels");
  const auto positives = std::count(labels.begin(), labels.end(), 1);
  FACEAGE_CHECK(positives > 0 && positives < static_cast<long>(labels.size()), ErrorCode::kInvalidArgument,
                "fit_platt needs both classes among the labels");
  PlattScaling s;
  constexpr double kRidge = 1e-6;
  for (int iteration = 0; iteration < 100; ++iteration) {
    // Gradient and Hessian of the mean log-loss in (a, b), x = logit(p).
    double ga = 0, gb = 0, haa = kRidge, hab = 0, hbb = kRidge;
    for (size_t i = 0; i < labels.size(); ++i) {
      const double x = logit(probabilities[i]);
      const double q = sigmoid(s.a * x + s.b);
      const double r = q - labels[i], w = q * (1 - q);
      ga += r * x; gb += r;
      haa += w * x * x; hab += w * x; hbb += w;
    }
    ga += kRidge * (s.a - 1); gb += kRidge * s.b;
    const double det = haa * hbb - hab * hab;
    if (!(std::abs(det) > 1e-18)) break;
    const double da = (hbb * ga - hab * gb) / det, db = (haa * gb - hab * ga) / det;
    s.a -= da; s.b -= db;
    if (std::abs(da) + std::abs(db) < 1e-10) break;
  }
  return s;
}

std::vector<ReliabilityBin> reliability_bins(const std::vector<double>& probabilities, const std::vector<int>& labels,
                                             int bins) {
  FACEAGE_CHECK(probabilities.size() == labels.size() && bins > 0, ErrorCode::kInvalidArgument,
                "reliability_bins: sizes differ or no bins");
  std::vector<ReliabilityBin> out(bins);
  for (int b = 0; b < bins; ++b) {
    out[b].lower = static_cast<double>(b) / bins;
    out[b].upper = static_cast<double>(b + 1) / bins;
  }
  for (size_t i = 0; i < labels.size(); ++i) {
    const int b = std::clamp(static_cast<int>(probabilities[i] * bins), 0, bins - 1);
    out[b].count += 1;
    out[b].mean_predicted += probabilities[i];
    out[b].observed_rate += labels[i];
  }
  for (auto& bin : out) {
    if (bin.count == 0) continue;
    bin.mean_predicted /= bin.count;
    bin.observed_rate /= bin.count;
  }
  return out;
}

double expected_calibration_error(const std::vector<ReliabilityBin>& bins) {
  double total = 0, error = 0;
  for (const auto& bin : bins) {
    total += bin.count;
    error += bin.count * std::abs(bin.mean_predicted - bin.observed_rate);
  }
  return total > 0 ? error / total : 0.0;
}

double conformal_quantile(std::vector<double> scores, double alpha) {
  const auto n = static_cast<double>(scores.size());
  const double rank = std::ceil((n + 1) * (1 - alpha));
  if (scores.empty() || rank > n) return std::numeric_limits<double>::infinity();
  std::sort(scores.begin(), scores.end());
  return scores[static_cast<size_t>(std::max(1.0, rank)) - 1];
}

std::string to_string(ConformalBands bands) {
  return bands == ConformalBands::kTrueAge ? "true_age" : "predicted_age";
}

std::optional<ConformalBands> conformal_bands_from_string(const std::string& name) {
  if (name == "true_age") return ConformalBands::kTrueAge;
  if (name == "predicted_age") return ConformalBands::kPredictedAge;
  return std::nullopt;
}

std::vector<double> default_band_upper(ConformalBands bands) {
  if (bands == ConformalBands::kTrueAge) return {3, 6, 10, 14, 18, 25, 30, 40, 50, 60, 70, 80};
  return {2, 4, 6, 8, 10, 13, 16, 20, 25, 30, 35, 40, 45, 50, 55, 60, 65, 70};
}

ConformalCalibration::Quantiles ConformalCalibration::quantiles_for(double age) const {
  for (size_t i = 0; i < quantiles.size(); ++i) {
    if (i >= band_upper.size() || age < band_upper[i]) return quantiles[i];
  }
  return pooled;
}

std::optional<AgeInterval> ConformalCalibration::interval(double predicted_age, double scale) const {
  if (bands_of == ConformalBands::kPredictedAge) {
    const auto q = quantiles_for(predicted_age);
    if (!std::isfinite(q.lower) || !std::isfinite(q.upper)) return std::nullopt;
    return AgeInterval{std::max(0.0, predicted_age - q.lower * scale), predicted_age + q.upper * scale};
  }
  // Label-conditional: band i admits the ages of [start, end) within its own reach of the estimate;
  // the answer is the hull of what the bands admit. The estimate's own band always admits the
  // estimate (quantiles are >= 0), so the hull is never empty.
  AgeInterval hull{predicted_age, predicted_age};
  for (size_t i = 0; i < quantiles.size(); ++i) {
    const auto& q = quantiles[i];
    if (!std::isfinite(q.lower) || !std::isfinite(q.upper)) return std::nullopt;
    const double start = i == 0 ? 0.0 : band_upper[i - 1];
    const double end = i < band_upper.size() ? band_upper[i] : std::numeric_limits<double>::infinity();
    const double low = std::max(start, predicted_age - q.lower * scale);
    const double high = std::min(end, predicted_age + q.upper * scale);
    if (low > high) continue;
    hull.low = std::min(hull.low, low);
    hull.high = std::max(hull.high, high);
  }
  hull.low = std::max(0.0, hull.low);
  return hull;
}

namespace {

// One side's quantile: a side may miss (1 - coverage) / 2 of the faces. A negative quantile (the
// whole band errs the other way) is clipped to 0 so the interval still holds the estimate.
double side_quantile(const std::vector<double>& scores, double coverage) {
  return std::max(0.0, conformal_quantile(scores, (1 - coverage) / 2));
}

}  // namespace

ConformalCalibration fit_conformal(const std::vector<double>& predicted, const std::vector<double>& scale,
                                   const std::vector<double>& truth, double coverage, const ConformalOptions& options) {
  FACEAGE_CHECK(predicted.size() == scale.size() && predicted.size() == truth.size(), ErrorCode::kInvalidArgument,
                "fit_conformal: predicted, scale and truth differ in size");
  FACEAGE_CHECK(coverage > 0 && coverage < 1, ErrorCode::kInvalidArgument,
                "coverage must be in (0, 1), got " << coverage);
  FACEAGE_CHECK(std::is_sorted(options.band_upper.begin(), options.band_upper.end()), ErrorCode::kInvalidArgument,
                "conformal band edges must be increasing");
  ConformalCalibration c;
  c.coverage = coverage;
  c.bands_of = options.bands_of;
  c.band_upper = options.band_upper;
  const size_t bands = options.band_upper.size() + 1;
  // Signed scores: how far below (lower) and above (upper) the estimate the true age lies, in scales.
  std::vector<std::vector<double>> band_lower(bands), band_upper(bands);
  std::vector<double> all_lower, all_upper;
  for (size_t i = 0; i < predicted.size(); ++i) {
    const double s = std::max(scale[i], 1e-6);
    const double below = (predicted[i] - truth[i]) / s, above = (truth[i] - predicted[i]) / s;
    const double key = options.bands_of == ConformalBands::kTrueAge ? truth[i] : predicted[i];
    const auto band = static_cast<size_t>(
        std::upper_bound(options.band_upper.begin(), options.band_upper.end(), key) - options.band_upper.begin());
    band_lower[band].push_back(below);
    band_upper[band].push_back(above);
    all_lower.push_back(below);
    all_upper.push_back(above);
  }
  c.pooled = {side_quantile(all_lower, coverage), side_quantile(all_upper, coverage)};
  for (size_t band = 0; band < bands; ++band) {
    const int count = static_cast<int>(band_lower[band].size());
    c.counts.push_back(count);
    // A band's own quantile needs enough faces, and faces enough for the rank: at 95 % a side may
    // miss 2.5 %, which 30 faces cannot show (an infinite quantile); such a side uses the pooled one.
    const bool own = count >= options.min_band_count;
    const double lower = own ? side_quantile(band_lower[band], coverage) : c.pooled.lower;
    const double upper = own ? side_quantile(band_upper[band], coverage) : c.pooled.upper;
    c.quantiles.push_back({std::isfinite(lower) ? lower : c.pooled.lower, std::isfinite(upper) ? upper : c.pooled.upper});
  }
  return c;
}

nlohmann::json to_json(const ConformalCalibration& c) {
  std::vector<double> lower, upper;
  for (const auto& q : c.quantiles) {
    lower.push_back(q.lower);
    upper.push_back(q.upper);
  }
  return {{"coverage", c.coverage},       {"bands_of", to_string(c.bands_of)}, {"band_upper", c.band_upper}, {"lower", lower},
          {"upper", upper},               {"counts", c.counts},             {"pooled_lower", c.pooled.lower},
          {"pooled_upper", c.pooled.upper}};
}

namespace {

// JSON has no infinity: nlohmann writes it as null (a side too few faces could bound), read back here.
double quantile_from_json(const nlohmann::json& value) {
  return value.is_null() ? std::numeric_limits<double>::infinity() : value.get<double>();
}
std::vector<double> quantiles_from_json(const nlohmann::json& values) {
  std::vector<double> out;
  for (const auto& value : values) out.push_back(quantile_from_json(value));
  return out;
}

}  // namespace

ConformalCalibration conformal_from_json(const nlohmann::json& json) {
  ConformalCalibration c;
  try {
    c.coverage = json.at("coverage").get<double>();
    const auto bands_of = json.value("bands_of", std::string("predicted_age"));
    const auto parsed = conformal_bands_from_string(bands_of);
    FACEAGE_CHECK(parsed, ErrorCode::kModel, "conformal calibration: unknown bands_of '" << bands_of << "'");
    c.bands_of = *parsed;
    c.band_upper = json.at("band_upper").get<std::vector<double>>();
    c.counts = json.value("counts", std::vector<int>{});
    std::vector<double> lower, upper;
    if (json.contains("quantiles")) {
      // Bundles calibrated before 2026-12-05 store one symmetric quantile per band.
      lower = upper = quantiles_from_json(json.at("quantiles"));
      c.pooled.lower = c.pooled.upper = quantile_from_json(json.at("pooled_quantile"));
    } else {
      lower = quantiles_from_json(json.at("lower"));
      upper = quantiles_from_json(json.at("upper"));
      c.pooled = {quantile_from_json(json.at("pooled_lower")), quantile_from_json(json.at("pooled_upper"))};
    }
    FACEAGE_CHECK(lower.size() == upper.size() && lower.size() == c.band_upper.size() + 1, ErrorCode::kModel,
                  "conformal calibration: " << lower.size() << "/" << upper.size() << " quantiles for "
                                            << c.band_upper.size() + 1 << " bands");
    for (size_t i = 0; i < lower.size(); ++i) c.quantiles.push_back({lower[i], upper[i]});
  } catch (const nlohmann::json::exception& e) {
    throw Error(ErrorCode::kModel, std::string("malformed conformal calibration: ") + e.what());
  }
  return c;
}

nlohmann::json to_json(const MinorCalibration& c) {
  return {{"gate", c.gate}, {"platt_a", c.scaling.a}, {"platt_b", c.scaling.b}};
}

MinorCalibration minor_calibration_from_json(const nlohmann::json& json) {
  MinorCalibration c;
  try {
    c.gate = json.at("gate").get<double>();
    c.scaling.a = json.at("platt_a").get<double>();
    c.scaling.b = json.at("platt_b").get<double>();
  } catch (const nlohmann::json::exception& e) {
    throw Error(ErrorCode::kModel, std::string("malformed minor-probability calibration: ") + e.what());
  }
  return c;
}

const ConformalCalibration* find_conformal(const std::vector<ConformalCalibration>& stored, double coverage) {
  for (const auto& c : stored) {
    if (std::abs(c.coverage - coverage) < 1e-6) return &c;
  }
  return nullptr;
}

const MinorCalibration* find_minor_calibration(const std::vector<MinorCalibration>& stored, double gate) {
  for (const auto& c : stored) {
    if (std::abs(c.gate - gate) < 1e-6) return &c;
  }
  return nullptr;
}

}  // namespace faceage::models
