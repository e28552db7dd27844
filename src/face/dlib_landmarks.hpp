#pragma once
// Private: dlib's 68-point shape predictor reduced to YuNet's five points, shared by the detectors
// that align with it ("dlib-hog", "yunet-dlib68").
#include <array>
#include <memory>
#include <string>

#include <dlib/image_processing/shape_predictor.h>
#include <opencv2/core.hpp>

namespace faceage::face {

class DlibLandmarker {
 public:
  // Reads the .dat file (~100 MB, ~0.5 s; ~80 MB in memory), or shares the copy another
  // landmarker of the same file holds: kNotFound when it cannot be opened, kModel when it is not a
  // 68-point shape predictor.
  explicit DlibLandmarker(const std::string& path);
  // Five points in LandmarkIndex order from the face inside `box` (the box the predictor was
  // trained with: dlib's HOG detector's). gray: CV_8UC1, the whole image.
  std::array<cv::Point2f, 5> five_points(const cv::Mat& gray, const cv::Rect2f& box) const;

 private:
  std::shared_ptr<const dlib::shape_predictor> predictor_;
};

}  // namespace faceage::face
