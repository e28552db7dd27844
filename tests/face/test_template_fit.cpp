#include "faceage/face/template_fit.hpp"

#include <gtest/gtest.h>

#include <opencv2/imgproc.hpp>

#include "face/face_test_util.hpp"

namespace faceage::face {
namespace {

// Slow: loads dlib's 100 MB landmark model three times.
TEST(TemplateFitSlow, FitsTheLandmarksOfItsCropsAndReproducesThem) {
  if (!testing::have_dlib_landmarks()) GTEST_SKIP() << "libdlib-data's shape predictor is not installed";
  const cv::Mat crop = testing::fixture_rgb("faces/astronaut_crop.jpg");
  cv::Mat flipped;
  cv::flip(crop, flipped, 1);
  const std::vector<cv::Mat> crops{crop, flipped};
  TemplateFitOptions options;
  options.detectors = {"dlib-hog"};
  auto load = [&](std::size_t i) { return crops[i]; };
  const TemplateFitReport report = fit_template(crops.size(), load, options);
  ASSERT_EQ(report.detectors.size(), 1u);
  EXPECT_EQ(report.detectors[0].detected, 2);
  EXPECT_EQ(report.alignment.crop_size, 200);
  // Independent expectation: the mean of the two crops' own detections.
  auto detector = builtin_detectors().create("dlib-hog", DetectorOptions{});
  const auto a = detect_in_crop(*detector, crop, 0.5f);
  const auto b = detect_in_crop(*detector, flipped, 0.5f);
  ASSERT_TRUE(a && b);
  for (int k = 0; k < 5; ++k) {
    EXPECT_NEAR(report.alignment.points[k].x * 200, (a->landmarks[k].x + b->landmarks[k].x) / 2, 1e-3) << k;
  }
  // Mirror symmetry: a flipped crop's eyes average to the horizontal centre.
  EXPECT_NEAR((report.alignment.points[kRightEye].x + report.alignment.points[kLeftEye].x) / 2, 0.5, 0.02);

  // The crop was made with the UTKFace template: aligning it again nearly reproduces it.
  const auto checks = check_alignment(1, load, utkface_template(), options);
  ASSERT_EQ(checks.size(), 2u);
  EXPECT_EQ(checks[0].mode, "landmarks");
  EXPECT_EQ(checks[0].aligned, 1);
  EXPECT_LT(checks[0].corner_error_px, 8.0);
  EXPECT_NEAR(checks[0].scale, 1.0, 0.05);
}

TEST(TemplateFit, RejectsMixedSizesAndEmptyInput) {
  TemplateFitOptions options;
  options.detectors = {"none"};
  const std::vector<cv::Mat> crops{cv::Mat(50, 50, CV_8UC3, cv::Scalar::all(1)), cv::Mat(60, 60, CV_8UC3)};
  EXPECT_THROW(fit_template(2, [&](std::size_t i) { return crops[i]; }, options), Error);
  EXPECT_THROW(fit_template(0, [&](std::size_t) { return cv::Mat(); }, options), Error);
}

}  // namespace
}  // namespace faceage::face
