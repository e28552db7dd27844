#include "faceage/face/align.hpp"

#include <cmath>

#include <opencv2/imgproc.hpp>

#include "faceage/core/check.hpp"

namespace faceage::face {

AlignmentTemplate utkface_template() {
  // Fitted on 500 UTKFace aligned 200x200 crops (every ~30th file of the sorted list) with
  //   faceage face fit-template --data ../shared/data/utkface --n 500 --check 200
  //       --yunet-model ../shared/weights/yunet.onnx
  // points = mean of YuNet's and dlib-hog's mean landmark positions (YuNet 499/500 crops found,
  // dlib 493/500; the two means differ by <= 4.7 px at 200 px). boxes = each detector's mean box.
  // Results and the check on 200 other crops: docs/face.md.
  AlignmentTemplate t;
  t.crop_size = 200;
  t.points = {cv::Point2f(0.2941f, 0.2983f), cv::Point2f(0.6943f, 0.2956f), cv::Point2f(0.4974f, 0.5228f),
              cv::Point2f(0.3129f, 0.6949f), cv::Point2f(0.6696f, 0.6926f)};
  t.boxes = {{"dlib-hog", cv::Rect2f(0.0533f, 0.0422f, 0.9092f, 0.9137f)},
             {"yunet", cv::Rect2f(0.0808f, 0.0050f, 0.8140f, 0.8575f)}};
  return t;
}

nlohmann::json to_json(const AlignmentTemplate& alignment) {
  nlohmann::json points = nlohmann::json::array();
  for (const auto& p : alignment.points) points.push_back({p.x, p.y});
  nlohmann::json boxes = nlohmann::json::object();
  for (const auto& b : alignment.boxes) boxes[b.convention] = {b.box.x, b.box.y, b.box.width, b.box.height};
  return {{"points", points}, {"crop_size", alignment.crop_size}, {"boxes", boxes}};
}

AlignmentTemplate alignment_template_from_json(const nlohmann::json& json) {
  AlignmentTemplate t;
  try {
    const auto& points = json.at("points");
    FACEAGE_CHECK(points.is_array() && points.size() == 5, ErrorCode::kConfig,
                  "alignment.points must be a list of 5 [x, y] pairs");
    for (std::size_t i = 0; i < 5; ++i) {
      FACEAGE_CHECK(points[i].is_array() && points[i].size() == 2, ErrorCode::kConfig,
                    "alignment.points[" << i << "] must be an [x, y] pair");
      t.points[i] = cv::Point2f(points[i][0].get<float>(), points[i][1].get<float>());
    }
    t.crop_size = json.value("crop_size", 200);
    if (json.contains("boxes")) {
      for (const auto& [name, b] : json.at("boxes").items()) {
        FACEAGE_CHECK(b.is_array() && b.size() == 4, ErrorCode::kConfig,
                      "alignment.boxes." << name << " must be [x, y, width, height]");
        t.boxes.push_back({name, cv::Rect2f(b[0].get<float>(), b[1].get<float>(), b[2].get<float>(), b[3].get<float>())});
      }
    }
  } catch (const nlohmann::json::exception& e) {
    throw Error(ErrorCode::kConfig, std::string("malformed alignment template: ") + e.what());
  }
  return t;
}

cv::Matx23d estimate_similarity(const std::vector<cv::Point2f>& src, const std::vector<cv::Point2f>& dst) {
  FACEAGE_CHECK(src.size() == dst.size(), ErrorCode::kInvalidArgument,
                "estimate_similarity: " << src.size() << " source points but " << dst.size() << " target points");
  FACEAGE_CHECK(src.size() >= 2, ErrorCode::kInvalidArgument, "estimate_similarity needs at least 2 point pairs");
  const double n = static_cast<double>(src.size());
  double msx = 0, msy = 0, mdx = 0, mdy = 0;
  for (std::size_t i = 0; i < src.size(); ++i) {
    msx += src[i].x; msy += src[i].y; mdx += dst[i].x; mdy += dst[i].y;
  }
  msx /= n; msy /= n; mdx /= n; mdy /= n;
  // Umeyama's closed form specialised to 2-D without reflection: with centred points the
  // transform is [a -b; b a], a = sum(s.d) / sum|s|^2, b = sum(s x d) / sum|s|^2.
  double ss = 0, dot = 0, cross = 0;
  for (std::size_t i = 0; i < src.size(); ++i) {
    const double sx = src[i].x - msx, sy = src[i].y - msy;
    const double dx = dst[i].x - mdx, dy = dst[i].y - mdy;
    ss += sx * sx + sy * sy;
    dot += sx * dx + sy * dy;
    cross += sx * dy - sy * dx;
  }
  FACEAGE_CHECK(ss > 1e-9 * n, ErrorCode::kInvalidArgument,
                "estimate_similarity: the source points coincide, so no transform is defined");
  const double a = dot / ss, b = cross / ss;
  return cv::Matx23d(a, -b, mdx - (a * msx - b * msy),
                     b, a, mdy - (b * msx + a * msy));
}

void validate(const AlignOptions& options) {
  FACEAGE_CHECK(options.crop_size >= 8 && options.crop_size <= 4096, ErrorCode::kInvalidArgument,
                "crop_size must be in [8, 4096], got " << options.crop_size);
  FACEAGE_CHECK(options.border_mode == cv::BORDER_CONSTANT || options.border_mode == cv::BORDER_REPLICATE ||
                    options.border_mode == cv::BORDER_REFLECT || options.border_mode == cv::BORDER_REFLECT_101,
                ErrorCode::kInvalidArgument, "border_mode must be constant, replicate or reflect");
}

namespace {

cv::Rect2f calibrated_box(const AlignOptions& options) {
  if (options.box_convention == "whole_image") return cv::Rect2f(0.f, 0.f, 1.f, 1.f);
  for (const auto& b : options.alignment.boxes) {
    if (b.convention == options.box_convention) return b.box;
  }
  FACEAGE_CHECK(!options.alignment.boxes.empty(), ErrorCode::kInvalidArgument,
                "the alignment template has no box calibration, so faces without landmarks cannot be aligned");
  return options.alignment.boxes.front().box;
}

}  // namespace

cv::Matx23d alignment_transform(const FaceDetection& face, const AlignOptions& options) {
  const double size = options.crop_size;
  if (face.has_landmarks) {
    std::vector<cv::Point2f> src(face.landmarks.begin(), face.landmarks.end());
    std::vector<cv::Point2f> dst;
    dst.reserve(5);
    for (const auto& p : options.alignment.points) dst.emplace_back(p.x * size, p.y * size);
    return estimate_similarity(src, dst);
  }
  FACEAGE_CHECK(face.box.width > 0 && face.box.height > 0, ErrorCode::kInvalidArgument,
                "cannot align a face with an empty box and no landmarks");
  // Uniform scale (mean side to mean side) and centre to centre: boxes are near-square, and a
  // non-uniform scale would distort the face.
  const cv::Rect2f target = calibrated_box(options);
  const double scale = (target.width + target.height) * size / (face.box.width + face.box.height);
  const double cx = face.box.x + face.box.width / 2.0, cy = face.box.y + face.box.height / 2.0;
  const double tx = (target.x + target.width / 2.0) * size, ty = (target.y + target.height / 2.0) * size;
  return cv::Matx23d(scale, 0, tx - scale * cx, 0, scale, ty - scale * cy);
}

cv::Mat align_face(const cv::Mat& rgb, const FaceDetection& face, const AlignOptions& options, cv::Matx23d* transform) {
  check_rgb(rgb, "align_face");
  validate(options);
  const cv::Matx23d m = alignment_transform(face, options);
  cv::Mat out;
  cv::warpAffine(rgb, out, m, cv::Size(options.crop_size, options.crop_size), cv::INTER_LINEAR, options.border_mode,
                 cv::Scalar::all(0));
  if (transform) *transform = m;
  return out;
}

cv::Point2f transform_point(const cv::Matx23d& m, const cv::Point2f& p) {
  return cv::Point2f(static_cast<float>(m(0, 0) * p.x + m(0, 1) * p.y + m(0, 2)),
                     static_cast<float>(m(1, 0) * p.x + m(1, 1) * p.y + m(1, 2)));
}

std::array<cv::Point2f, 5> transform_points(const cv::Matx23d& m, const std::array<cv::Point2f, 5>& points) {
  std::array<cv::Point2f, 5> out;
  for (std::size_t i = 0; i < points.size(); ++i) out[i] = transform_point(m, points[i]);
  return out;
}

}  // namespace faceage::face
