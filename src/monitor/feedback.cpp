#include "faceage/monitor/feedback.hpp"

#include <cmath>

namespace faceage::monitor {

eval::EvalRecord eval_record(const LabelledFace& face) {
  eval::EvalRecord r;
  r.file = face.request_id + "#" + std::to_string(face.face);
  r.true_age = face.true_age;
  r.pred_age = face.predicted.output.age;
  r.true_gender = face.true_gender;
  const double female = face.predicted.output.gender_probability;
  if (std::isfinite(female)) {
    r.female_prob = female;
    r.pred_gender = female >= kFemaleThreshold ? "female" : "male";
  }
  return r;
}

FeedbackSummary summarize_feedback(const std::vector<LabelledFace>& faces) {
  std::vector<eval::EvalRecord> records;
  records.reserve(faces.size());
  for (const auto& face : faces) records.push_back(eval_record(face));
  const eval::EvalMetrics metrics = eval::compute_metrics(records);
  FeedbackSummary summary;
  summary.count = faces.size();
  summary.mae = metrics.age.mae;
  for (int band = 0; band < eval::kNumAgeBands; ++band) {
    const auto& stats = metrics.by_band.at(static_cast<std::size_t>(band));
    summary.by_band.push_back({eval::age_band_label(band), stats.count, stats.mae});
  }
  summary.gender_count = metrics.gender.count;
  summary.gender_accuracy = metrics.gender.accuracy;
  return summary;
}

namespace {
nlohmann::json number_or_null(double value) { return std::isfinite(value) ? nlohmann::json(value) : nlohmann::json(); }
}  // namespace

nlohmann::json to_json(const FeedbackSummary& summary) {
  nlohmann::json bands = nlohmann::json::object();
  for (const auto& band : summary.by_band) bands[band.label] = {{"count", band.count}, {"mae", number_or_null(band.mae)}};
  return {{"count", summary.count},
          {"mae", number_or_null(summary.mae)},
          {"by_band", bands},
          {"gender_count", summary.gender_count},
          {"gender_accuracy", number_or_null(summary.gender_accuracy)}};
}

}  // namespace faceage::monitor
