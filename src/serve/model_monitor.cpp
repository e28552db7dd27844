#include "faceage/serve/model_monitor.hpp"

#include <utility>

#include <spdlog/spdlog.h>

#include "faceage/core/check.hpp"
#include "faceage/monitor/feedback.hpp"
#include "faceage/monitor/time.hpp"

namespace faceage::serve {

monitor::Feedback parse_feedback(const nlohmann::json& body) {
  FACEAGE_CHECK(body.is_object(), ErrorCode::kInvalidArgument,
                "feedback must be a JSON object {\"request_id\", \"face\", \"age\"[, \"gender\"]}");
  monitor::Feedback f;
  FACEAGE_CHECK(body.contains("request_id") && body["request_id"].is_string() &&
                    !body["request_id"].get_ref<const std::string&>().empty(),
                ErrorCode::kInvalidArgument, "feedback needs \"request_id\": the id a prediction answer carried");
  f.request_id = body["request_id"].get<std::string>();
  if (body.contains("face")) {
    FACEAGE_CHECK(body["face"].is_number_integer() && body["face"].get<std::int64_t>() >= 0 &&
                      body["face"].get<std::int64_t>() < 1'000'000,
                  ErrorCode::kInvalidArgument, "feedback \"face\" must be a face index >= 0");
    f.face = body["face"].get<int>();
  }
  FACEAGE_CHECK(body.contains("age") && body["age"].is_number(), ErrorCode::kInvalidArgument,
                "feedback needs \"age\": the true age in years");
  f.age = body["age"].get<double>();
  if (body.contains("gender") && !body["gender"].is_null()) {
    FACEAGE_CHECK(body["gender"].is_string(), ErrorCode::kInvalidArgument,
                  "feedback \"gender\" must be \"male\" or \"female\"");
    f.gender = body["gender"].get<std::string>();
  }
  f.time = monitor::unix_now();
  return f;  // ranges are checked by PredictionLogWriter::add_feedback
}

ModelMonitor::ModelMonitor(const ServeOptions& options, MetricsRegistry& metrics, const Context& context)
    : options_(options), metrics_(metrics), context_(context) {
  if (!options.prediction_log.empty()) {
    monitor::PredictionLogOptions log;
    log.path = options.prediction_log;
    log.max_bytes = static_cast<std::uint64_t>(options.prediction_log_max_mb * 1024 * 1024);
    log.keep_rotated = options.prediction_log_keep;
    log.queue_capacity = static_cast<std::size_t>(options.prediction_log_queue);
    log_ = std::make_unique<monitor::PredictionLogWriter>(log);
  }
  if (!options.reference_profile.empty()) file_reference_ = monitor::load_reference_profile(options.reference_profile);
  // Registered now so that dashboards and the alert rules see the series from the start.
  metrics_.counter("faceage_prediction_log_records_total", "Prediction log records committed");
  metrics_.counter("faceage_prediction_log_dropped_total", "Prediction log records dropped (queue full)");
  metrics_.counter("faceage_prediction_log_failed_total", "Prediction log records lost to write errors");
  metrics_.counter("faceage_feedback_total", "Feedback labels stored");
}

ModelMonitor::~ModelMonitor() = default;

void ModelMonitor::model_changed(const std::string& version, const std::vector<nlohmann::json>& bundle_infos) {
  std::optional<monitor::ReferenceProfile> reference;
  std::string source;
  try {
    if (!bundle_infos.empty()) reference = monitor::reference_profile_of_bundle(bundle_infos.front());
    if (reference) source = "the bundle of version " + version;
  } catch (const std::exception& e) {
    if (context_.logger) context_.logger->warn("version {}: its reference profile is unreadable: {}", version, e.what());
  }
  if (!reference && file_reference_) {
    reference = file_reference_;
    source = options_.reference_profile;
  }
  if (context_.logger) {
    context_.logger->info("drift reference for version {}: {}", version, reference ? source : std::string("none"));
  }
  std::lock_guard<std::mutex> lock(mutex_);
  reference_ = std::move(reference);
  reference_source_ = source;
  reference_changed_ = true;
  faces_.clear();
}

bool ModelMonitor::wants_records() const {
  if (log_) return true;
  std::lock_guard<std::mutex> lock(mutex_);
  return reference_.has_value();
}

void ModelMonitor::observe(monitor::PredictionRecord record) {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    if (reference_) {
      for (const auto& face : record.faces) {
        faces_.push_back(face);
        if (faces_.size() > static_cast<std::size_t>(options_.drift_window)) faces_.pop_front();
      }
    }
  }
  if (log_) log_->log(std::move(record));
}

