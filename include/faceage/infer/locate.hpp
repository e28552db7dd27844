#pragma once
// Step 1 of every prediction, with no model involved: a decoded image's face-pipeline records turned
// into the located record (faces largest first, quality assessed, no answers yet) and its aligned
// crops, and per-image failures turned into error records. The Predictor runs these, and so does the
// classical baseline (faceage/baseline), so both order faces and report failures ("no_face",
// "unreadable_image", ...) alike. Torch-free.
#include <string>
#include <utility>
#include <vector>

#include <opencv2/core.hpp>

#include "faceage/face/face_pipeline.hpp"
#include "faceage/face/quality.hpp"
#include "faceage/infer/predictor.hpp"

namespace faceage::infer {

// A record holding only `error`.
ImagePrediction failed_prediction(const std::string& source, PredictionError error);

// The error of the exception being handled, as a per-image record states it (Error keeps its code;
// cv::Exception is kUnreadableImage, bad_alloc kTooLarge, anything else kInternal): bad input never
// ends a batch or a request. Call only inside a catch block.
PredictionError current_error(const std::string& source);

// Runs `work` (returning an ImagePrediction), turning any failure into the image's error record.
template <class Work>
ImagePrediction guarded(const std::string& source, Work&& work) {
  try {
    return std::forward<Work>(work)();
  } catch (...) {
    return failed_prediction(source, current_error(source));
  }
}

// The located (not yet answered) record of one image from its face-pipeline records, largest face
// first (ties keep the pipeline's left-to-right order); each face's aligned crop is appended to
// `crops` in face order.
ImagePrediction located_prediction(const cv::Mat& rgb, const std::string& source,
                                   std::vector<face::FaceRecord>&& records, std::vector<cv::Mat>& crops,
                                   const face::FaceQualityOptions& quality_options);

}  // namespace faceage::infer
