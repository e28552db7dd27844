#include "faceage/monitor/face_stats.hpp"

#include <cmath>

#include <opencv2/imgproc.hpp>

#include "faceage/core/error.hpp"
#include "faceage/face/quality.hpp"

namespace faceage::monitor {

FaceInputStats measure_face(const cv::Mat& crop, const FaceGeometry& geometry) {
  // The same measurements as the quality score's (face/quality.hpp), on OpenCV's BGR order.
  const auto measured = face::crop_statistics(crop, face::ChannelOrder::kBgr);
  FaceInputStats stats;
  stats.image_width = geometry.image_width;
  stats.image_height = geometry.image_height;
  stats.face_width = geometry.face_width;
  stats.face_height = geometry.face_height;
  stats.detector_score = geometry.detector_score;
  if (geometry.landmarks) stats.pose = face::yaw_proxy(*geometry.landmarks);
  stats.brightness = measured.brightness;
  stats.contrast = measured.contrast;
  stats.sharpness = measured.sharpness;
  stats.colourfulness = measured.colourfulness;
  stats.grayscale = crop.channels() == 1 || stats.colourfulness < kGrayscaleColourfulness;
  return stats;
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
