#pragma once
// Scoring a predictions CSV against a manifest: the library call behind
// `faceage eval --predictions PRED.csv --data MANIFEST.csv`.
#include <string>
#include <vector>

#include "faceage/data/manifest.hpp"
#include "faceage/eval/metrics.hpp"
#include "faceage/eval/predictions.hpp"

namespace faceage::eval {

// Manifest rows as ground truth (age -1 -> NaN; path resolved against base_dir).
std::vector<GroundTruth> ground_truth_from_manifest(const data::Manifest& manifest);

struct ScoreOptions {
  ColumnMap columns;
  MatchOptions match;
};

struct ScoreResult {
  MatchReport match;
  EvalMetrics metrics;
  std::string image_root;  // the manifest's base_dir, for the report's thumbnails
};

// Reads both files, matches, computes metrics. Errors: kNotFound for missing files,
// kInvalidArgument for a CSV without the needed columns.
ScoreResult score_predictions(const std::string& predictions_csv, const std::string& manifest_csv,
                              const ScoreOptions& options = {});

// kInvalidArgument saying why when nothing could be scored (no prediction matched the manifest).
void check_scored(const ScoreResult& result);

// The text summary `faceage eval` prints: match counts, age, 18-gate, gender, interval, bands.
std::string format_summary(const ScoreResult& result);

}  // namespace faceage::eval
