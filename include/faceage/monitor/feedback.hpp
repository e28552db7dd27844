#pragma once
// Live accuracy from feedback: logged predictions with the true labels clients sent later
// (POST /v1/feedback), scored by the evaluation module's own metrics (eval::compute_metrics), so a
// band's live MAE means exactly what `faceage eval` reports for it.
#include <cstddef>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "faceage/eval/metrics.hpp"
#include "faceage/monitor/prediction_log.hpp"

namespace faceage::monitor {

// Below this P(female) a logged face counts as predicted male (as the predictor's gender label).
inline constexpr double kFemaleThreshold = 0.5;

// The record eval::compute_metrics scores: true age/gender from the feedback, the logged outputs.
eval::EvalRecord eval_record(const LabelledFace& face);

struct FeedbackSummary {
  std::size_t count = 0;           // labelled faces
  double mae = eval::kNaN;         // years (NaN: none)
  struct Band {
    std::string label;             // "0-2", ..., "70+" (eval::age_band_label), by true age
    std::int64_t count = 0;
    double mae = eval::kNaN;
  };
  std::vector<Band> by_band;       // eval::kNumAgeBands entries, in band order
  std::int64_t gender_count = 0;   // faces with a true gender
  double gender_accuracy = eval::kNaN;
};

FeedbackSummary summarize_feedback(const std::vector<LabelledFace>& faces);
// {"count", "mae", "by_band": {"0-2": {"count", "mae"}, ...}, "gender_count", "gender_accuracy"}
// (NaN as null).
nlohmann::json to_json(const FeedbackSummary& summary);

}  // namespace faceage::monitor
