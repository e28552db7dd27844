// "dlib-hog": dlib's HOG frontal face detector (no model file) plus 5 landmarks derived from the
// 68-point shape predictor when its .dat file exists (Debian's libdlib-data). HOG is slow on big
// photos, so detection runs on a grey copy downscaled to max_side; landmarks use the full image.
#include <chrono>
#include <fstream>

#include <dlib/image_processing/frontal_face_detector.h>
#include <dlib/image_processing/shape_predictor.h>
#include <dlib/image_transforms/interpolation.h>
#include <dlib/opencv/cv_image.h>
#include <opencv2/imgproc.hpp>

#include "faceage/core/check.hpp"
#include "face/detectors.hpp"

namespace faceage::face {

namespace {

cv::Point2f mean_point(const dlib::full_object_detection& shape, unsigned first, unsigned last) {
  double x = 0, y = 0;
  for (unsigned i = first; i <= last; ++i) {
    x += shape.part(i).x();
    y += shape.part(i).y();
  }
  const double n = last - first + 1;
  return cv::Point2f(static_cast<float>(x / n), static_cast<float>(y / n));
}

cv::Point2f to_point(const dlib::point& p) { return cv::Point2f(static_cast<float>(p.x()), static_cast<float>(p.y())); }

class DlibHogDetector final : public FaceDetector {
 public:
  explicit DlibHogDetector(const DetectorOptions& options) : options_(options) {
    validate(options);
    const std::string path = resolve_dlib_landmarks(options);
    if (!path.empty()) {
      std::ifstream in(path, std::ios::binary);
      if (!in) {
        throw Error(ErrorCode::kNotFound, "dlib landmark model '" + path + "' cannot be opened",
                    "set detector_options.landmarks_model to shape_predictor_68_face_landmarks.dat "
                    "(Debian package libdlib-data) or leave it empty to run without landmarks");
      }
      try {
        dlib::deserialize(predictor_, in);
      } catch (const std::exception& e) {
        throw Error(ErrorCode::kModel, "cannot load dlib landmark model '" + path + "': " + e.what(),
                    "the file must be dlib's 68-point shape predictor");
      }
      FACEAGE_CHECK(predictor_.num_parts() == 68, ErrorCode::kModel,
                    "dlib landmark model '" << path << "' has " << predictor_.num_parts()
                                            << " parts; the 68-point model is required");
      has_predictor_ = true;
    }
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

    dlib::cv_image<unsigned char> full(gray_);
    std::vector<FaceDetection> faces;
    faces.reserve(dets.size());
    for (const auto& det : dets) {
      const dlib::rectangle& r = det.rect;
      FaceDetection face;
      face.box = cv::Rect2f(static_cast<float>(r.left() / scale), static_cast<float>(r.top() / scale),
                            static_cast<float>(r.width() / scale), static_cast<float>(r.height() / scale));
      face.score = static_cast<float>(det.detection_confidence);
      if (std::min(face.box.width, face.box.height) < static_cast<float>(options_.min_face_size)) continue;
      if (has_predictor_) {
        const dlib::rectangle full_rect(std::lround(face.box.x), std::lround(face.box.y),
                                        std::lround(face.box.x + face.box.width) - 1,
                                        std::lround(face.box.y + face.box.height) - 1);
        const dlib::full_object_detection shape = predictor_(full, full_rect);
        // 36-41: subject's right eye (smaller x in a frontal image), 42-47: left eye, 30: nose
        // tip, 48/54: right/left mouth corner -- YuNet's order.
        face.landmarks[kRightEye] = mean_point(shape, 36, 41);
        face.landmarks[kLeftEye] = mean_point(shape, 42, 47);
        face.landmarks[kNoseTip] = to_point(shape.part(30));
        face.landmarks[kRightMouth] = to_point(shape.part(48));
        face.landmarks[kLeftMouth] = to_point(shape.part(54));
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
  dlib::shape_predictor predictor_;
  bool has_predictor_ = false;
  cv::Mat gray_, small_;
  dlib::array2d<unsigned char> pyramid_;
};

}  // namespace

std::unique_ptr<FaceDetector> make_dlib_hog_detector(const DetectorOptions& options) {
  return std::make_unique<DlibHogDetector>(options);
}

}  // namespace faceage::face
