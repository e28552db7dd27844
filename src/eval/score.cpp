#include "faceage/eval/score.hpp"

#include <cmath>
#include <cstdio>
#include <sstream>

#include "eval/number_format.hpp"
#include "faceage/core/error.hpp"

namespace faceage::eval {

std::vector<GroundTruth> ground_truth_from_manifest(const data::Manifest& manifest) {
  std::vector<GroundTruth> truth;
  truth.reserve(manifest.rows.size());
  for (const data::ManifestRow& row : manifest.rows) {
    GroundTruth t;
    t.file = row.file;
    t.path = data::resolved_path(manifest, row);
    t.age = row.age >= 0 ? static_cast<double>(row.age) : kNaN;
    t.gender = row.gender;
    t.race = row.race;
    t.split = row.split;
    truth.push_back(std::move(t));
  }
  return truth;
}

ScoreResult score_predictions(const std::string& predictions_csv, const std::string& manifest_csv,
                              const ScoreOptions& options) {
  const data::Manifest manifest = data::read_manifest(manifest_csv);
  const PredictionsTable table = read_predictions_csv(predictions_csv, options.columns);
  ScoreResult result;
  result.match = match_predictions(select_faces(table), ground_truth_from_manifest(manifest), options.match);
  result.metrics = compute_metrics(result.match.records);
  result.image_root = manifest.base_dir;
  return result;
}

void check_scored(const ScoreResult& s) {
  if (!s.match.records.empty()) return;
  throw Error(ErrorCode::kInvalidArgument,
              "no prediction could be scored: " + std::to_string(s.match.matched) + " of " +
                  std::to_string(s.match.prediction_files) + " prediction files matched the manifest, " +
                  std::to_string(s.match.failed_files) + " failed",
              "the file column must hold paths relative to the manifest (or unique file names); check --split");
}

namespace {

std::string f2(double v, const char* format = "%.2f") { return format_number(v, format, "-"); }
std::string pct(double v) { return format_percent(v, "-"); }

}  // namespace

std::string format_summary(const ScoreResult& s) {
  const MatchReport& m = s.match;
  const EvalMetrics& e = s.metrics;
  std::ostringstream out;
  out << "scored " << m.records.size() << " files (prediction files " << m.prediction_files << ", matched "
      << m.matched << ", by basename " << m.matched_by_basename << ")\n";
  out << "failed " << m.failed_files << ", unmatched predictions " << m.unmatched_predictions
      << ", manifest rows without prediction " << m.missing_predictions;
  if (m.ambiguous_basename) out << ", ambiguous basenames " << m.ambiguous_basename;
  if (m.duplicate_predictions) out << ", duplicates " << m.duplicate_predictions;
  if (m.outside_split) out << ", other split " << m.outside_split;
  out << "\n\n";
  char line[160];
  std::snprintf(line, sizeof line, "age       MAE %s  RMSE %s  median %s  bias %s  CS@5 %s  (n=%lld)\n",
                f2(e.age.mae).c_str(), f2(e.age.rmse).c_str(), f2(e.age.median_ae).c_str(),
                f2(e.age.bias, "%+.2f").c_str(), pct(e.age.cs5).c_str(), static_cast<long long>(e.age.count));
  out << line;
  std::snprintf(line, sizeof line, "gate 18   false adult %s (%lld/%lld)  false minor %s (%lld/%lld)\n",
                pct(e.gate.false_adult_rate).c_str(), static_cast<long long>(e.gate.false_adult),
                static_cast<long long>(e.gate.minors), pct(e.gate.false_minor_rate).c_str(),
                static_cast<long long>(e.gate.false_minor), static_cast<long long>(e.gate.adults));
  out << line;
  if (e.gender.count > 0 || e.gender.auc_count > 0) {
    std::snprintf(line, sizeof line, "gender    accuracy %s (n=%lld)  AUC %s  ECE %s\n", pct(e.gender.accuracy).c_str(),
                  static_cast<long long>(e.gender.count), f2(e.gender.auc, "%.3f").c_str(),
                  f2(e.gender.ece, "%.3f").c_str());
    out << line;
  }
  if (e.interval.count > 0) {
    std::snprintf(line, sizeof line, "interval  coverage %s  mean width %s (n=%lld)\n", pct(e.interval.coverage).c_str(),
                  f2(e.interval.mean_width).c_str(), static_cast<long long>(e.interval.count));
    out << line;
  }
  out << "\nband        n      MAE    bias\n";
  for (const auto& b : e.by_band) {
    std::snprintf(line, sizeof line, "%-7s %7lld  %7s %7s\n", b.name.c_str(), static_cast<long long>(b.count),
                  f2(b.mae).c_str(), f2(b.bias, "%+.2f").c_str());
    out << line;
  }
  return out.str();
}

}  // namespace faceage::eval
