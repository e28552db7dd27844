#pragma once
// Evaluation metrics for age and gender predictions, computed from plain records so that faceage
// and other systems are scored by the same code (see docs/eval.md for every definition).
//
// Conventions (contract):
// - A record takes part in the age metrics when true_age and pred_age are both finite.
// - Age bands are half-open on real ages: [0,3) "0-2", [3,10) "3-9", [10,18) "10-17", [18,30),
//   [30,40), [40,50), [50,60), [60,70), [70,inf) "70+". Ages below 0 fall into the first band.
//   A prediction of 17.6 is therefore a minor, consistent with the 18-year gate.
// - Gender strings are "male", "female" or "" (unknown); anything else counts as unknown.
// - female_prob is P(female) in [0,1] (NaN: none). The ECE is computed on the confidence of the
//   predicted class (pred_gender when set, else female_prob >= 0.5), in 10 equal bins over [0,1].
// - Rates and means over an empty set are NaN (JSON null), never 0.
#include <nlohmann/json_fwd.hpp>

#include <array>
#include <cstdint>
#include <limits>
#include <string>
#include <vector>

namespace faceage::eval {

inline constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

struct EvalRecord {
  std::string file;  // as in the manifest (relative to its base_dir) or absolute
  double true_age = kNaN;
  double pred_age = kNaN;
  double age_low = kNaN;   // prediction interval, NaN when the system gives none
  double age_high = kNaN;
  std::string true_gender;  // "male", "female", "" unknown
  std::string pred_gender;
  double female_prob = kNaN;  // P(female)
  int race = -1;              // 0 White, 1 Black, 2 Asian, 3 Indian, 4 Others, -1 unknown
  double p_minor = kNaN;      // the system's P(age < 18), NaN when it gives none
  int unreliable = -1;        // the system's quality flag: 1 flagged, 0 not, -1 not given
};

inline constexpr int kNumAgeBands = 9;
inline constexpr int kNumRaces = 5;
inline constexpr int kNumCalibrationBins = 10;
inline constexpr double kAdultAge = 18.0;

// Band index 0..8 for an age (NaN -> -1).
int age_band_index(double age);
// "0-2", "3-9", ..., "70+".
const std::string& age_band_label(int band);
// "White", "Black", "Asian", "Indian", "Others"; "unknown" for anything else.
const std::string& race_label(int race);

// Count, MAE and mean signed error (pred - true) of one group.
struct GroupStats {
  std::string name;
  std::int64_t count = 0;
  double mae = kNaN;
  double bias = kNaN;
};

// One band x gender x race cell (only cells with labels and at least one record are listed).
struct CellStats {
  int band = -1;
  std::string gender;
  int race = -1;
  std::int64_t count = 0;
  double mae = kNaN;
  double bias = kNaN;
};

struct AgeMetrics {
  std::int64_t count = 0;
  double mae = kNaN;
  double rmse = kNaN;
  double median_ae = kNaN;
  double cs1 = kNaN, cs3 = kNaN, cs5 = kNaN, cs10 = kNaN;  // fraction with |err| <= k years
  double bias = kNaN;                                     // mean(pred - true)
};

// The 18-year gate: a minor predicted adult is a false adult; an adult predicted minor a false minor.
struct GateMetrics {
  std::int64_t minors = 0;  // true < 18
  std::int64_t adults = 0;  // true >= 18
  std::int64_t false_adult = 0;
  std::int64_t false_minor = 0;
  double false_adult_rate = kNaN;  // false_adult / minors
  double false_minor_rate = kNaN;  // false_minor / adults
};

struct CalibrationBin {
  double lo = 0, hi = 0;
  std::int64_t count = 0;
  double mean_confidence = kNaN;
  double accuracy = kNaN;
};

struct GenderMetrics {
  std::int64_t count = 0;  // records with a true and a predicted gender
  std::int64_t correct = 0;
  double accuracy = kNaN;
  std::int64_t auc_count = 0;  // records with a true gender and a female_prob
  std::int64_t auc_female = 0, auc_male = 0;
  double auc = kNaN;           // ROC AUC of female_prob for true female; NaN without both classes
  std::int64_t ece_count = 0;  // records in the calibration bins
  double ece = kNaN;
  std::array<CalibrationBin, kNumCalibrationBins> bins{};
};

// p_minor (P(age < kAdultAge)) against the truth: reliability bins (mean predicted probability vs
// observed minor rate; CalibrationBin's mean_confidence and accuracy), ECE, and the gate's error
// rates when "minor" means p_minor >= threshold, for each of kMinorThresholds.
inline constexpr std::array<double, 2> kMinorThresholds{0.5, 0.2};  // 0.2: a cautious gate (fewer false adults)
struct MinorProbabilityMetrics {
  std::int64_t count = 0;  // records with a true age and a p_minor
  double ece = kNaN;
  std::array<CalibrationBin, kNumCalibrationBins> bins{};
  std::array<GateMetrics, kMinorThresholds.size()> at_threshold{};
};

struct IntervalMetrics {
  std::int64_t count = 0;  // records with a finite interval and a true age
  std::int64_t covered = 0;
  double coverage = kNaN;  // covered / count, with low <= true <= high
  double mean_width = kNaN;
};

struct EvalMetrics {
  std::int64_t records = 0;  // all records given
  AgeMetrics age;
  std::vector<GroupStats> by_band;    // kNumAgeBands entries, in band order (empty bands count 0)
  std::vector<GroupStats> by_gender;  // "female", "male" (true gender)
  std::vector<GroupStats> by_race;    // kNumRaces entries, in race order
  std::vector<CellStats> cells;
  GateMetrics gate;
  // confusion[true_band][pred_band] counts.
  std::array<std::array<std::int64_t, kNumAgeBands>, kNumAgeBands> confusion{};
  GenderMetrics gender;
  IntervalMetrics interval;
  std::vector<IntervalMetrics> interval_by_band;  // kNumAgeBands entries
  MinorProbabilityMetrics minor;
  // Age error of faces the system flagged unreliable vs the others (count 0 without the flag).
  GroupStats flagged{"unreliable"}, unflagged{"reliable"};
};

EvalMetrics compute_metrics(const std::vector<EvalRecord>& records);

// Rank-based ROC AUC (Mann-Whitney U with mid-ranks for ties): the probability that a random
// positive scores above a random negative, ties counting one half. NaN when a class is empty.
// labels: nonzero = positive. Sizes must match (kInvalidArgument otherwise).
double roc_auc(const std::vector<double>& scores, const std::vector<int>& labels);

nlohmann::json to_json(const EvalMetrics& metrics);

}  // namespace faceage::eval
