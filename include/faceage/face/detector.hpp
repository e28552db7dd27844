#pragma once
// Face detectors by name: "yunet" (OpenCV FaceDetectorYN), "dlib-hog" (dlib's HOG detector plus
// 5 landmarks from the 68-point shape predictor) and "none" (the input already is a face crop).
//
//   auto detector = builtin_detectors().create("dlib-hog", DetectorOptions{});
//   std::vector<FaceDetection> faces = detector->detect(rgb);   // rgb: CV_8UC3, RGB order
//
// Detector objects are NOT thread-safe (they keep scratch buffers and network state): make one
// per thread. Construction can be expensive (dlib's shape predictor is a ~100 MB file read once
// per object; see docs/face.md for measured costs), so keep detectors alive across images.
#include <array>
#include <memory>
#include <string>
#include <vector>

#include <opencv2/core.hpp>

#include "faceage/core/registry.hpp"

namespace faceage::face {

// Indices into FaceDetection::landmarks (YuNet's order). "Right"/"left" are the subject's, so in
// a frontal image index 0 is the eye at the smaller x.
enum LandmarkIndex : int { kRightEye = 0, kLeftEye = 1, kNoseTip = 2, kRightMouth = 3, kLeftMouth = 4 };

struct FaceDetection {
  cv::Rect2f box;                        // in image pixels
  std::array<cv::Point2f, 5> landmarks;  // see LandmarkIndex; valid only when has_landmarks
  bool has_landmarks = false;
  // Detector-specific confidence: YuNet's score in [0,1]; dlib-hog's SVM margin (>= 0, ~0..3);
  // 1 for "none".
  float score = 0.f;
};

struct DetectorOptions {
  // yunet: a fixed-input .onnx file (input size from a "_<W>x<H>" name, else 160x120) or a folder
  // of yunet_<W>x<H>.onnx files (the input is chosen per image); empty: env FACEAGE_YUNET_MODEL,
  // else the files shipped with faceage (kShippedYunetDir beside the program).
  std::string model_path;
  float score_threshold = 0.6f;   // yunet: minimum score in [0,1]
  float nms_threshold = 0.3f;     // yunet
  int top_k = 50;                 // yunet: faces kept before NMS
  float input_min_scale = 0.5f;   // yunet: the smallest input that shrinks the image by no more than
                                  // this factor (a 24 px face stays >= 12 px); else the largest
  int refine_face_size = 96;      // yunet: faces smaller than this in the detector input (photo
                                  // shrunk) are detected again on a crop around them at about this
                                  // size, for finer landmarks; 0: off
  int min_face_size = 20;         // faces with a box side below this (image pixels) are dropped
  std::string landmarks_model;    // dlib 68-point .dat; empty: kDefaultDlibLandmarks if it exists;
                                  // "none": no landmarks (faster to construct)
  float hog_threshold = 0.1f;     // dlib-hog: added to the SVM decision threshold (<0 finds more);
                                  // 0.1 drops weak false positives (docs/face.md)
  int upsample = 0;               // dlib-hog: pyramid up-samplings (finds faces < 80 px; slow)
  int max_side = 640;             // dlib-hog: detect on a copy whose longest side is at most this
                                  // (0: never downscale); landmarks still use the full image
};

inline constexpr const char* kDefaultDlibLandmarks = "/usr/share/dlib/shape_predictor_68_face_landmarks.dat";
inline constexpr const char* kYunetModelEnv = "FACEAGE_YUNET_MODEL";
// The fixed-input YuNet files shipped with faceage (models/face/ in the repository).
inline constexpr const char* kShippedYunetDir = "models/face";

// Checks option values (kInvalidArgument naming the key, e.g. "detector_options.nms_threshold").
void validate(const DetectorOptions& options);

class FaceDetector {
 public:
  virtual ~FaceDetector() = default;
  // rgb: CV_8UC3 in RGB order (kInvalidArgument otherwise, or when empty). Faces in no
  // particular order; boxes may extend past the image border.
  virtual std::vector<FaceDetection> detect(const cv::Mat& rgb) = 0;
  virtual std::string name() const = 0;
};

using DetectorRegistry = faceage::Registry<std::unique_ptr<FaceDetector>(const DetectorOptions&)>;
void register_builtin_detectors(DetectorRegistry& registry);
// Built once on first use, read-only afterwards.
const DetectorRegistry& builtin_detectors();

// The YuNet model path the options resolve to (option, then env var, then the shipped folder);
// "" when none of them exists.
std::string resolve_yunet_model(const DetectorOptions& options);
// What identifies the model files a detector would load (for cache keys): "yunet" -> the
// SHA-256 of each .onnx file it resolves to, "dlib-hog" -> the landmark model path; "" for the
// rest, or when the files cannot be found (constructing the detector reports that).
std::string detector_model_id(const std::string& detector, const DetectorOptions& options);
// The dlib landmark model path the options resolve to; "" when none exists or "none" was asked.
std::string resolve_dlib_landmarks(const DetectorOptions& options);

// The terms a model inherits from the landmark model that aligned its crops under `detector`:
// "dlib-hog" and "yunet-dlib68" align with dlib's 68-point model, trained on iBUG 300-W
// (non-commercial use only); "" for the others.
std::string landmark_licence_note(const std::string& detector);

// Throws kInvalidArgument unless `rgb` is a non-empty CV_8UC3 image; `what` names the caller.
void check_rgb(const cv::Mat& rgb, const char* what);

}  // namespace faceage::face
