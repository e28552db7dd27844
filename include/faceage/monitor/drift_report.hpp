#pragma once
// Live faces against a reference profile, feature by feature, and the files a report writes
// (drift.json, drift.html).
//
// A feature drifts when the shift is both significant and large:
//   KS p-value < ks_alpha  AND  (PSI >= psi  OR  Wasserstein >= wasserstein_stds * reference std).
// Significance alone flags trivial shifts in big windows; size alone flags noise in small ones.
// The report drifts when any feature does and the window holds at least min_faces faces.
#include <cstddef>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "faceage/monitor/face_stats.hpp"
#include "faceage/monitor/feedback.hpp"
#include "faceage/monitor/profile.hpp"

namespace faceage::monitor {

struct DriftThresholds {
  double psi = 0.2;
  double ks_alpha = 0.01;
  double wasserstein_stds = 0.25;
  std::size_t min_faces = 30;
};

struct FeatureDrift {
  std::string feature;
  std::size_t reference_count = 0, live_count = 0;
  double psi = 0, ks_statistic = 0, ks_p_value = 1, wasserstein = 0, wasserstein_threshold = 0;
  bool psi_drift = false, ks_drift = false, wasserstein_drift = false, drift = false;
  double reference_mean = 0, live_mean = 0;
  std::vector<double> cuts, reference_fractions, live_fractions;  // for plots
};

struct DriftReport {
  bool drift = false;
  std::string note;  // why there is no verdict ("window too small ..."), else empty
  std::string since, until;  // the window asked for (ISO 8601; empty: open)
  std::size_t window_requests = 0, window_faces = 0;
  std::string reference_source;
  DriftThresholds thresholds;
  std::vector<FeatureDrift> features;  // features known to both sides, monitored_features() order
  // Live accuracy over the window's faces that received feedback (absent: none did).
  std::optional<FeedbackSummary> feedback;
};

// Features missing on either side are skipped (listed in note when none remain).
DriftReport compare_to_reference(const ReferenceProfile& reference, const std::vector<LoggedFace>& live,
                                 const DriftThresholds& thresholds = {});

nlohmann::json to_json(const DriftReport& report);
// A self-contained page: verdict, window, a table per feature with reference-vs-live bars.
std::string drift_report_html(const DriftReport& report);
// Writes OUT_DIR/drift.json and OUT_DIR/drift.html (atomically); returns their paths.
std::vector<std::string> write_drift_report(const DriftReport& report, const std::string& out_dir);

}  // namespace faceage::monitor
