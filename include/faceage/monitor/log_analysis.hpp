#pragma once
// What the monitor commands do with a window of the prediction log: profile it (a trusted period
// becomes the reference) or compare it with a reference profile.
#include <string>
#include <vector>

#include "faceage/monitor/drift_report.hpp"
#include "faceage/monitor/profile.hpp"
#include "faceage/monitor/time.hpp"

namespace faceage::monitor {

struct LogWindow {
  std::string log_path;
  TimeWindow window;
  bool include_rotated = true;
  // "log FILE from T1 to T2", for profiles' and reports' source lines.
  std::string describe() const;
};

// kNotFound without a log; kInvalidArgument when the window holds no face.
ReferenceProfile profile_from_log(const LogWindow& log, const ProfileOptions& options = {});

struct LogDriftResult {
  DriftReport report;
  std::vector<std::string> files;  // drift.json, drift.html
};
// Reads the window, compares it with the profile at `reference_path` and writes the report into
// `out_dir`. An empty window is a report without a verdict, not an error.
LogDriftResult report_drift_from_log(const LogWindow& log, const std::string& reference_path,
                                     const std::string& out_dir, const DriftThresholds& thresholds = {});

}  // namespace faceage::monitor
