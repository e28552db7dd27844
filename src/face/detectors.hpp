#pragma once
// Private: factories of the built-in detectors (registered in detector.cpp).
#include <memory>

#include "faceage/face/detector.hpp"

namespace faceage::face {

std::unique_ptr<FaceDetector> make_yunet_detector(const DetectorOptions& options);
std::unique_ptr<FaceDetector> make_dlib_hog_detector(const DetectorOptions& options);
std::unique_ptr<FaceDetector> make_yunet_dlib_landmarks_detector(const DetectorOptions& options);

}  // namespace faceage::face
