#include "faceage/monitor/log_analysis.hpp"

#include <gtest/gtest.h>

#include "faceage/core/fs.hpp"
#include "faceage/monitor/prediction_log.hpp"
#include "monitor/synthetic_faces.hpp"
#include "support/error_code.hpp"
#include "support/temp_dir.hpp"

namespace faceage::monitor {
namespace {

using faceage::testing::error_of;
using faceage::testing::TempDir;

// 14:00-14:59 ordinary faces, 15:00-15:59 grayscale blurred ones; one request (two faces) a minute.
void write_two_hours(const std::string& path) {
  PredictionLogWriter writer({path});
  for (int minute = 0; minute < 120; ++minute) {
    PredictionRecord r;
    r.time = parse_iso8601("2026-12-04T14:00:00Z") + 60.0 * minute;
    r.request_id = "r" + std::to_string(minute);
    r.model_version = "1";
    r.faces = testing::synthetic_faces(2, static_cast<unsigned>(minute), /*grayscale_blurred=*/minute >= 60);
    writer.log(r);
  }
}

TEST(LogAnalysis, ProfilesOneHourAndFindsDriftInTheNext) {
  TempDir tmp;
  const std::string log_path = tmp.file("predictions.db");
  write_two_hours(log_path);
  LogWindow first{log_path, {parse_iso8601("2026-12-04T14:00:00Z"), parse_iso8601("2026-12-04T14:59:59Z")}};
  const auto profile = profile_from_log(first);
  EXPECT_EQ(profile.features.at("brightness").count, 120u);
  EXPECT_NE(profile.source.find("2026-12-04T14:00:00.000Z"), std::string::npos) << profile.source;
  save_reference_profile(profile, tmp.file("profile.json"));

  LogWindow second{log_path, {parse_iso8601("2026-12-04T15:00:00Z"), std::nullopt}};
  const auto drifted = report_drift_from_log(second, tmp.file("profile.json"), tmp.file("report"));
  EXPECT_TRUE(drifted.report.drift);
  EXPECT_EQ(drifted.report.window_requests, 60u);
  EXPECT_EQ(drifted.report.window_faces, 120u);
  const auto json = nlohmann::json::parse(read_file_text(tmp.file("report/drift.json")));
  EXPECT_TRUE(json.at("drift").get<bool>());
  EXPECT_EQ(json.at("window").at("since"), "2026-12-04T15:00:00.000Z");

  LogWindow same{log_path, {parse_iso8601("2026-12-04T14:30:00Z"), parse_iso8601("2026-12-04T14:59:00Z")}};
  EXPECT_FALSE(report_drift_from_log(same, tmp.file("profile.json"), tmp.file("report2")).report.drift);
}

TEST(LogAnalysis, EmptyWindows) {
  TempDir tmp;
  const std::string log_path = tmp.file("predictions.db");
  write_two_hours(log_path);
  LogWindow later{log_path, {parse_iso8601("2027-01-01T00:00:00Z"), std::nullopt}};
  EXPECT_EQ(error_of([&] { profile_from_log(later); }), ErrorCode::kInvalidArgument);
  save_reference_profile(profile_from_log({log_path, {}}), tmp.file("profile.json"));
  const auto empty = report_drift_from_log(later, tmp.file("profile.json"), tmp.file("report"));
  EXPECT_FALSE(empty.report.drift);
  EXPECT_FALSE(empty.report.note.empty());
  EXPECT_EQ(error_of([&] { profile_from_log({tmp.file("none.db"), {}}); }), ErrorCode::kNotFound);
}

}  // namespace
}  // namespace faceage::monitor
