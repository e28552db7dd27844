// "dlib-hog": dlib's HOG frontal face detector (no model file) plus 5 landmarks derived from the
// 68-point shape predictor when its .dat file exists (Debian's libdlib-data). HOG is slow on big
// photos, so detection runs on a grey copy downscaled to max_side; landmarks use the full image.
#include <optional>

#include <dlib/image_processing/frontal_face_detector.h>
#include <dlib/image_transforms/interpolation.h>
#include <dlib/opencv/cv_image.h>
#include <opencv2/imgproc.hpp>

#include "faceage/core/check.hpp"
#include "face/detectors.hpp"
#include "face/dlib_landmarks.hpp"

namespace faceage::face {

namespace {

class DlibHogDetector final : public FaceDetector {
 public:
  explicit DlibHogDetector(const DetectorOptions& options) : options_(options) {
    validate(options);
    const std::string path = resolve_dlib_landmarks(options);
    if (!path.empty()) landmarker_.emplace(path);
    detector_ = dlib::get_frontal_face_detector();
  }

  std::vector<FaceDetection> detect(const cv::Mat& rgb) override {
    check_rgb(rgb, "dlib-hog detector");
    cv::cvtColor(rgb, gray_, cv::COLOR_RGB2GRAY);
    const int longest = std::max(gray_.cols, gray_.rows);
    double scale = 1.0;  // detection image pixels per full-image pixel
    const cv::Mat* detect_on = &gray_;
    if (options_.max_side > 0 && longest > options_.max_side) {
      scale = static_cast<double>(options_.max_side) / longest;
      cv::resize(gray_, small_, cv::Size(), scale, scale, cv::INTER_AREA);
      detect_on = &small_;
    }
    std::vector<dlib::rect_detection> dets;
    if (options_.upsample == 0) {
      dlib::cv_image<unsigned char> view(*detect_on);
      detector_(view, dets, options_.hog_threshold);
    } else {
      dlib::cv_image<unsigned char> view(*detect_on);
      dlib::assign_image(pyramid_, view);
      for (int i = 0; i < options_.upsample; ++i) {
        dlib::pyramid_up(pyramid_);
        scale *= 2.0;
      }
      detector_(pyramid_, dets, options_.hog_threshold);
    }

    std::vector<FaceDetection> faces;
    faces.reserve(dets.size());
    for (const auto& det : dets) {
      const dlib::rectangle& r = det.rect;
      FaceDetection face;
      face.box = cv::Rect2f(static_cast<float>(r.left() / scale), static_cast<float>(r.top() / scale),
                            static_cast<float>(r.width() / scale), static_cast<float>(r.height() / scale));
      face.score = static_cast<float>(det.detection_confidence);
      if (std::min(face.box.width, face.box.height) < static_cast<float>(options_.min_face_size)) continue;
      if (landmarker_) {
        face.landmarks = landmarker_->five_points(gray_, face.box);  // landmarks on the full image
        face.has_landmarks = true;
      }
      faces.push_back(face);
    }
    return faces;
  }

  std::string name() const override { return "dlib-hog"; }

 private:
  DetectorOptions options_;
  dlib::frontal_face_detector detector_;
  std::optional<DlibLandmarker> landmarker_;
  cv::Mat gray_, small_;
  dlib::array2d<unsigned char> pyramid_;
};

}  // namespace

std::unique_ptr<FaceDetector> make_dlib_hog_detector(const DetectorOptions& options) {
  return std::make_unique<DlibHogDetector>(options);
}

}  // namespace faceage::face
