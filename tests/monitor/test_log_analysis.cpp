#include "faceage/monitor/log_analysis.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>

#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

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

// Real photos: UTKFace crops from ../shared (skips without them). Hour 14: 200 photos as they are
// (the reference); hour 15: 200 other photos as they are; hour 16: those 200 in grayscale, blurred.
// The log is kept under FACEAGE_TEST_TMP with FACEAGE_KEEP_TEST_TMP=1 (docs/monitoring.md uses it).
TEST(LogAnalysisSlow, GrayscaleBlurredPhotosDriftOrdinaryOnesDoNot) {
  namespace fs = std::filesystem;
  const fs::path images = fs::path(FACEAGE_SOURCE_DIR) / "../shared/data/utkface/images";
  if (!fs::is_directory(images)) GTEST_SKIP() << images << " is not available";
  std::vector<fs::path> files;
  for (const auto& entry : fs::directory_iterator(images)) files.push_back(entry.path());
  std::sort(files.begin(), files.end());
  ASSERT_GE(files.size(), 1200u);
  const std::size_t stride = files.size() / 400;  // names sort by age: spread the picks over all ages

  TempDir tmp;
  const std::string log_path = tmp.file("predictions.db");
  const double start = parse_iso8601("2026-12-04T14:00:00Z");
  {
    PredictionLogWriter writer({log_path});
    for (int hour = 0; hour < 3; ++hour) {
      for (std::size_t i = 0; i < 200; ++i) {
        const fs::path& file = files[(2 * i + (hour > 0 ? 1 : 0)) * stride];
        cv::Mat crop = cv::imread(file.string(), cv::IMREAD_COLOR);
        ASSERT_FALSE(crop.empty());
        if (hour == 2) {
          cv::Mat gray;
          cv::cvtColor(crop, gray, cv::COLOR_BGR2GRAY);
          cv::GaussianBlur(gray, gray, cv::Size(0, 0), 2.0);
          cv::cvtColor(gray, crop, cv::COLOR_GRAY2BGR);
        }
        FaceGeometry geometry{crop.cols, crop.rows, 0.8 * crop.cols, 0.8 * crop.rows, 1.0, std::nullopt};
        PredictionRecord r;
        r.time = start + 3600.0 * hour + 15.0 * static_cast<double>(i);
        r.request_id = "h" + std::to_string(14 + hour) + "-" + std::to_string(i);
        r.model_version = "1";
        r.latency_ms = 30;
        LoggedFace face;
        face.input = measure_face(crop, geometry);
        face.output.age = std::stod(file.filename().string());  // the label (NAME = AGE_...) stands in for the model
        r.faces.push_back(face);
        ASSERT_TRUE(writer.log(std::move(r)));
      }
    }
  }
  const double hour = 3600;
  save_reference_profile(profile_from_log({log_path, {start, start + hour - 1}}), tmp.file("profile.json"));
  const auto ordinary = report_drift_from_log({log_path, {start + hour, start + 2 * hour - 1}}, tmp.file("profile.json"),
                                              tmp.file("ordinary"));
  const auto degraded = report_drift_from_log({log_path, {start + 2 * hour, std::nullopt}}, tmp.file("profile.json"),
                                              tmp.file("degraded"));
  EXPECT_FALSE(ordinary.report.drift);
  EXPECT_TRUE(degraded.report.drift);
  for (const auto& f : ordinary.report.features) EXPECT_FALSE(f.drift) << f.feature << " psi " << f.psi;
  for (const auto& f : degraded.report.features) {
    if (f.feature == "contrast") continue;  // a blur also flattens the luma a little: either verdict is right
    const bool expected = f.feature == "grayscale" || f.feature == "colourfulness" || f.feature == "sharpness_log10";
    EXPECT_EQ(f.drift, expected) << f.feature << " psi " << f.psi << " p " << f.ks_p_value;
  }
}

}  // namespace
}  // namespace faceage::monitor
