// SPDX-License-Identifier: Apache-2.0
#include "faceage/face/quality.hpp"

#include <gtest/gtest.h>

#include <opencv2/imgproc.hpp>

#include "face_test_util.hpp"

namespace faceage::face {
namespace {

cv::Mat face_crop() {
  cv::Mat crop = testing::fixture_rgb("faces/astronaut_crop.jpg");
  return crop;
}

// Frontal landmarks for a 200x200 crop: eyes level, nose centred between them.
std::array<cv::Point2f, 5> frontal() {
  return {cv::Point2f(70, 90), cv::Point2f(130, 90), cv::Point2f(100, 120), cv::Point2f(75, 150), cv::Point2f(125, 150)};
}

TEST(FaceQuality, RampIsLinearBetweenBadAndGoodInEitherOrder) {
  EXPECT_DOUBLE_EQ(quality_ramp(10, 10, 20), 0.0);
  EXPECT_DOUBLE_EQ(quality_ramp(15, 10, 20), 0.5);
  EXPECT_DOUBLE_EQ(quality_ramp(30, 10, 20), 1.0);
  EXPECT_DOUBLE_EQ(quality_ramp(0.4, 0.6, 0.2), 0.5);  // lower is better (yaw)
}

TEST(FaceQuality, AGoodPhotoScoresHigh) {
  const auto q = assess_face_quality(face_crop(), 150, frontal(), 0.95);
  EXPECT_GT(q.score, 0.8) << to_json(q).dump();
  EXPECT_FALSE(q.grayscale);
  ASSERT_TRUE(q.yaw.has_value());
  EXPECT_NEAR(*q.yaw, 0.0, 1e-6);
}

TEST(FaceQuality, BlurLowersSharpness) {
  const auto crop = face_crop();
  cv::Mat blurred;
  cv::GaussianBlur(crop, blurred, cv::Size(0, 0), 4.0);
  const auto sharp = assess_face_quality(crop, 150, std::nullopt, std::nullopt);
  const auto soft = assess_face_quality(blurred, 150, std::nullopt, std::nullopt);
  EXPECT_LT(soft.sharpness, sharp.sharpness / 4);
  EXPECT_LT(soft.sharpness_score, sharp.sharpness_score);
  EXPECT_LT(soft.score, sharp.score);
}

TEST(FaceQuality, DarkAndLowContrastLowerExposureAndContrast) {
  const auto crop = face_crop();
  cv::Mat dark = crop * 0.12;
  const auto normal = assess_face_quality(crop, 150, std::nullopt, std::nullopt);
  const auto low = assess_face_quality(dark, 150, std::nullopt, std::nullopt);
  EXPECT_LT(low.brightness, normal.brightness);
  EXPECT_LT(low.exposure_score, normal.exposure_score);
  EXPECT_LT(low.contrast_score, normal.contrast_score);
  EXPECT_LT(low.score, 0.3);
}

TEST(FaceQuality, TinyFacesScoreLow) {
  const auto crop = face_crop();
  EXPECT_LT(assess_face_quality(crop, 20, std::nullopt, std::nullopt).size_score, 0.01);
  EXPECT_GT(assess_face_quality(crop, 200, std::nullopt, std::nullopt).size_score, 0.99);
}

TEST(FaceQuality, ProfileLowersPose) {
  auto turned = frontal();
  turned[2].x = 130;  // nose under the right eye: a strong yaw
  const auto q = assess_face_quality(face_crop(), 150, turned, 0.9);
  ASSERT_TRUE(q.yaw.has_value());
  EXPECT_NEAR(*q.yaw, 0.5, 1e-6);
  EXPECT_LT(q.pose_score, 0.5);
}

TEST(FaceQuality, GrayscaleIsDetected) {
  cv::Mat gray, rgb;
  cv::cvtColor(face_crop(), gray, cv::COLOR_RGB2GRAY);
  cv::cvtColor(gray, rgb, cv::COLOR_GRAY2RGB);
  const auto q = assess_face_quality(rgb, 150, std::nullopt, std::nullopt);
  EXPECT_TRUE(q.grayscale);
  EXPECT_LT(q.colourfulness, 1.0);
  EXPECT_LT(q.colour_score, 1.0);
}

TEST(FaceQuality, LowDetectorConfidenceLowersTheScore) {
  const auto sure = assess_face_quality(face_crop(), 150, std::nullopt, 0.95);
  const auto unsure = assess_face_quality(face_crop(), 150, std::nullopt, 0.55);
  EXPECT_LT(unsure.detector_part, sure.detector_part);
}

TEST(FaceQuality, EmptyCropDoesNotCrash) {
  const auto q = assess_face_quality(cv::Mat(), 0, std::nullopt, std::nullopt);
  EXPECT_EQ(q.score, 0.0);
}

}  // namespace
}  // namespace faceage::face
