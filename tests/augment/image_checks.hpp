#pragma once
// Measures the augmentation tests use to check that an operation moved an image the right way.
#include <opencv2/core.hpp>
#include <opencv2/imgproc.hpp>

namespace faceage::augment::image_checks {

// Variance of the Laplacian of the luma: how much fine detail an image holds (blur and
// resolution loss lower it).
inline double sharpness(const cv::Mat& rgb) {
  cv::Mat gray, lap;
  cv::cvtColor(rgb, gray, cv::COLOR_RGB2GRAY);
  cv::Laplacian(gray, lap, CV_64F);
  cv::Scalar mean, stddev;
  cv::meanStdDev(lap, mean, stddev);
  return stddev[0] * stddev[0];
}

}  // namespace faceage::augment::image_checks
