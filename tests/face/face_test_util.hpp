#pragma once
// Shared helpers for the face tests: fixture loading (cv::imread until data::read_image is used
// everywhere) and the optional shared YuNet model.
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

// /work/shared/weights/yunet.onnx, or "" when the shared folder is absent.
inline std::string shared_yunet() {
  const std::string path = std::string(FACEAGE_SOURCE_DIR) + "/../shared/weights/yunet.onnx";
  return std::filesystem::exists(path) ? path : std::string();
}

inline bool have_dlib_landmarks() { return std::filesystem::exists("/usr/share/dlib/shape_predictor_68_face_landmarks.dat"); }

}  // namespace faceage::face::testing
