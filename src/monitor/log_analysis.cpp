#include "faceage/monitor/log_analysis.hpp"

#include "faceage/core/check.hpp"
#include "faceage/monitor/prediction_log.hpp"

namespace faceage::monitor {

std::string LogWindow::describe() const {
  return "log " + log_path + " from " + (window.since ? format_iso8601(*window.since) : std::string("its start")) +
         " to " + (window.until ? format_iso8601(*window.until) : std::string("its end"));
}

ReferenceProfile profile_from_log(const LogWindow& log, const ProfileOptions& options) {
  const auto faces = logged_faces(read_prediction_log(log.log_path, log.window, log.include_rotated));
  FACEAGE_CHECK(!faces.empty(), ErrorCode::kInvalidArgument, "the " << log.describe() << " holds no face to profile");
  return build_reference_profile(faces, log.describe(), options);
}

LogDriftResult report_drift_from_log(const LogWindow& log, const std::string& reference_path,
                                     const std::string& out_dir, const DriftThresholds& thresholds) {
  const ReferenceProfile reference = load_reference_profile(reference_path);
  const auto records = read_prediction_log(log.log_path, log.window, log.include_rotated);
  LogDriftResult result;
  result.report = compare_to_reference(reference, logged_faces(records), thresholds);
  result.report.window_requests = records.size();
  if (log.window.since) result.report.since = format_iso8601(*log.window.since);
  if (log.window.until) result.report.until = format_iso8601(*log.window.until);
  result.report.reference_source = reference_path + " (" + reference.source + ")";
  const auto labelled = read_feedback(log.log_path, log.window, log.include_rotated);
  if (!labelled.empty()) result.report.feedback = summarize_feedback(labelled);
  result.files = write_drift_report(result.report, out_dir);
  return result;
}

}  // namespace faceage::monitor
