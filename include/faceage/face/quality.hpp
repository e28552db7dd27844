// SPDX-License-Identifier: Apache-2.0
#pragma once
// How fit a face crop is to be judged: measured parts (size, sharpness, exposure, contrast,
// colour, detector confidence, pose) each mapped to 0..1, and one score. Written once here and
// used by the predictor (records' `quality`, the `unreliable` flag, interval widening) and by
// monitoring (the same statistics are the drift features), so the two never disagree.
#include <array>
#include <optional>

#include <nlohmann/json.hpp>
#include <opencv2/core.hpp>

namespace faceage::face {

// Where each part's score ramps from 0 (at `bad`) to 1 (at `good`). Defaults: see docs/face.md
// (set from UTKFace validation crops and their degraded copies).
struct FaceQualityOptions {
  double size_bad_px = 24, size_good_px = 80;        // shorter side of the face box, image pixels
  double sharpness_bad = 15, sharpness_good = 80;    // variance of the Laplacian on the 112-px gray crop
  double dark_bad = 25, dark_good = 70;              // mean gray level (0..255), too dark ...
  double bright_good = 200, bright_bad = 245;        // ... and too bright
  double contrast_bad = 12, contrast_good = 35;      // standard deviation of gray levels
  double yaw_good = 0.25, yaw_bad = 0.6;             // |nose offset| / eye distance (0 = frontal)
  double detector_bad = 0.5, detector_good = 0.9;    // detector confidence
  double colourless = 4;                             // colourfulness below this counts as grayscale
  double grayscale_factor = 0.85;                    // a grayscale face is harder to judge (old scans)
};

struct FaceQuality {
  // Measurements.
  double face_size_px = 0;
  double sharpness = 0;
  double brightness = 0;
  double contrast = 0;
  double colourfulness = 0;       // Hasler & Suesstrunk (2003) M; ~0 for grayscale
  std::optional<double> detector_score;
  std::optional<double> yaw;      // needs 5 landmarks
  bool grayscale = false;
  // Part scores 0..1 and their product.
  double size_score = 1, sharpness_score = 1, exposure_score = 1, contrast_score = 1;
  double pose_score = 1, detector_part = 1, colour_score = 1;
  double score = 1;
};

// aligned_rgb: the aligned crop (CV_8UC3 RGB). box_short_side: the face box's shorter side in the
// original image's pixels. landmarks (eyes, nose, mouth corners, image pixels) when known.
FaceQuality assess_face_quality(const cv::Mat& aligned_rgb, double box_short_side,
                                const std::optional<std::array<cv::Point2f, 5>>& landmarks,
                                std::optional<double> detector_score, const FaceQualityOptions& options = {});

// 0 at `bad`, 1 at `good`, linear between; works for either order of the two.
double quality_ramp(double value, double bad, double good);

// {"score": .., "parts": {...}, "face_size_px": .., ...} for records and logs.
nlohmann::json to_json(const FaceQuality& quality);

}  // namespace faceage::face