nlohmann::json ModelMonitor::feedback(const nlohmann::json& body) {
  const monitor::Feedback f = parse_feedback(body);
  if (!log_) {
    throw Error(ErrorCode::kNotFound, "this server keeps no prediction log, so it knows no request id",
                "start it with --prediction-log FILE");
  }
  const auto receipt = log_->add_feedback(f);
  monitor::LabelledFace labelled;
  labelled.time = f.time;
  labelled.request_id = f.request_id;
  labelled.model_version = receipt.model_version;
  labelled.face = f.face;
  labelled.predicted = receipt.predicted;
  labelled.true_age = f.age;
  labelled.true_gender = f.gender;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    labelled_.push_back(labelled);
    if (labelled_.size() > static_cast<std::size_t>(options_.feedback_window)) labelled_.pop_front();
  }
  metrics_.counter("faceage_feedback_total", "Feedback labels stored").inc();
  return {{"request_id", f.request_id},
          {"face", f.face},
          {"model_version", receipt.model_version},
          {"predicted_age", receipt.predicted.output.age},
          {"error_years", receipt.predicted.output.age - f.age}};
}

std::optional<monitor::DriftReport> ModelMonitor::drift() const {
  std::vector<monitor::LoggedFace> faces;
  std::optional<monitor::ReferenceProfile> reference;
  std::string source;
  {
    // model_changed() swaps the reference and its source together under this lock.
    std::lock_guard<std::mutex> lock(mutex_);
    if (!reference_) return std::nullopt;
    reference = reference_;
    source = reference_source_;
    faces.assign(faces_.begin(), faces_.end());
  }
  monitor::DriftThresholds thresholds;
  thresholds.min_faces = static_cast<std::size_t>(options_.drift_min_faces);
  auto report = monitor::compare_to_reference(*reference, faces, thresholds);
  report.reference_source = std::move(source);
  return report;
}

void ModelMonitor::refresh_metrics() {
  if (log_) {
    // The writer's counters only grow; add what is new since the last scrape.
    const auto now = log_->counters();
    std::lock_guard<std::mutex> lock(mutex_);
    metrics_.counter("faceage_prediction_log_records_total", "Prediction log records committed")
        .inc(static_cast<double>(now.written - exported_.written));
    metrics_.counter("faceage_prediction_log_dropped_total", "Prediction log records dropped (queue full)")
        .inc(static_cast<double>(now.dropped - exported_.dropped));
    metrics_.counter("faceage_prediction_log_failed_total", "Prediction log records lost to write errors")
        .inc(static_cast<double>(now.failed - exported_.failed));
    exported_ = now;
  }

  // Label sets stay between scrapes (a gauge re-created each scrape would grow the registry);
  // only a new reference, which may watch other features, clears them.
  bool reference_changed = false;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    reference_changed = std::exchange(reference_changed_, false);
  }
  if (reference_changed) {
    metrics_.clear_gauge("faceage_feature_drift");
    metrics_.clear_gauge("faceage_feature_psi");
    metrics_.clear_gauge("faceage_feature_ks_statistic");
  }
  const auto report = drift();
  metrics_.gauge("faceage_drift_reference_loaded", "1 when the serving model has a reference profile")
      .set(report ? 1 : 0);
  metrics_.gauge("faceage_drift_window_faces", "Faces in the drift window").set(report ? double(report->window_faces) : 0);
  metrics_.gauge("faceage_drift_detected", "1 when some feature of the recent faces drifted from the reference")
      .set(report && report->drift ? 1 : 0);
  if (report) {
    // Without a verdict (too few faces) a feature's flag stays 0 so that no alert fires on noise.
    const bool verdict = report->note.empty();
    for (const auto& f : report->features) {
      metrics_.gauge("faceage_feature_drift", "1 when this feature drifted (KS significant and PSI or Wasserstein large)",
                     {{"feature", f.feature}})
          .set(verdict && f.drift ? 1 : 0);
      metrics_.gauge("faceage_feature_psi", "Population stability index of the feature over the window",
                     {{"feature", f.feature}})
          .set(f.psi);
      metrics_.gauge("faceage_feature_ks_statistic", "Kolmogorov-Smirnov statistic of the feature over the window",
                     {{"feature", f.feature}})
          .set(f.ks_statistic);
    }
  }

  std::vector<monitor::LabelledFace> labelled;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    labelled.assign(labelled_.begin(), labelled_.end());
  }
  metrics_.gauge("faceage_feedback_window_faces", "Labelled faces in the feedback window")
      .set(static_cast<double>(labelled.size()));
  if (labelled.empty()) return;
  const auto summary = monitor::summarize_feedback(labelled);
  const char* help = "Mean absolute age error of recent labelled faces, by true age band (all: every band)";
  metrics_.gauge("faceage_feedback_mae_years", help, {{"band", "all"}}).set(summary.mae);
  // A band seen once keeps its series; NaN while the window holds none of its faces.
  for (const auto& band : summary.by_band) {
    if (band.count > 0 || metrics_.has_gauge("faceage_feedback_mae_years", {{"band", band.label}})) {
      metrics_.gauge("faceage_feedback_mae_years", help, {{"band", band.label}}).set(band.mae);
    }
  }
  metrics_.gauge("faceage_feedback_gender_accuracy", "Gender accuracy of recent labelled faces (NaN: no true gender)")
      .set(summary.gender_accuracy);
}

}  // namespace faceage::serve
