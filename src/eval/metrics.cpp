#include "faceage/eval/metrics.hpp"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cmath>
#include <map>
#include <numeric>
#include <tuple>

#include "faceage/core/check.hpp"

namespace faceage::eval {
namespace {

// Running sums for one group; finished into GroupStats.
struct Acc {
  std::int64_t n = 0;
  double abs_sum = 0;
  double signed_sum = 0;
  void add(double err) {
    ++n;
    abs_sum += std::abs(err);
    signed_sum += err;
  }
  GroupStats stats(std::string name) const {
    GroupStats g;
    g.name = std::move(name);
    g.count = n;
    if (n > 0) {
      g.mae = abs_sum / static_cast<double>(n);
      g.bias = signed_sum / static_cast<double>(n);
    }
    return g;
  }
};

double ratio(std::int64_t num, std::int64_t den) {
  return den > 0 ? static_cast<double>(num) / static_cast<double>(den) : kNaN;
}

// One reliability bin: how many, how many right (or positive), summed confidence.
struct BinAcc {
  std::int64_t n = 0, correct = 0;
  double conf_sum = 0;
  void add(double confidence, bool right) {
    ++n;
    conf_sum += confidence;
    correct += right ? 1 : 0;
  }
};
using BinAccs = std::array<BinAcc, kNumCalibrationBins>;

BinAcc& bin_of(BinAccs& bins, double confidence) {
  const int bin = std::clamp(static_cast<int>(confidence * kNumCalibrationBins), 0, kNumCalibrationBins - 1);
  return bins[static_cast<size_t>(bin)];  // confidence 1.0 goes in the last bin
}

// Fills `out` from the sums; returns the ECE (NaN when empty) and sets `count`.
double finish_bins(const BinAccs& bins, std::array<CalibrationBin, kNumCalibrationBins>& out, std::int64_t& count) {
  double ece = 0;
  count = 0;
  for (int b = 0; b < kNumCalibrationBins; ++b) {
    const BinAcc& acc = bins[static_cast<size_t>(b)];
    CalibrationBin& bin = out[static_cast<size_t>(b)];
    bin.lo = static_cast<double>(b) / kNumCalibrationBins;
    bin.hi = static_cast<double>(b + 1) / kNumCalibrationBins;
    bin.count = acc.n;
    if (acc.n > 0) {
      bin.mean_confidence = acc.conf_sum / static_cast<double>(acc.n);
      bin.accuracy = ratio(acc.correct, acc.n);
      ece += static_cast<double>(acc.n) * std::abs(bin.accuracy - bin.mean_confidence);
    }
    count += acc.n;
  }
  return count > 0 ? ece / static_cast<double>(count) : kNaN;
}

void count_gate(GateMetrics& gate, bool minor, bool called_minor) {
  if (minor) {
    ++gate.minors;
    gate.false_adult += called_minor ? 0 : 1;
  } else {
    ++gate.adults;
    gate.false_minor += called_minor ? 1 : 0;
  }
}

void finish_gate(GateMetrics& gate) {
  gate.false_adult_rate = ratio(gate.false_adult, gate.minors);
  gate.false_minor_rate = ratio(gate.false_minor, gate.adults);
}

// 0 female, 1 male, -1 unknown.
int gender_index(const std::string& g) {
  if (g == "female") return 0;
  if (g == "male") return 1;
  return -1;
}

const std::array<const char*, 2> kGenderNames = {"female", "male"};

nlohmann::json num(double v) { return std::isfinite(v) ? nlohmann::json(v) : nlohmann::json(nullptr); }

nlohmann::json group_json(const GroupStats& g) {
  return {{"name", g.name}, {"count", g.count}, {"mae", num(g.mae)}, {"bias", num(g.bias)}};
}

nlohmann::json interval_json(const IntervalMetrics& m) {
  return {{"count", m.count}, {"covered", m.covered}, {"coverage", num(m.coverage)}, {"mean_width", num(m.mean_width)}};
}

}  // namespace

int age_band_index(double age) {
  if (std::isnan(age)) return -1;
  static constexpr double kUpper[kNumAgeBands - 1] = {3, 10, 18, 30, 40, 50, 60, 70};
  for (int i = 0; i < kNumAgeBands - 1; ++i) {
    if (age < kUpper[i]) return i;
  }
  return kNumAgeBands - 1;
}

const std::string& age_band_label(int band) {
  static const std::array<std::string, kNumAgeBands + 1> kLabels = {
      "0-2", "3-9", "10-17", "18-29", "30-39", "40-49", "50-59", "60-69", "70+", "unknown"};
  return (band >= 0 && band < kNumAgeBands) ? kLabels[static_cast<size_t>(band)] : kLabels.back();
}

const std::string& race_label(int race) {
  static const std::array<std::string, kNumRaces + 1> kLabels = {"White", "Black", "Asian", "Indian", "Others",
                                                                 "unknown"};
  return (race >= 0 && race < kNumRaces) ? kLabels[static_cast<size_t>(race)] : kLabels.back();
}

double roc_auc(const std::vector<double>& scores, const std::vector<int>& labels) {
  FACEAGE_CHECK(scores.size() == labels.size(), ErrorCode::kInvalidArgument,
                "roc_auc: " << scores.size() << " scores but " << labels.size() << " labels");
  const size_t n = scores.size();
  std::vector<size_t> order(n);
  std::iota(order.begin(), order.end(), size_t{0});
  std::sort(order.begin(), order.end(), [&](size_t a, size_t b) { return scores[a] < scores[b]; });
  // Sum of mid-ranks (1-based) of the positives; a run of equal scores shares its average rank.
  double pos_rank_sum = 0;
  std::int64_t pos = 0;
  for (size_t i = 0; i < n;) {
    size_t j = i;
    while (j < n && scores[order[j]] == scores[order[i]]) ++j;
    const double mid_rank = (static_cast<double>(i + 1) + static_cast<double>(j)) / 2.0;
    for (size_t k = i; k < j; ++k) {
      if (labels[order[k]] != 0) {
        pos_rank_sum += mid_rank;
        ++pos;
      }
    }
    i = j;
  }
  const std::int64_t neg = static_cast<std::int64_t>(n) - pos;
  if (pos == 0 || neg == 0) return kNaN;
  const double u = pos_rank_sum - static_cast<double>(pos) * static_cast<double>(pos + 1) / 2.0;
  return u / (static_cast<double>(pos) * static_cast<double>(neg));
}

EvalMetrics compute_metrics(const std::vector<EvalRecord>& records) {
  EvalMetrics m;
  m.records = static_cast<std::int64_t>(records.size());

  Acc all;
  double sq_sum = 0;
  std::int64_t within[4] = {0, 0, 0, 0};
  static constexpr double kCs[4] = {1, 3, 5, 10};
  std::vector<double> abs_errors;
  abs_errors.reserve(records.size());
  std::array<Acc, kNumAgeBands> band_acc{};
  std::array<Acc, 2> gender_acc{};
  std::array<Acc, kNumRaces> race_acc{};
  std::map<std::tuple<int, int, int>, Acc> cell_acc;  // (band, gender, race), ordered for stable output

  struct IntervalAcc {
    std::int64_t n = 0, covered = 0;
    double width_sum = 0;
  };
  IntervalAcc interval_all;
  std::array<IntervalAcc, kNumAgeBands> interval_band{};

  std::vector<double> auc_scores;
  std::vector<int> auc_labels;
  BinAccs bins{}, minor_bins{};
  Acc flagged, unflagged;

  for (const EvalRecord& r : records) {
    const int true_gender = gender_index(r.true_gender);
    const int true_band = age_band_index(r.true_age);
    const bool has_true_age = std::isfinite(r.true_age);

    if (has_true_age && std::isfinite(r.pred_age)) {
      const double err = r.pred_age - r.true_age;
      const double ae = std::abs(err);
      all.add(err);
      sq_sum += err * err;
      abs_errors.push_back(ae);
      for (int k = 0; k < 4; ++k) within[k] += ae <= kCs[k] ? 1 : 0;
      const int pred_band = age_band_index(r.pred_age);
      band_acc[static_cast<size_t>(true_band)].add(err);
      m.confusion[static_cast<size_t>(true_band)][static_cast<size_t>(pred_band)] += 1;
      if (true_gender >= 0) gender_acc[static_cast<size_t>(true_gender)].add(err);
      const bool has_race = r.race >= 0 && r.race < kNumRaces;
      if (has_race) race_acc[static_cast<size_t>(r.race)].add(err);
      if (true_gender >= 0 && has_race) cell_acc[{true_band, true_gender, r.race}].add(err);
      count_gate(m.gate, r.true_age < kAdultAge, r.pred_age < kAdultAge);
      if (r.unreliable >= 0) (r.unreliable ? flagged : unflagged).add(err);
    }

    if (has_true_age && std::isfinite(r.p_minor)) {
      const double p = std::clamp(r.p_minor, 0.0, 1.0);
      const bool minor = r.true_age < kAdultAge;
      bin_of(minor_bins, p).add(p, minor);
      for (size_t t = 0; t < kMinorThresholds.size(); ++t) count_gate(m.minor.at_threshold[t], minor, p >= kMinorThresholds[t]);
    }

    if (has_true_age && std::isfinite(r.age_low) && std::isfinite(r.age_high)) {
      const bool covered = r.age_low <= r.true_age && r.true_age <= r.age_high;
      for (IntervalAcc* acc : {&interval_all, &interval_band[static_cast<size_t>(true_band)]}) {
        ++acc->n;
        acc->covered += covered ? 1 : 0;
        acc->width_sum += r.age_high - r.age_low;
      }
    }

    const int pred_gender = gender_index(r.pred_gender);
    if (true_gender >= 0 && pred_gender >= 0) {
      ++m.gender.count;
      m.gender.correct += true_gender == pred_gender ? 1 : 0;
    }
    if (true_gender >= 0 && std::isfinite(r.female_prob)) {
      const double p = std::clamp(r.female_prob, 0.0, 1.0);
      auc_scores.push_back(p);
      auc_labels.push_back(true_gender == 0 ? 1 : 0);
      const bool says_female = pred_gender >= 0 ? pred_gender == 0 : p >= 0.5;
      const double confidence = says_female ? p : 1.0 - p;
      bin_of(bins, confidence).add(confidence, says_female == (true_gender == 0));
    }
  }

  // Age.
  AgeMetrics& a = m.age;
  a.count = all.n;
  if (all.n > 0) {
    const double n = static_cast<double>(all.n);
    a.mae = all.abs_sum / n;
    a.bias = all.signed_sum / n;
    a.rmse = std::sqrt(sq_sum / n);
    a.cs1 = within[0] / n;
    a.cs3 = within[1] / n;
    a.cs5 = within[2] / n;
    a.cs10 = within[3] / n;
    const size_t mid = abs_errors.size() / 2;
    std::nth_element(abs_errors.begin(), abs_errors.begin() + static_cast<std::ptrdiff_t>(mid), abs_errors.end());
    double median = abs_errors[mid];
    if (abs_errors.size() % 2 == 0) {
      // The lower middle is the largest element of the first half.
      median = (median + *std::max_element(abs_errors.begin(), abs_errors.begin() + static_cast<std::ptrdiff_t>(mid))) / 2.0;
    }
    a.median_ae = median;
  }

  for (int b = 0; b < kNumAgeBands; ++b) m.by_band.push_back(band_acc[static_cast<size_t>(b)].stats(age_band_label(b)));
  for (int g = 0; g < 2; ++g) m.by_gender.push_back(gender_acc[static_cast<size_t>(g)].stats(kGenderNames[static_cast<size_t>(g)]));
  for (int r = 0; r < kNumRaces; ++r) m.by_race.push_back(race_acc[static_cast<size_t>(r)].stats(race_label(r)));
  for (const auto& [key, acc] : cell_acc) {
    const GroupStats g = acc.stats("");
    CellStats c;
    c.band = std::get<0>(key);
    c.gender = kGenderNames[static_cast<size_t>(std::get<1>(key))];
    c.race = std::get<2>(key);
    c.count = g.count;
    c.mae = g.mae;
    c.bias = g.bias;
    m.cells.push_back(std::move(c));
  }

  finish_gate(m.gate);
  for (auto& gate : m.minor.at_threshold) finish_gate(gate);
  m.minor.ece = finish_bins(minor_bins, m.minor.bins, m.minor.count);
  m.flagged = flagged.stats("unreliable");
  m.unflagged = unflagged.stats("reliable");

  auto finish_interval = [](const IntervalAcc& acc) {
    IntervalMetrics im;
    im.count = acc.n;
    im.covered = acc.covered;
    im.coverage = ratio(acc.covered, acc.n);
    if (acc.n > 0) im.mean_width = acc.width_sum / static_cast<double>(acc.n);
    return im;
  };
  m.interval = finish_interval(interval_all);
  for (const IntervalAcc& acc : interval_band) m.interval_by_band.push_back(finish_interval(acc));

  // Gender.
  GenderMetrics& g = m.gender;
  g.accuracy = ratio(g.correct, g.count);
  g.auc_count = static_cast<std::int64_t>(auc_scores.size());
  g.auc_female = std::count(auc_labels.begin(), auc_labels.end(), 1);
  g.auc_male = g.auc_count - g.auc_female;
  g.auc = roc_auc(auc_scores, auc_labels);
  g.ece = finish_bins(bins, g.bins, g.ece_count);
  return m;
}

namespace {
nlohmann::json bins_json(const std::array<CalibrationBin, kNumCalibrationBins>& bins) {
  nlohmann::json out = nlohmann::json::array();
  for (const auto& b : bins) {
    out.push_back({{"lo", b.lo},
                   {"hi", b.hi},
                   {"count", b.count},
                   {"mean_confidence", num(b.mean_confidence)},
                   {"accuracy", num(b.accuracy)}});
  }
  return out;
}

nlohmann::json gate_json(const GateMetrics& gate, double threshold_age) {
  return {{"threshold", threshold_age},
          {"minors", gate.minors},
          {"adults", gate.adults},
          {"false_adult", gate.false_adult},
          {"false_minor", gate.false_minor},
          {"false_adult_rate", num(gate.false_adult_rate)},
          {"false_minor_rate", num(gate.false_minor_rate)}};
}
}  // namespace

nlohmann::json to_json(const EvalMetrics& m) {
  nlohmann::json j;
  j["records"] = m.records;
  j["age"] = {{"count", m.age.count}, {"mae", num(m.age.mae)},         {"rmse", num(m.age.rmse)},
              {"median_ae", num(m.age.median_ae)}, {"cs1", num(m.age.cs1)}, {"cs3", num(m.age.cs3)},
              {"cs5", num(m.age.cs5)},            {"cs10", num(m.age.cs10)}, {"bias", num(m.age.bias)}};
  for (const char* key : {"by_band", "by_gender", "by_race"}) j[key] = nlohmann::json::array();
  for (const auto& g : m.by_band) j["by_band"].push_back(group_json(g));
  for (const auto& g : m.by_gender) j["by_gender"].push_back(group_json(g));
  for (const auto& g : m.by_race) j["by_race"].push_back(group_json(g));
  j["cells"] = nlohmann::json::array();
  for (const auto& c : m.cells) {
    j["cells"].push_back({{"band", age_band_label(c.band)},
                          {"gender", c.gender},
                          {"race", race_label(c.race)},
                          {"count", c.count},
                          {"mae", num(c.mae)},
                          {"bias", num(c.bias)}});
  }
  j["gate"] = gate_json(m.gate, kAdultAge);
  nlohmann::json labels = nlohmann::json::array();
  for (int b = 0; b < kNumAgeBands; ++b) labels.push_back(age_band_label(b));
  j["confusion"] = {{"labels", labels}, {"rows_true_cols_pred", m.confusion}};
  const nlohmann::json bins = bins_json(m.gender.bins);
  j["gender"] = {{"count", m.gender.count},         {"correct", m.gender.correct},
                 {"accuracy", num(m.gender.accuracy)}, {"auc_count", m.gender.auc_count},
                 {"auc_female", m.gender.auc_female}, {"auc_male", m.gender.auc_male},
                 {"auc", num(m.gender.auc)},           {"ece_count", m.gender.ece_count},
                 {"ece", num(m.gender.ece)},           {"calibration_bins", bins}};
  j["interval"] = interval_json(m.interval);
  j["interval_by_band"] = nlohmann::json::array();
  for (int b = 0; b < static_cast<int>(m.interval_by_band.size()); ++b) {
    nlohmann::json ib = interval_json(m.interval_by_band[static_cast<size_t>(b)]);
    ib["band"] = age_band_label(b);
    j["interval_by_band"].push_back(ib);
  }
  // p_minor: calibration_bins' mean_confidence is the mean p_minor, accuracy the observed minor rate.
  nlohmann::json thresholds = nlohmann::json::array();
  for (size_t t = 0; t < kMinorThresholds.size(); ++t) {
    auto gate = gate_json(m.minor.at_threshold[t], kAdultAge);
    gate["p_minor_threshold"] = kMinorThresholds[t];
    thresholds.push_back(gate);
  }
  j["p_minor"] = {{"count", m.minor.count}, {"ece", num(m.minor.ece)}, {"calibration_bins", bins_json(m.minor.bins)},
                  {"gate_at_threshold", thresholds}};
  j["quality_flag"] = {{"unreliable", group_json(m.flagged)}, {"reliable", group_json(m.unflagged)}};
  return j;
}

}  // namespace faceage::eval
