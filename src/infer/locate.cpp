#include "faceage/infer/locate.hpp"

#include <algorithm>
#include <new>
#include <optional>

namespace faceage::infer {

ImagePrediction failed_prediction(const std::string& source, PredictionError error) {
  ImagePrediction prediction;
  prediction.source = source;
  prediction.error = std::move(error);
  return prediction;
}

// The error of the exception being handled, as a per-image record states it: bad input never ends
// a batch or a request.
PredictionError current_error(const std::string& source) {
  try {
    throw;
  } catch (const Error& e) {
    return {e.code(), e.full_message()};
  } catch (const cv::Exception& e) {
    return {ErrorCode::kUnreadableImage, source + ": image processing failed: " + e.what()};
  } catch (const std::bad_alloc&) {
    return {ErrorCode::kTooLarge, source + ": out of memory while processing the image"};
  } catch (const std::exception& e) {
    return {ErrorCode::kInternal, source + ": " + e.what()};
  } catch (...) {
    return {ErrorCode::kInternal, source + ": unknown failure"};
  }
}

// The located (not yet answered) record of one image from its face-pipeline records, largest
// face first (ties keep the pipeline's left-to-right order); crops appended in face order.
ImagePrediction located_prediction(const cv::Mat& rgb, const std::string& source,
                                   std::vector<face::FaceRecord>&& records, std::vector<cv::Mat>& crops,
                                   const face::FaceQualityOptions& quality_options) {
  std::stable_sort(records.begin(), records.end(), [](const face::FaceRecord& a, const face::FaceRecord& b) {
    return a.box.area() > b.box.area();
  });
  ImagePrediction prediction;
  prediction.source = source;
  prediction.width = rgb.cols;
  prediction.height = rgb.rows;
  for (auto& record : records) {
    FacePrediction face;
    face.face = static_cast<int>(prediction.faces.size());
    face.box = record.box;
    face.landmarks = record.landmarks;
    face.has_landmarks = record.has_landmarks;
    face.detector_score = record.score;
    face.face_source = record.source;
    // A whole-image crop has no detector verdict; its score says nothing about the face.
    const bool detected = record.source != "whole_image";
    face.quality = face::assess_face_quality(
        record.aligned, std::min(record.box.width, record.box.height),
        record.has_landmarks ? std::optional<std::array<cv::Point2f, 5>>(record.landmarks) : std::nullopt,
        detected ? std::optional<double>(record.score) : std::nullopt, quality_options);
    prediction.faces.push_back(face);
    crops.push_back(std::move(record.aligned));
  }
  return prediction;
}

}  // namespace faceage::infer
