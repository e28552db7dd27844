#pragma once
// Logged faces drawn from fixed distributions, for profile and drift tests: ordinary colour photos,
// or grayscale, blurred ones (what a camera swap or a scanner batch would send).
#include <random>
#include <vector>

#include "faceage/monitor/face_stats.hpp"

namespace faceage::monitor::testing {

inline std::vector<LoggedFace> synthetic_faces(std::size_t count, unsigned seed, bool grayscale_blurred = false) {
  std::mt19937 rng(seed);
  std::normal_distribution<double> brightness(120, 20), contrast(45, 8), log_sharpness(2.6, 0.3), colour(35, 8),
      score(0.9, 0.04), pose(0.0, 0.08), age(35, 12), width(3.0, 0.6);
  std::uniform_real_distribution<double> gender(0.0, 1.0);
  std::vector<LoggedFace> faces(count);
  for (auto& f : faces) {
    f.input.image_width = 640;
    f.input.image_height = 480;
    f.input.face_width = f.input.face_height = 180;
    f.input.brightness = brightness(rng);
    f.input.contrast = contrast(rng);
    double s = log_sharpness(rng), c = colour(rng);
    if (grayscale_blurred) {
      s -= 1.2;  // a blur takes most of the Laplacian's energy away
      c = 0.3;
    }
    f.input.sharpness = std::pow(10.0, s) - 1.0;
    f.input.colourfulness = c;
    f.input.grayscale = c < kGrayscaleColourfulness;
    f.input.detector_score = score(rng);
    f.input.pose = pose(rng);
    f.output.age = age(rng);
    f.output.interval_width = width(rng);
    f.output.gender_probability = gender(rng);
  }
  return faces;
}

}  // namespace faceage::monitor::testing
