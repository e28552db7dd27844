#pragma once
// Fitting the canonical alignment template from tight face crops (UTKFace's aligned 200x200
// images) and measuring how well aligning with it reproduces those crops. Used by
// `faceage face fit-template`; the numbers it printed are hard-coded in utkface_template().
#include <array>
#include <cstddef>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>
#include <opencv2/core.hpp>

#include "faceage/face/align.hpp"
#include "faceage/face/detector.hpp"

namespace faceage::face {

struct TemplateFitOptions {
  std::vector<std::string> detectors{"yunet", "dlib-hog"};
  DetectorOptions detector_options;
  float pad_fraction = 0.5f;  // crops are padded (replicate) before detection: detectors miss
                              // faces that fill the frame
};

// Detects the face of a tight crop as FacePipeline does (the crop, then a padded copy); keeps the largest face whose box centre
// lies inside the crop, and maps it back to crop pixels. nullopt when none is found.
std::optional<FaceDetection> detect_in_crop(FaceDetector& detector, const cv::Mat& crop_rgb, float pad_fraction);

struct DetectorFit {
  std::string detector;
  int images = 0;
  int detected = 0;                   // with landmarks
  std::array<cv::Point2f, 5> mean{};  // mean landmark positions, normalised crop coordinates
  std::array<float, 5> spread_px{};   // RMS distance of each landmark from its mean, crop pixels
  cv::Rect2f mean_box;                // mean detector box, normalised crop coordinates
  double ms_per_image = 0;
};

struct TemplateFitReport {
  std::vector<DetectorFit> detectors;
  // Between the first two detectors, over crops where both found landmarks (crop pixels).
  int pairs = 0;
  std::array<double, 5> pair_error_px{};
  double pair_mean_error_px = 0;
  AlignmentTemplate alignment;  // points: mean of the detectors' means; boxes: per detector
};

// load_rgb(i) returns crop i (CV_8UC3 RGB, all the same size) or an empty Mat to skip it.
TemplateFitReport fit_template(std::size_t count, const std::function<cv::Mat(std::size_t)>& load_rgb,
                               const TemplateFitOptions& options);

struct AlignmentCheck {
  std::string detector;
  std::string mode;  // "landmarks" or "box" (landmarks dropped: the box fallback)
  int images = 0;
  int aligned = 0;
  int crop_fallback = 0;          // faces that took the crop fallback (whole image)
  double mean_abs_diff = 0;       // aligned crop vs original crop, 0..255 per channel
  double corner_error_px = 0;     // mean distance of the crop corners from where they should be
  double scale = 0;               // mean scale of the image -> crop transform (ideal 1)
  double rotation_deg = 0;        // mean |rotation| (ideal 0)
};

// Runs the face pipeline (largest face) on each crop and compares the aligned crop with the
// original: a template that reproduces the framing gives a transform near the identity.
std::vector<AlignmentCheck> check_alignment(std::size_t count, const std::function<cv::Mat(std::size_t)>& load_rgb,
                                            const AlignmentTemplate& alignment, const TemplateFitOptions& options);

nlohmann::json to_json(const TemplateFitReport& report);
nlohmann::json to_json(const AlignmentCheck& check);

// The images of `faceage face fit-template`: `fit` + `check` .jpg files of `folder`, spread evenly
// over its sorted list (UTKFace names sort by age), the check set interleaved with the fit set and
// never sharing a file. kNotFound when the folder holds no .jpg file.
struct TemplateFitImages {
  std::vector<std::string> fit, check;
};
TemplateFitImages pick_template_images(const std::string& folder, std::size_t fit, std::size_t check);

}  // namespace faceage::face
