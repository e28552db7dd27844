#pragma once
// Test helpers: small synthetic JPEGs with distinct bytes per seed.
#include <string>

#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include "faceage/core/fs.hpp"

namespace faceage::data::test {

inline void write_jpeg(const std::string& path, int seed) {
  cv::Mat bgr(24, 24, CV_8UC3, cv::Scalar(seed * 37 % 256, seed * 91 % 256, seed * 13 % 256));
  cv::circle(bgr, {seed % 24, (seed / 24) % 24}, 5, cv::Scalar(255, 255, 255), -1);
  std::vector<std::uint8_t> bytes;
  cv::imencode(".jpg", bgr, bytes);
  write_file_atomic(path, bytes);
}

}  // namespace faceage::data::test
