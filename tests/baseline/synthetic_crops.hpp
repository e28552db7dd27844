#pragma once
// Synthetic "face crops" whose HOG plainly encodes the labels: a bright bar whose length grows with
// the age, and stripes that are vertical for female and horizontal for male, on seeded noise.
#include <algorithm>
#include <cstdint>
#include <random>

#include <opencv2/core.hpp>
#include <opencv2/imgproc.hpp>

#include "faceage/baseline/hog_svr.hpp"

namespace faceage::testing {

inline cv::Mat synthetic_crop(double age, int gender, std::mt19937& rng, int size = 96) {
  cv::Mat gray(size, size, CV_8UC1);
  cv::RNG noise(rng());  // not cv::randu: OpenCV's global generator would tie images to test order
  noise.fill(gray, cv::RNG::UNIFORM, cv::Scalar(60), cv::Scalar(90));
  const int bar = std::max(2, static_cast<int>(size * 0.8 * age / 100.0));
  cv::rectangle(gray, cv::Rect(size / 10, size / 4, bar, size / 8), cv::Scalar(250), cv::FILLED);
  std::uniform_int_distribution<int> phase(0, 3);
  const int p = phase(rng);
  for (int k = size / 10 + p; k < size * 9 / 10; k += 8) {
    if (gender == 1) {
      cv::line(gray, {k, size / 2}, {k, size * 9 / 10}, cv::Scalar(200), 2);
    } else {
      cv::line(gray, {size / 10, size / 2 + (k - size / 10) / 2}, {size * 9 / 10, size / 2 + (k - size / 10) / 2},
               cv::Scalar(200), 2);
    }
  }
  cv::Mat rgb;
  cv::cvtColor(gray, rgb, cv::COLOR_GRAY2RGB);
  return rgb;
}

inline baseline::LabelledCrops synthetic_set(std::size_t count, std::uint32_t seed, bool both_genders = true) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<double> age(1, 90);
  baseline::LabelledCrops set;
  for (std::size_t i = 0; i < count; ++i) {
    const double a = age(rng);
    const int g = both_genders ? static_cast<int>(i % 2) : 0;
    set.crops.push_back(synthetic_crop(a, g, rng));
    set.ages.push_back(a);
    set.genders.push_back(g);
  }
  return set;
}

}  // namespace faceage::testing
