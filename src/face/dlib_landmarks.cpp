#include "face/dlib_landmarks.hpp"

#include <cmath>
#include <filesystem>
#include <fstream>
#include <map>
#include <mutex>

#include <dlib/opencv/cv_image.h>

#include "faceage/core/check.hpp"
#include "faceage/face/detector.hpp"

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

std::shared_ptr<const dlib::shape_predictor> read_shape_predictor(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    throw Error(ErrorCode::kNotFound, "dlib landmark model '" + path + "' cannot be opened",
                "set detector_options.landmarks_model to shape_predictor_68_face_landmarks.dat "
                "(Debian package libdlib-data), or to none where the detector may run without dlib landmarks");
  }
  auto predictor = std::make_shared<dlib::shape_predictor>();
  try {
    dlib::deserialize(*predictor, in);
  } catch (const std::exception& e) {
    throw Error(ErrorCode::kModel, "cannot load dlib landmark model '" + path + "': " + e.what(),
                "the file must be dlib's 68-point shape predictor");
  }
  FACEAGE_CHECK(predictor->num_parts() == 68, ErrorCode::kModel,
                "dlib landmark model '" << path << "' has " << predictor->num_parts()
                                        << " parts; the 68-point model is required");
  return predictor;
}

// Face pipelines are one per worker (infer/pipeline_pool.hpp) and each detector would otherwise
// hold its own ~80 MB copy. dlib documents that one shape predictor may be used from many threads
// at once, so landmarkers of one file share a copy while any of them is alive; the last one to go
// frees it. Read-only data: sharing changes no answer.
std::shared_ptr<const dlib::shape_predictor> shared_shape_predictor(const std::string& path) {
  static std::mutex mutex;
  static std::map<std::string, std::weak_ptr<const dlib::shape_predictor>> loaded;
  std::error_code ec;
  const std::string key = std::filesystem::weakly_canonical(path, ec).string();
  std::lock_guard<std::mutex> lock(mutex);
  std::weak_ptr<const dlib::shape_predictor>& slot = loaded[ec ? path : key];
  if (auto alive = slot.lock()) return alive;
  auto predictor = read_shape_predictor(path);
  slot = predictor;
  return predictor;
}

}  // namespace

DlibLandmarker::DlibLandmarker(const std::string& path) : predictor_(shared_shape_predictor(path)) {}

std::array<cv::Point2f, 5> DlibLandmarker::five_points(const cv::Mat& gray, const cv::Rect2f& box) const {
  dlib::cv_image<unsigned char> image(gray);
  const dlib::rectangle rect(std::lround(box.x), std::lround(box.y), std::lround(box.x + box.width) - 1,
                             std::lround(box.y + box.height) - 1);
  const dlib::full_object_detection shape = (*predictor_)(image, rect);
  // 36-41: subject's right eye (smaller x in a frontal image), 42-47: left eye, 30: nose tip,
  // 48/54: right/left mouth corner -- YuNet's order.
  std::array<cv::Point2f, 5> points;
  points[kRightEye] = mean_point(shape, 36, 41);
  points[kLeftEye] = mean_point(shape, 42, 47);
  points[kNoseTip] = to_point(shape.part(30));
  points[kRightMouth] = to_point(shape.part(48));
  points[kLeftMouth] = to_point(shape.part(54));
  return points;
}

}  // namespace faceage::face
