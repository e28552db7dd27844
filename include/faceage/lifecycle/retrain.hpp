#pragma once
// Champion / challenger retraining over the model registry (`faceage retrain`, docs/monitoring.md):
//
//   1. the champion is the registry's production version; its bundle names the data it was
//      trained on (metadata.train_manifest) and validated on (metadata.val_manifest);
//   2. the challenger warm-starts from the champion (model.init_from) and trains on the
//      champion's training rows plus NEW_MANIFEST's, with the user's training config;
//   3. both answer the same fixed evaluation set (--eval-data, else the champion's validation
//      manifest) through the same Predictor path, scored by eval::compute_metrics;
//   4. the challenger is registered (staging, parent = champion) and promoted only when its MAE
//      is lower by at least `margin` years and no age band, no gender group and not the gender
//      accuracy is worse beyond its tolerance;
//   5. decision.json in the run directory says what was compared and why.
// Logged feedback (a prediction log) is scored and reported for the champion, the model that
// answered it: the log never holds images, so a challenger cannot be run on those faces. Label
// those images into NEW_MANIFEST to train on them.
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "faceage/core/context.hpp"
#include "faceage/eval/metrics.hpp"
#include "faceage/monitor/model_registry.hpp"

namespace faceage::lifecycle {

struct PromotionRules {
  double margin = 0.0;             // years: challenger MAE <= champion MAE - margin
  double band_tolerance = 1.0;     // years: no age band / gender group MAE worse by more
  double gender_tolerance = 0.02;  // gender accuracy may drop by at most this
  int min_group_count = 5;         // bands and groups with fewer eval faces are reported, not judged
};

struct RetrainOptions {
  std::string registry_dir;
  std::string config_path;             // training config (YAML); data.train and model.init_from are set here
  std::vector<std::string> overrides;  // --set key=value, applied before ours
  std::string new_data;                // NEW_MANIFEST
  std::string eval_data;               // "" : the champion's validation manifest
  std::string prediction_log;          // "" : no feedback
  std::string run_dir;                 // "" : REGISTRY/retrain/<UTC time>
  PromotionRules rules;
  monitor::Change change;              // user and reason for the registry's audit trail
  bool promote = true;                 // false: decide and register, but leave production alone
};

struct RetrainResult {
  bool promoted = false;
  int champion_version = 0, challenger_version = 0;
  std::string run_dir, decision_path;
  std::vector<std::string> reasons;  // why promoted or not, one line per rule
  nlohmann::json decision;           // what decision.json holds
};

// kNotFound: no registry, no production version, a missing manifest; kInvalidArgument: the
// champion bundle does not name its training data. Training errors propagate.
RetrainResult retrain(const RetrainOptions& options, const Context& context);

// The rule check alone (pure): both models' metrics on the same evaluation set. Returns whether
// to promote and appends one line per rule to `reasons` (a failed rule's line starts "no: ").
bool challenger_wins(const eval::EvalMetrics& champion, const eval::EvalMetrics& challenger,
                     const PromotionRules& rules, std::vector<std::string>& reasons);

}  // namespace faceage::lifecycle
