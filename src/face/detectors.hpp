#pragma once
// Private: factories of the built-in detectors (registered in detector.cpp).
#include <array>
#include <memory>
#include <string>

#include "faceage/face/detector.hpp"

namespace faceage::face {

std::unique_ptr<FaceDetector> make_yunet_detector(const DetectorOptions& options);
std::unique_ptr<FaceDetector> make_dlib_hog_detector(const DetectorOptions& options);
std::unique_ptr<FaceDetector> make_yunet_dlib_landmarks_detector(const DetectorOptions& options);
// yunet-dlib68 keeps dlib's points for a face only where they agree with YuNet's on the eyes (mean
// distance <= kMaxEyeDisagreement of YuNet's box width): dlib's fail on turned faces.
inline constexpr float kMaxEyeDisagreement = 0.1f;
bool dlib_eyes_agree(const FaceDetection& yunet, const std::array<cv::Point2f, 5>& dlib);
// That rule in words: part of the crop cache's key, as it decides crops in code, not options.
std::string yunet_dlib_landmarks_rule();

}  // namespace faceage::face
