#pragma once
// What the server keeps about the model's life in production (docs/monitoring.md): the prediction
// log (monitor::PredictionLogWriter: a bounded queue and a writer thread, so a request never waits
// for the disk), a sliding window of recent faces compared with the serving model's reference
// profile (drift gauges), and a sliding window of feedback (live MAE by age band, gender
// accuracy). The routes only hand records and feedback bodies over; everything else is here.
// Thread-safe.
#include <cstddef>
#include <deque>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "faceage/core/context.hpp"
#include "faceage/monitor/drift_report.hpp"
#include "faceage/monitor/prediction_log.hpp"
#include "faceage/monitor/profile.hpp"
#include "faceage/serve/metrics.hpp"
#include "faceage/serve/options.hpp"

namespace faceage::serve {

class ModelMonitor {
 public:
  // Opens the prediction log (kIo when it cannot be created) and loads options.reference_profile
  // (kNotFound / kConfig) now, so a bad path fails at startup.
  ModelMonitor(const ServeOptions& options, MetricsRegistry& metrics, const Context& context);
  ~ModelMonitor();
  ModelMonitor(const ModelMonitor&) = delete;
  ModelMonitor& operator=(const ModelMonitor&) = delete;

  // A new model version is serving: its reference is the profile its (first) bundle carries, else
  // options.reference_profile. The drift window starts afresh (the outputs are another model's).
  void model_changed(const std::string& version, const std::vector<nlohmann::json>& bundle_infos);
  // Whether observe() does anything (a log is written or drift is watched); callers skip building
  // records otherwise.
  bool wants_records() const;
  // Queues the record for the log and adds its faces to the drift window. Never blocks on I/O.
  void observe(monitor::PredictionRecord record);
  // POST /v1/feedback: {"request_id": "...", "face": 0, "age": 31[, "gender": "female"]}. Stores the
  // label beside the logged face and returns {"request_id", "face", "model_version", "predicted_age",
  // "error_years"}. kNotFound when no log is kept or the request id is unknown; kInvalidArgument
  // for a malformed body.
  nlohmann::json feedback(const nlohmann::json& body);
  // Sets the drift, feedback and log gauges from the windows (before /metrics renders).
  void refresh_metrics();
  // The current drift verdict over the window (no verdict without a reference).
  std::optional<monitor::DriftReport> drift() const;

 private:
  ServeOptions options_;
  MetricsRegistry& metrics_;
  Context context_;
  std::unique_ptr<monitor::PredictionLogWriter> log_;
  std::optional<monitor::ReferenceProfile> file_reference_;
  mutable std::mutex mutex_;
  std::optional<monitor::ReferenceProfile> reference_;
  std::string reference_source_;
  bool reference_changed_ = false;
  std::deque<monitor::LoggedFace> faces_;
  std::deque<monitor::LabelledFace> labelled_;
  monitor::PredictionLogCounters exported_;  // log counters already added to the Prometheus counters
};

// The body of POST /v1/feedback as a monitor::Feedback (time: now). kInvalidArgument naming the field.
monitor::Feedback parse_feedback(const nlohmann::json& body);

}  // namespace faceage::serve
