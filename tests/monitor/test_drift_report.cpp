#include "faceage/monitor/drift_report.hpp"

#include <gtest/gtest.h>

#include <filesystem>

#include "faceage/core/fs.hpp"
#include "monitor/synthetic_faces.hpp"
#include "support/temp_dir.hpp"

namespace faceage::monitor {
namespace {

using faceage::testing::TempDir;

const FeatureDrift& feature(const DriftReport& report, const std::string& name) {
  for (const auto& f : report.features)
    if (f.feature == name) return f;
  throw std::runtime_error("no feature " + name);
}

TEST(DriftReport, OrdinaryFacesDoNotDrift) {
  const auto reference = build_reference_profile(testing::synthetic_faces(2000, 1), "synthetic reference");
  const auto report = compare_to_reference(reference, testing::synthetic_faces(300, 2));
  EXPECT_FALSE(report.drift);
  EXPECT_TRUE(report.note.empty());
  EXPECT_EQ(report.window_faces, 300u);
  for (const auto& f : report.features) {
    EXPECT_FALSE(f.drift) << f.feature << " psi " << f.psi << " p " << f.ks_p_value;
    EXPECT_LT(f.psi, 0.1) << f.feature;
  }
}

TEST(DriftReport, GrayscaleBlurredFacesDriftOnTheRightFeatures) {
  const auto reference = build_reference_profile(testing::synthetic_faces(2000, 1), "synthetic reference");
  const auto report = compare_to_reference(reference, testing::synthetic_faces(300, 3, /*grayscale_blurred=*/true));
  EXPECT_TRUE(report.drift);
  for (const char* name : {"colourfulness", "grayscale", "sharpness_log10"}) {
    const auto& f = feature(report, name);
    EXPECT_TRUE(f.drift) << name;
    EXPECT_GT(f.psi, 1.0) << name;
    EXPECT_LT(f.ks_p_value, 1e-6) << name;
  }
  // grayscale: reference all 0, live all 1 -> W1 = 1, KS D = 1.
  EXPECT_NEAR(feature(report, "grayscale").wasserstein, 1.0, 1e-12);
  EXPECT_NEAR(feature(report, "grayscale").ks_statistic, 1.0, 1e-12);
  for (const char* name : {"brightness", "contrast", "age", "gender_probability", "face_size"})
    EXPECT_FALSE(feature(report, name).drift) << name;

  const auto json = to_json(report);
  EXPECT_TRUE(json.at("drift").get<bool>());
  EXPECT_EQ(json.at("window").at("faces"), 300);
  const auto& c = json.at("features").at("colourfulness");
  EXPECT_TRUE(c.at("psi").contains("threshold"));
  EXPECT_TRUE(c.at("ks").contains("p_value"));
  EXPECT_TRUE(c.at("wasserstein").contains("threshold"));
  EXPECT_TRUE(c.at("drift").get<bool>());
}

TEST(DriftReport, TooSmallAWindowGivesNoVerdict) {
  const auto reference = build_reference_profile(testing::synthetic_faces(500, 1), "synthetic reference");
  const auto report = compare_to_reference(reference, testing::synthetic_faces(10, 3, true));
  EXPECT_FALSE(report.drift);
  EXPECT_NE(report.note.find("10 faces"), std::string::npos) << report.note;
  const auto empty = compare_to_reference(reference, {});
  EXPECT_FALSE(empty.drift);
  EXPECT_TRUE(empty.features.empty());
}

TEST(DriftReport, WritesJsonAndHtml) {
  TempDir tmp;
  const auto reference = build_reference_profile(testing::synthetic_faces(500, 1), "ref <val>");
  auto report = compare_to_reference(reference, testing::synthetic_faces(100, 3, true));
  report.since = "2026-12-04T14:00:00.000Z";
  const auto files = write_drift_report(report, tmp.file("out"));
  ASSERT_EQ(files.size(), 2u);
  const auto json = nlohmann::json::parse(read_file_text(files[0]));
  EXPECT_TRUE(json.at("drift").get<bool>());
  EXPECT_EQ(json.at("window").at("since"), "2026-12-04T14:00:00.000Z");
  EXPECT_TRUE(json.at("window").at("until").is_null());
  const std::string html = read_file_text(files[1]);
  EXPECT_NE(html.find("ref &lt;val&gt;"), std::string::npos);
  EXPECT_NE(html.find("<svg"), std::string::npos);
  EXPECT_NE(html.find("colourfulness"), std::string::npos);
}

}  // namespace
}  // namespace faceage::monitor
