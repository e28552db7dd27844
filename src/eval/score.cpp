#include "faceage/eval/score.hpp"

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

}  // namespace faceage::eval
