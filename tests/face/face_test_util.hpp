#pragma once
// Shared helpers for the face tests: fixture loading (cv::imread until data::read_image is used
// everywhere) and the shipped YuNet models.
#include <gtest/gtest.h>

#include <filesystem>
#include <string>

#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include "support/temp_dir.hpp"

namespace faceage::face::testing {

inline cv::Mat load_rgb(const std::string& path) {
  cv::Mat bgr = cv::imread(path, cv::IMREAD_COLOR);
  EXPECT_FALSE(bgr.empty()) << "cannot read " << path;
  cv::Mat rgb;
  if (!bgr.empty()) cv::cvtColor(bgr, rgb, cv::COLOR_BGR2RGB);
  return rgb;
}

inline cv::Mat fixture_rgb(const std::string& name) { return load_rgb(faceage::testing::fixture(name)); }

// The YuNet files shipped in the repository (models/face/), and the 160x120 one alone.
inline std::string shipped_yunet_dir() { return std::string(FACEAGE_SOURCE_DIR) + "/models/face"; }
inline std::string shipped_yunet_160x120() { return shipped_yunet_dir() + "/yunet_160x120.onnx"; }

inline bool have_dlib_landmarks() { return std::filesystem::exists("/usr/share/dlib/shape_predictor_68_face_landmarks.dat"); }

}  // namespace faceage::face::testing
