#include "faceage/monitor/face_stats.hpp"

#include <cmath>

#include <opencv2/imgproc.hpp>

#include "faceage/core/error.hpp"

namespace faceage::monitor {
namespace {

// Sharpness is measured at one size so that large and small faces compare.
constexpr int kSharpnessSide = 128;

double colourfulness_of(const cv::Mat& bgr) {
  cv::Mat f;
  bgr.convertTo(f, CV_32F);
  std::vector<cv::Mat> ch;
  cv::split(f, ch);  // B, G, R
  const cv::Mat rg = ch[2] - ch[1];
  const cv::Mat yb = 0.5 * (ch[2] + ch[1]) - ch[0];
  cv::Scalar rg_mean, rg_std, yb_mean, yb_std;
  cv::meanStdDev(rg, rg_mean, rg_std);
  cv::meanStdDev(yb, yb_mean, yb_std);
  return std::hypot(rg_std[0], yb_std[0]) + 0.3 * std::hypot(rg_mean[0], yb_mean[0]);
}

}  // namespace

FaceInputStats measure_face(const cv::Mat& crop, const FaceGeometry& geometry) {
  if (crop.empty()) throw Error(ErrorCode::kInvalidArgument, "face statistics need a non-empty crop");
  if (crop.depth() != CV_8U || (crop.channels() != 1 && crop.channels() != 3 && crop.channels() != 4))
    throw Error(ErrorCode::kInvalidArgument,
                "face statistics need an 8-bit gray, BGR or BGRA crop (got type " + std::to_string(crop.type()) + ")");
  FaceInputStats stats;
  stats.image_width = geometry.image_width;
  stats.image_height = geometry.image_height;
  stats.face_width = geometry.face_width;
  stats.face_height = geometry.face_height;
  stats.detector_score = geometry.detector_score;
  if (geometry.landmarks) stats.pose = pose_proxy(*geometry.landmarks);

  cv::Mat bgr, gray;
  if (crop.channels() == 1) {
    gray = crop;
  } else {
    bgr = crop;
    if (crop.channels() == 4) cv::cvtColor(crop, bgr, cv::COLOR_BGRA2BGR);
    cv::cvtColor(bgr, gray, cv::COLOR_BGR2GRAY);
  }
  cv::Scalar mean, std_dev;
  cv::meanStdDev(gray, mean, std_dev);
  stats.brightness = mean[0];
  stats.contrast = std_dev[0];

  cv::Mat small, laplacian;
  cv::resize(gray, small, cv::Size(kSharpnessSide, kSharpnessSide), 0, 0,
             gray.cols >= kSharpnessSide ? cv::INTER_AREA : cv::INTER_LINEAR);
  cv::Laplacian(small, laplacian, CV_64F);
  cv::meanStdDev(laplacian, mean, std_dev);
  stats.sharpness = std_dev[0] * std_dev[0];

  stats.colourfulness = bgr.empty() ? 0.0 : colourfulness_of(bgr);
  stats.grayscale = stats.colourfulness < kGrayscaleColourfulness;
  return stats;
}

std::optional<double> pose_proxy(const std::array<cv::Point2f, 5>& landmarks) {
  const cv::Point2f right_eye = landmarks[0], left_eye = landmarks[1], nose = landmarks[2];
  const double eye_distance = std::hypot(left_eye.x - right_eye.x, left_eye.y - right_eye.y);
  if (!(eye_distance > 1e-6)) return std::nullopt;
  return (nose.x - 0.5 * (right_eye.x + left_eye.x)) / eye_distance;
}

const std::vector<Feature>& monitored_features() {
  using F = std::optional<double>;
  static const std::vector<Feature> kFeatures = {
      {"image_megapixels", "decoded image size, megapixels",
       [](const LoggedFace& f) -> F { return f.input.image_width * static_cast<double>(f.input.image_height) / 1e6; }},
      {"face_size", "square root of the face box area, pixels",
       [](const LoggedFace& f) -> F { return std::sqrt(f.input.face_width * f.input.face_height); }},
      {"brightness", "mean luma of the crop (0-255)", [](const LoggedFace& f) -> F { return f.input.brightness; }},
      {"contrast", "standard deviation of the crop's luma", [](const LoggedFace& f) -> F { return f.input.contrast; }},
      {"sharpness_log10", "log10(1 + variance of the Laplacian at 128x128)",
       [](const LoggedFace& f) -> F { return std::log10(1.0 + f.input.sharpness); }},
      {"colourfulness", "Hasler-Suesstrunk colourfulness", [](const LoggedFace& f) -> F { return f.input.colourfulness; }},
      {"grayscale", "1 for a grayscale crop, else 0", [](const LoggedFace& f) -> F { return f.input.grayscale ? 1.0 : 0.0; }},
      {"detector_score", "the detector's confidence", [](const LoggedFace& f) -> F { return f.input.detector_score; }},
      {"pose_yaw", "|nose offset from the eyes' midpoint| in eye distances",
       [](const LoggedFace& f) -> F { return f.input.pose ? F(std::abs(*f.input.pose)) : std::nullopt; }},
      {"age", "predicted age, years", [](const LoggedFace& f) -> F { return f.output.age; }},
      {"interval_width", "width of the calibrated age interval, years",
       [](const LoggedFace& f) -> F { return f.output.interval_width; }},
      {"gender_probability", "probability of female", [](const LoggedFace& f) -> F { return f.output.gender_probability; }},
  };
  return kFeatures;
}

std::vector<std::pair<std::string, std::vector<double>>> feature_values(const std::vector<LoggedFace>& faces) {
  std::vector<std::pair<std::string, std::vector<double>>> out;
  for (const auto& feature : monitored_features()) {
    std::vector<double> values;
    values.reserve(faces.size());
    for (const auto& face : faces) {
      const auto v = feature.value(face);
      if (v && std::isfinite(*v)) values.push_back(*v);
    }
    out.emplace_back(feature.name, std::move(values));
  }
  return out;
}

}  // namespace faceage::monitor
