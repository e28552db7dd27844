#pragma once
// The face pipeline that training and inference both go through:
//   detect -> (no face) retry on a padded copy -> (still none) whole-image fallback for images
//   that look like tight face crops -> select faces -> align each to the canonical template.
// The options are stored inside model bundles (to_json / face_pipeline_from_json) so serving
// aligns faces exactly as training did.
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
  // The default works from Debian packages alone; use "yunet" when a model path is configured.
  std::string detector = "dlib-hog";
  DetectorOptions detector_options;
  int crop_size = 200;  // aligned crop size (the model resizes further per its PreprocessSpec)
  AlignmentTemplate alignment = utkface_template();
  FaceSelection selection = FaceSelection::kAll;
  float pad_retry_fraction = 0.5f;  // retry on an image padded by this fraction per side; 0: off
  // When no face is found even after the padded retry, treat the whole image as the face, but
  // only if it looks like a tight face crop: aspect ratio (w/h) within [min, max] and longest
  // side <= whole_image_max_side. Anything else is a kNoFace error.
  bool whole_image_fallback = true;
  float whole_image_min_aspect = 0.75f;
  float whole_image_max_aspect = 1.33f;
  int whole_image_max_side = 512;
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
  std::string source;  // "detector" | "padded_retry" | "whole_image"
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

  // rgb: CV_8UC3 RGB. Throws Error(kNoFace) when no face is found and the whole-image fallback
  // does not apply; `label` (e.g. the file name) goes into that message.
  std::vector<FaceRecord> process(const cv::Mat& rgb, const std::string& label = {});
  const FacePipelineOptions& options() const { return options_; }
  FaceDetector& detector() { return *detector_; }

 private:
  FacePipelineOptions options_;
  std::unique_ptr<FaceDetector> detector_;
};

}  // namespace faceage::face
