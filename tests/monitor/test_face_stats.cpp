#include "faceage/monitor/face_stats.hpp"

#include <gtest/gtest.h>

#include <set>

#include <opencv2/imgproc.hpp>

#include "support/error_code.hpp"

namespace faceage::monitor {
namespace {

using faceage::testing::error_of;

cv::Mat checkerboard(int side, int cell) {
  cv::Mat image(side, side, CV_8UC3);
  for (int y = 0; y < side; ++y)
    for (int x = 0; x < side; ++x) {
      const bool white = ((x / cell) + (y / cell)) % 2 == 0;
      image.at<cv::Vec3b>(y, x) = white ? cv::Vec3b(200, 180, 160) : cv::Vec3b(40, 60, 90);
    }
  return image;
}

TEST(MeasureFace, UniformGrayCrop) {
  const cv::Mat crop(100, 80, CV_8UC3, cv::Scalar(100, 100, 100));
  FaceGeometry geometry;
  geometry.image_width = 640;
  geometry.image_height = 480;
  geometry.face_width = 80;
  geometry.face_height = 100;
  geometry.detector_score = 0.93;
  const auto stats = measure_face(crop, geometry);
  EXPECT_NEAR(stats.brightness, 100.0, 1e-9);
  EXPECT_NEAR(stats.contrast, 0.0, 1e-9);
  EXPECT_NEAR(stats.sharpness, 0.0, 1e-9);
  EXPECT_NEAR(stats.colourfulness, 0.0, 1e-9);
  EXPECT_TRUE(stats.grayscale);
  EXPECT_EQ(stats.image_width, 640);
  EXPECT_DOUBLE_EQ(stats.face_height, 100);
  EXPECT_DOUBLE_EQ(stats.detector_score.value(), 0.93);
  EXPECT_FALSE(stats.pose.has_value());
  // A one-channel crop is grayscale by definition.
  EXPECT_TRUE(measure_face(cv::Mat(50, 50, CV_8UC1, cv::Scalar(30))).grayscale);
}

TEST(MeasureFace, ColourAndBlurMoveTheirStatistics) {
  const cv::Mat sharp = checkerboard(128, 8);
  cv::Mat blurred, gray, gray_bgr;
  cv::GaussianBlur(sharp, blurred, cv::Size(0, 0), 3.0);
  cv::cvtColor(sharp, gray, cv::COLOR_BGR2GRAY);
  cv::cvtColor(gray, gray_bgr, cv::COLOR_GRAY2BGR);
  const auto s = measure_face(sharp), b = measure_face(blurred), g = measure_face(gray_bgr);
  EXPECT_GT(s.sharpness, 10 * b.sharpness);
  EXPECT_NEAR(s.brightness, b.brightness, 1.0);  // a blur keeps the mean
  EXPECT_GT(s.colourfulness, kGrayscaleColourfulness);
  EXPECT_FALSE(s.grayscale);
  EXPECT_TRUE(g.grayscale);
  // Two luma levels in equal parts: 0.299 R + 0.587 G + 0.114 B = 176.3 and 66.7; the mean is
  // their midpoint and the standard deviation half their gap.
  EXPECT_NEAR(s.brightness, 121.5, 0.6);
  EXPECT_NEAR(s.contrast, 54.8, 0.6);
  cv::Mat bgra;
  cv::cvtColor(sharp, bgra, cv::COLOR_BGR2BGRA);
  EXPECT_NEAR(measure_face(bgra).colourfulness, s.colourfulness, 1e-6);
}

TEST(MeasureFace, RejectsWhatIsNotAnImage) {
  EXPECT_EQ(error_of([] { measure_face(cv::Mat()); }), ErrorCode::kInvalidArgument);
  EXPECT_EQ(error_of([] { measure_face(cv::Mat(10, 10, CV_32FC3, cv::Scalar(0.5))); }), ErrorCode::kInvalidArgument);
}

TEST(MonitoredFeatures, NamesAreUniqueAndMissingValuesAreSkipped) {
  std::set<std::string> names;
  for (const auto& f : monitored_features()) EXPECT_TRUE(names.insert(f.name).second) << f.name;
  LoggedFace with_pose, without_pose;
  with_pose.input.pose = -0.3;
  const auto values = feature_values({with_pose, without_pose});
  ASSERT_EQ(values.size(), monitored_features().size());
  for (const auto& [name, v] : values) {
    if (name == "pose_yaw") {
      ASSERT_EQ(v.size(), 1u);
      EXPECT_DOUBLE_EQ(v[0], 0.3);
    } else if (name != "detector_score") {
      EXPECT_EQ(v.size(), 2u) << name;
    }
  }
}

}  // namespace
}  // namespace faceage::monitor
