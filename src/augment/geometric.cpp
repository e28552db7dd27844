#include "faceage/augment/geometric.hpp"

#include <algorithm>
#include <cmath>

#include <opencv2/imgproc.hpp>

#include "faceage/core/check.hpp"

namespace faceage::augment {

namespace {

constexpr double kPi = 3.14159265358979323846;

void check_image(const cv::Mat& rgb, const char* what) {
  FACEAGE_CHECK(!rgb.empty(), ErrorCode::kInvalidArgument, what << ": the image is empty");
  FACEAGE_CHECK(rgb.type() == CV_8UC3, ErrorCode::kInvalidArgument,
                what << ": expected an 8-bit 3-channel RGB image (CV_8UC3), got type " << rgb.type()
                     << " with " << rgb.channels() << " channels");
}

}  // namespace

bool is_identity(const FlipParams& flip, const AffineParams& affine) {
  return !flip.flip && affine.angle_deg == 0.0 && affine.scale == 1.0 && affine.aspect == 1.0 &&
         affine.tx == 0.0 && affine.ty == 0.0;
}

cv::Matx23d geometric_matrix(cv::Size src, cv::Size dst, const FlipParams& flip, const AffineParams& affine) {
  // Centres in pixel-centre coordinates; mapping centre to centre with factor dst/src is exactly
  // cv::resize's half-pixel-aligned mapping, so the identity params reproduce a plain resize.
  const double csx = (src.width - 1) * 0.5, csy = (src.height - 1) * 0.5;
  const double cdx = (dst.width - 1) * 0.5, cdy = (dst.height - 1) * 0.5;
  const double stretch = std::sqrt(affine.aspect);
  // Diagonal factors commute: flip, resize, zoom and stretch fold into one per-axis factor.
  const double fx = (flip.flip ? -1.0 : 1.0) * (static_cast<double>(dst.width) / src.width) * affine.scale * stretch;
  const double fy = (static_cast<double>(dst.height) / src.height) * affine.scale / stretch;
  // Exact values for multiples of 90 degrees keep such rotations lossless.
  double c = 1.0, s = 0.0;
  const double quarter = affine.angle_deg / 90.0;
  if (quarter == std::round(quarter)) {
    const int q = ((static_cast<int>(std::round(quarter)) % 4) + 4) % 4;
    const double cs[4] = {1, 0, -1, 0}, sn[4] = {0, 1, 0, -1};
    c = cs[q];
    s = sn[q];
  } else {
    const double a = affine.angle_deg * kPi / 180.0;
    c = std::cos(a);
    s = std::sin(a);
  }
  // Rotation counter-clockwise as displayed (y points down): [c s; -s c], as cv::getRotationMatrix2D.
  const double a00 = c * fx, a01 = s * fy;
  const double a10 = -s * fx, a11 = c * fy;
  const double tx = cdx + affine.tx * dst.width - (a00 * csx + a01 * csy);
  const double ty = cdy + affine.ty * dst.height - (a10 * csx + a11 * csy);
  return cv::Matx23d(a00, a01, tx, a10, a11, ty);
}

cv::Point2f transform_point(const cv::Matx23d& m, const cv::Point2f& p) {
  return {static_cast<float>(m(0, 0) * p.x + m(0, 1) * p.y + m(0, 2)),
          static_cast<float>(m(1, 0) * p.x + m(1, 1) * p.y + m(1, 2))};
}

Landmarks swap_landmark_sides(const Landmarks& landmarks) {
  return {landmarks[1], landmarks[0], landmarks[2], landmarks[4], landmarks[3]};
}

Landmarks transform_landmarks(const cv::Matx23d& m, const Landmarks& landmarks, bool swap_sides) {
  Landmarks out;
  for (std::size_t i = 0; i < landmarks.size(); ++i) out[i] = transform_point(m, landmarks[i]);
  return swap_sides ? swap_landmark_sides(out) : out;
}

cv::Rect2f transform_box(const cv::Matx23d& m, const cv::Rect2f& box) {
  // Edge coordinates -> pixel-centre coordinates (-0.5), transform, back (+0.5).
  const float x0 = box.x - 0.5f, y0 = box.y - 0.5f, x1 = x0 + box.width, y1 = y0 + box.height;
  const cv::Point2f corners[4] = {transform_point(m, {x0, y0}), transform_point(m, {x1, y0}),
                                  transform_point(m, {x0, y1}), transform_point(m, {x1, y1})};
  float min_x = corners[0].x, max_x = corners[0].x, min_y = corners[0].y, max_y = corners[0].y;
  for (const auto& p : corners) {
    min_x = std::min(min_x, p.x);
    max_x = std::max(max_x, p.x);
    min_y = std::min(min_y, p.y);
    max_y = std::max(max_y, p.y);
  }
  return {min_x + 0.5f, min_y + 0.5f, max_x - min_x, max_y - min_y};
}

int to_cv_interpolation(Interpolation interpolation) {
  return interpolation == Interpolation::kCubic ? cv::INTER_CUBIC : cv::INTER_LINEAR;
}

int to_cv_border(BorderMode border) {
  switch (border) {
    case BorderMode::kReplicate:
      return cv::BORDER_REPLICATE;
    case BorderMode::kConstant:
      return cv::BORDER_CONSTANT;
    case BorderMode::kReflect:
    default:
      return cv::BORDER_REFLECT_101;
  }
}

cv::Mat resize_for_eval(const cv::Mat& rgb, int output_size, Interpolation interpolation) {
  check_image(rgb, "resize_for_eval");
  FACEAGE_CHECK(output_size >= 8 && output_size <= 4096, ErrorCode::kInvalidArgument,
                "resize_for_eval: output_size must be in [8, 4096], got " << output_size);
  cv::Mat out;
  if (rgb.cols == output_size && rgb.rows == output_size) {
    out = rgb.clone();
  } else {
    cv::resize(rgb, out, cv::Size(output_size, output_size), 0, 0, to_cv_interpolation(interpolation));
  }
  return out;
}

cv::Mat hflip(const cv::Mat& image) {
  FACEAGE_CHECK(!image.empty(), ErrorCode::kInvalidArgument, "hflip: the image is empty");
  cv::Mat out;
  cv::flip(image, out, 1);
  return out;
}

Landmarks hflip_landmarks(const Landmarks& landmarks, int width) {
  Landmarks mirrored;
  for (std::size_t i = 0; i < landmarks.size(); ++i) {
    mirrored[i] = {static_cast<float>(width - 1) - landmarks[i].x, landmarks[i].y};
  }
  return swap_landmark_sides(mirrored);
}

}  // namespace faceage::augment
