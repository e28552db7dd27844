#include "faceage/face/detector.hpp"

#include <algorithm>
#include <cstdlib>
#include <filesystem>

#include "faceage/core/check.hpp"
#include "faceage/core/fs.hpp"
#include "faceage/core/shipped_path.hpp"
#include "face/detectors.hpp"

namespace faceage::face {

namespace {

// The input already is a face crop: the whole image is the face.
class WholeImageDetector final : public FaceDetector {
 public:
  std::vector<FaceDetection> detect(const cv::Mat& rgb) override {
    check_rgb(rgb, "none detector");
    FaceDetection face;
    face.box = cv::Rect2f(0.f, 0.f, static_cast<float>(rgb.cols), static_cast<float>(rgb.rows));
    face.score = 1.f;
    return {face};
  }
  std::string name() const override { return "none"; }
};

}  // namespace

void check_rgb(const cv::Mat& rgb, const char* what) {
  FACEAGE_CHECK(!rgb.empty(), ErrorCode::kInvalidArgument, what << ": the image is empty");
  FACEAGE_CHECK(rgb.type() == CV_8UC3, ErrorCode::kInvalidArgument,
                what << ": expected an 8-bit 3-channel RGB image (CV_8UC3), got type " << rgb.type() << " with "
                     << rgb.channels() << " channel(s)");
}

void validate(const DetectorOptions& options) {
  FACEAGE_CHECK(options.score_threshold >= 0.f && options.score_threshold <= 1.f, ErrorCode::kInvalidArgument,
                "detector_options.score_threshold must be in [0, 1], got " << options.score_threshold);
  FACEAGE_CHECK(options.nms_threshold > 0.f && options.nms_threshold <= 1.f, ErrorCode::kInvalidArgument,
                "detector_options.nms_threshold must be in (0, 1], got " << options.nms_threshold);
  FACEAGE_CHECK(options.top_k > 0, ErrorCode::kInvalidArgument,
                "detector_options.top_k must be positive, got " << options.top_k);
  FACEAGE_CHECK(options.input_min_scale > 0.f && options.input_min_scale <= 4.f, ErrorCode::kInvalidArgument,
                "detector_options.input_min_scale must be in (0, 4], got " << options.input_min_scale);
  FACEAGE_CHECK(options.refine_face_size >= 0, ErrorCode::kInvalidArgument,
                "detector_options.refine_face_size must be >= 0, got " << options.refine_face_size);
  FACEAGE_CHECK(options.min_face_size >= 0, ErrorCode::kInvalidArgument,
                "detector_options.min_face_size must be >= 0, got " << options.min_face_size);
  FACEAGE_CHECK(options.upsample >= 0 && options.upsample <= 3, ErrorCode::kInvalidArgument,
                "detector_options.upsample must be in [0, 3], got " << options.upsample);
  FACEAGE_CHECK(options.max_side == 0 || options.max_side >= 80, ErrorCode::kInvalidArgument,
                "detector_options.max_side must be 0 (no downscaling) or >= 80, got " << options.max_side);
}

std::string resolve_yunet_model(const DetectorOptions& options) {
  if (!options.model_path.empty()) return options.model_path;
  if (const char* env = std::getenv(kYunetModelEnv); env && *env) return env;
  return find_shipped_path(kShippedYunetDir);
}

std::string detector_model_id(const std::string& detector, const DetectorOptions& options) {
  if (detector == "dlib-hog") return resolve_dlib_landmarks(options);
  if (detector == "yunet-dlib68") {
    return detector_model_id("yunet", options) + resolve_dlib_landmarks(options) + "; " + yunet_dlib_landmarks_rule();
  }
  if (detector != "yunet") return {};
  const std::string path = resolve_yunet_model(options);
  std::error_code ec;
  std::vector<std::string> files;
  if (std::filesystem::is_directory(path, ec)) {
    for (const auto& entry : std::filesystem::directory_iterator(path, ec)) {
      if (entry.path().extension() == ".onnx") files.push_back(entry.path().string());
    }
  } else if (std::filesystem::is_regular_file(path, ec)) {
    files.push_back(path);
  }
  std::sort(files.begin(), files.end());
  std::string id;
  for (const std::string& file : files) {
    id += std::filesystem::path(file).filename().string() + ":" + sha256_file(file) + " ";
  }
  return id;
}

std::string resolve_dlib_landmarks(const DetectorOptions& options) {
  if (options.landmarks_model == "none") return {};
  if (!options.landmarks_model.empty()) return options.landmarks_model;
  std::error_code ec;
  return std::filesystem::exists(kDefaultDlibLandmarks, ec) ? std::string(kDefaultDlibLandmarks) : std::string();
}

std::string landmark_licence_note(const std::string& detector) {
  if (detector != "dlib-hog" && detector != "yunet-dlib68") return {};
  return "crops aligned with dlib's 68-point landmark model (iBUG 300-W: non-commercial use only)";
}

void register_builtin_detectors(DetectorRegistry& registry) {
  registry.add("yunet", make_yunet_detector, "OpenCV FaceDetectorYN (YuNet ONNX model; box, 5 landmarks, score)");
  registry.add("dlib-hog", make_dlib_hog_detector,
               "dlib HOG frontal face detector; 5 landmarks from the 68-point shape predictor when installed");
  registry.add("yunet-dlib68", make_yunet_dlib_landmarks_detector,
               "YuNet's faces with 5 landmarks from dlib's 68-point shape predictor (steadier crops)");
  registry.add("none", [](const DetectorOptions&) -> std::unique_ptr<FaceDetector> {
    return std::make_unique<WholeImageDetector>();
  }, "no detection: the input already is a face crop");
}

const DetectorRegistry& builtin_detectors() {
  static const DetectorRegistry registry = [] {
    DetectorRegistry r("detector");
    register_builtin_detectors(r);
    return r;
  }();
  return registry;
}

}  // namespace faceage::face
