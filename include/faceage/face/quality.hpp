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

// The image statistics of a face crop. Monitoring logs exactly these (monitor::measure_face calls
// this), so the drift features and the quality score never measure differently.
struct CropStatistics {
  double brightness = 0;     // mean luma, 0..255
  double contrast = 0;       // standard deviation of luma (RMS contrast)
  double sharpness = 0;      // variance of the Laplacian of luma resized to 128x128
  double colourfulness = 0;  // Hasler & Suesstrunk (2003) M; 0 for a one-channel crop
};
enum class ChannelOrder { kRgb, kBgr };
// 8-bit crops with 1, 3 or 4 channels (kInvalidArgument otherwise, or when empty).
CropStatistics crop_statistics(const cv::Mat& crop, ChannelOrder order = ChannelOrder::kRgb);
// Horizontal offset of the nose from the eyes' midpoint in inter-ocular distances (landmarks in
// the face module's order: eyes, nose, mouth corners): ~0 frontal, |0.5| about a half profile.
// nullopt when the eyes coincide.
std::optional<double> yaw_proxy(const std::array<cv::Point2f, 5>& landmarks);

// Where each part's score ramps from 0 (at `bad`) to 1 (at `good`). Provisional defaults, chosen
// by looking at UTKFace crops and their blurred/darkened/shrunk copies; to be fitted on degraded
// validation error (docs/face.md).
struct FaceQualityOptions {
  double size_bad_px = 24, size_good_px = 80;        // shorter side of the face box, image pixels
  double sharpness_bad = 15, sharpness_good = 80;    // CropStatistics::sharpness
  double dark_bad = 25, dark_good = 70;              // mean gray level (0..255), too dark ...
  double bright_good = 200, bright_bad = 245;        // ... and too bright
  double contrast_bad = 12, contrast_good = 35;      // standard deviation of gray levels
  double yaw_good = 0.25, yaw_bad = 0.6;             // |nose offset| / eye distance (0 = frontal)
  double detector_bad = 0.5, detector_good = 0.9;    // detector confidence
  double colourless = 2;                             // colourfulness below this counts as grayscale
  double grayscale_factor = 0.85;                    // a grayscale face is harder to judge (old scans)
};

struct FaceQuality {
  // Measurements.
  double face_size_px = 0;
  double sharpness = 0;
  double brightness = 0;
  double contrast = 0;
  double colourfulness = 0;
  std::optional<double> detector_score;
  std::optional<double> yaw;      // yaw_proxy; needs 5 landmarks
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
