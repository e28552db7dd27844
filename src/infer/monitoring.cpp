#include "faceage/infer/monitoring.hpp"

#include <cmath>

namespace faceage::infer {

monitor::LoggedFace logged_face(const ImagePrediction& image, const FacePrediction& face) {
  monitor::LoggedFace logged;
  auto& in = logged.input;
  in.image_width = image.width;
  in.image_height = image.height;
  in.face_width = face.box.width;
  in.face_height = face.box.height;
  const auto& q = face.quality;
  in.brightness = q.brightness;
  in.contrast = q.contrast;
  in.sharpness = q.sharpness;
  in.colourfulness = q.colourfulness;
  // The quality score's grayscale test uses the same threshold (FaceQualityOptions::colourless).
  in.grayscale = q.grayscale;
  in.detector_score = q.detector_score;
  in.pose = q.yaw;
  auto& out = logged.output;
  out.age = face.age;
  out.interval_width = face.age_high - face.age_low;
  // NaN (stored as NULL) without a gender head: no feature value rather than a made-up one.
  out.gender_probability = face.female_prob ? *face.female_prob : std::nan("");
  return logged;
}

std::vector<monitor::LoggedFace> logged_faces(const ImagePrediction& image) {
  std::vector<monitor::LoggedFace> faces;
  if (!image.ok()) return faces;
  faces.reserve(image.faces.size());
  for (const auto& face : image.faces) faces.push_back(logged_face(image, face));
  return faces;
}

}  // namespace faceage::infer
