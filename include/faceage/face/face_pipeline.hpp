#pragma once
// The face pipeline that training and inference both go through:
//   detect -> (no face) retry on a padded copy -> (still none) the whole image as the face, but
//   only for images that look like tight face crops AND pass a face check -> select faces ->
//   align each to the canonical template. Anything else is a kNoFace error: no guesses on blank,
//   noise or tiny images. The options are stored inside model bundles (to_json /
//   face_pipeline_from_json) so serving aligns faces exactly as training did.
//
// Not thread-safe (it owns a detector): make one FacePipeline per thread.
#include <array>
#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>
#include <opencv2/core.hpp>

#include "faceage/face/align.hpp"
#include "faceage/face/detector.hpp"

namespace faceage::face {

enum class FaceSelection {
  kLargest,        // one face: the largest box area
  kMostConfident,  // one face: the highest detector score
  kAll,            // every face, sorted left to right by box centre x
};

const char* face_selection_name(FaceSelection selection);            // "largest", "most_confident", "all"
FaceSelection face_selection_from_name(const std::string& name);     // kInvalidArgument listing names

// Applies a selection: kLargest / kMostConfident keep one face (ties: the first), kAll sorts
// left to right by box centre x. An empty input stays empty.
std::vector<FaceDetection> select_faces(std::vector<FaceDetection> faces, FaceSelection selection);

struct FacePipelineOptions {
  // YuNet, shipped with faceage (models/face/); "dlib-hog" needs only Debian packages; "none":
  // the input already is a face crop.
  std::string detector = "yunet";
  DetectorOptions detector_options;
  int crop_size = 200;  // aligned crop size (the model resizes further per its PreprocessSpec)
  AlignmentTemplate alignment = utkface_template();
  FaceSelection selection = FaceSelection::kAll;
  int min_image_side = 16;          // smaller images are kNoFace at once (no detector runs)
  float pad_retry_fraction = 0.5f;  // retry on an image padded by this fraction per side; 0: off
  // When no face is found even after the padded retry, the whole image is the face (source
  // "crop_fallback") only if it looks like a tight face crop -- aspect ratio (w/h) within
  // [crop_min_aspect, crop_max_aspect], longest side in [crop_min_side, crop_max_side] -- and a
  // face check passes: the detector, with the lower thresholds below, finds on the padded copy a
  // face centred in the image whose box side is >= crop_check_min_fraction of the image's
  // shorter side. Anything else is a kNoFace error.
  bool crop_fallback = true;
  float crop_min_aspect = 0.75f;
  float crop_max_aspect = 1.33f;
  int crop_min_side = 32;
  int crop_max_side = 512;
  float crop_check_score = 0.3f;          // yunet score threshold of the face check
  float crop_check_hog_threshold = -0.4f;  // dlib-hog hog_threshold of the face check
  float crop_check_min_fraction = 0.3f;
};
void validate(const FacePipelineOptions& options);  // kInvalidArgument naming the key

nlohmann::json to_json(const FacePipelineOptions& options);
// Missing keys keep their defaults; wrong types or unknown enum names are kConfig.
FacePipelineOptions face_pipeline_from_json(const nlohmann::json& json);

struct FaceRecord {
  int index = 0;  // position in the returned list
  cv::Rect2f box;  // in image pixels
  std::array<cv::Point2f, 5> landmarks;  // image pixels; valid only when has_landmarks
  bool has_landmarks = false;
  float score = 0.f;
  std::string source;  // "detector" | "padded_retry" | "crop_fallback"
  cv::Mat aligned;     // crop_size x crop_size CV_8UC3 RGB
  std::array<cv::Point2f, 5> aligned_landmarks;  // landmarks in crop pixels (for augmentation); zero
                                                 // unless has_landmarks
  cv::Matx23d transform = cv::Matx23d::zeros();  // image pixels -> crop pixels
};

class FacePipeline {
 public:
  // Validates the options and builds the detector (kNotFound for unknown detector names or
  // missing model files).
  explicit FacePipeline(const FacePipelineOptions& options);
  ~FacePipeline();
  FacePipeline(FacePipeline&&) noexcept;
  FacePipeline& operator=(FacePipeline&&) noexcept;

  // rgb: CV_8UC3 RGB. Throws Error(kNoFace) when no face is found and the crop fallback does
  // not apply; `label` (e.g. the file name) goes into that message.
  std::vector<FaceRecord> process(const cv::Mat& rgb, const std::string& label = {});
  const FacePipelineOptions& options() const { return options_; }
  FaceDetector& detector() { return *detector_; }

 private:
  // Faces the detector finds on a copy padded by pad_retry_fraction, in `rgb`'s pixels.
  std::vector<FaceDetection> detect_padded(FaceDetector& detector, const cv::Mat& rgb) const;
  bool looks_like_crop(const cv::Mat& rgb) const;
  // The crop fallback's face check (a lower-threshold detector, built on first use).
  bool passes_face_check(const cv::Mat& rgb, float* score);

  FacePipelineOptions options_;
  std::unique_ptr<FaceDetector> detector_;
  std::unique_ptr<FaceDetector> check_detector_;
};

}  // namespace faceage::face
