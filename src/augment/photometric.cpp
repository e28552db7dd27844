#include "faceage/augment/photometric.hpp"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <vector>

#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include "faceage/augment/random.hpp"
#include "faceage/core/check.hpp"

namespace faceage::augment {

namespace {

constexpr double kTwoPi = 6.283185307179586;
// ITU-R 601 luma, as torchvision's rgb_to_grayscale and OpenCV's RGB2GRAY.
const cv::Vec3d kLuma(0.299, 0.587, 0.114);

cv::Matx33d luma_rows() {
  return cv::Matx33d(kLuma[0], kLuma[1], kLuma[2], kLuma[0], kLuma[1], kLuma[2], kLuma[0], kLuma[1], kLuma[2]);
}

// Hue rotation by `turns` in YIQ: a linear 3x3 map, so it folds into the single colour matrix
// (HSV would need a non-linear per-pixel conversion, several times slower).
cv::Matx33d hue_matrix(double turns) {
  const cv::Matx33d to_yiq(0.299, 0.587, 0.114, 0.595716, -0.274453, -0.321263, 0.211456, -0.522591, 0.311135);
  const double t = turns * kTwoPi, c = std::cos(t), s = std::sin(t);
  // Negative rotation in the I-Q plane moves red towards yellow, matching an HSV hue increase.
  const cv::Matx33d rotate(1, 0, 0, 0, c, s, 0, -s, c);
  return to_yiq.inv() * rotate * to_yiq;
}

void check_rgb(const cv::Mat& rgb, const char* what) {
  FACEAGE_CHECK(!rgb.empty() && rgb.type() == CV_8UC3, ErrorCode::kInvalidArgument,
                what << ": expected a non-empty CV_8UC3 RGB image");
}

}  // namespace

cv::Matx34f color_matrix(const ColorParams& color, bool grayscale, const cv::Scalar& mean_rgb) {
  cv::Matx33d a = cv::Matx33d::eye();
  cv::Vec3d o(0, 0, 0);
  if (color.apply) {
    // Brightness: blend with black.
    a = a * color.brightness;
    o = o * color.brightness;
    // Contrast: blend with the mean grey level of the image as it is at this step.
    const cv::Vec3d mean_now = a * cv::Vec3d(mean_rgb[0], mean_rgb[1], mean_rgb[2]) + o;
    const double grey = kLuma.dot(mean_now);
    a = a * color.contrast;
    o = o * color.contrast + cv::Vec3d::all((1.0 - color.contrast) * grey);
    // Saturation: blend each pixel with its own grey.
    const cv::Matx33d sat = cv::Matx33d::eye() * color.saturation + luma_rows() * (1.0 - color.saturation);
    a = sat * a;
    o = sat * o;
    if (color.hue != 0.0) {
      const cv::Matx33d hue = hue_matrix(color.hue);
      a = hue * a;
      o = hue * o;
    }
  }
  if (grayscale) {
    a = luma_rows() * a;
    o = luma_rows() * o;
  }
  cv::Matx34f m;
  for (int r = 0; r < 3; ++r) {
    for (int c = 0; c < 3; ++c) m(r, c) = static_cast<float>(a(r, c));
    m(r, 3) = static_cast<float>(o[r]);
  }
  return m;
}

void apply_color(const cv::Mat& rgb, cv::Mat& out, const ColorParams& color, const GrayscaleParams& gray) {
  check_rgb(rgb, "apply_color");
  if (!color.apply && !gray.apply) {
    rgb.copyTo(out);
    return;
  }
  FACEAGE_CHECK(std::isfinite(color.brightness) && color.brightness >= 0 && std::isfinite(color.contrast) &&
                    color.contrast >= 0 && std::isfinite(color.saturation) && color.saturation >= 0 &&
                    std::isfinite(color.hue),
                ErrorCode::kInvalidArgument, "apply_color: factors must be finite and >= 0");
  // The mean only matters for contrast; skip the pass over the image otherwise.
  const bool needs_mean = color.apply && color.contrast != 1.0;
  const cv::Scalar mean = needs_mean ? cv::mean(rgb) : cv::Scalar::all(0);
  // One SIMD pass (cv::transform saturates once, at the end).
  cv::transform(rgb, out, color_matrix(color, gray.apply, mean));
}

void apply_blur(cv::Mat& rgb, double sigma) {
  check_rgb(rgb, "apply_blur");
  FACEAGE_CHECK(std::isfinite(sigma) && sigma > 0 && sigma <= 50, ErrorCode::kInvalidArgument,
                "apply_blur: sigma must be in (0, 50], got " << sigma);
  const int radius = std::max(1, static_cast<int>(std::ceil(3.0 * sigma)));
  const int k = 2 * radius + 1;
  cv::GaussianBlur(rgb, rgb, cv::Size(k, k), sigma, sigma, cv::BORDER_REFLECT_101);
}

void apply_jpeg(cv::Mat& rgb, int quality) {
  check_rgb(rgb, "apply_jpeg");
  FACEAGE_CHECK(quality >= 1 && quality <= 100, ErrorCode::kInvalidArgument,
                "apply_jpeg: quality must be in [1, 100], got " << quality);
  // libjpeg expects BGR: encoding RGB as-is would compute luma with red and blue swapped.
  cv::Mat bgr;
  cv::cvtColor(rgb, bgr, cv::COLOR_RGB2BGR);
  std::vector<uchar> bytes;
  const std::vector<int> flags{cv::IMWRITE_JPEG_QUALITY, quality};
  FACEAGE_ENSURE(cv::imencode(".jpg", bgr, bytes, flags), "JPEG encoding failed");
  cv::Mat decoded = cv::imdecode(bytes, cv::IMREAD_COLOR);
  FACEAGE_ENSURE(!decoded.empty() && decoded.size() == rgb.size(), "JPEG decoding failed");
  cv::cvtColor(decoded, rgb, cv::COLOR_BGR2RGB);
}

void apply_erasing(cv::Mat& rgb, const ErasingParams& params) {
  check_rgb(rgb, "apply_erasing");
  const cv::Rect rect = params.rect & cv::Rect(0, 0, rgb.cols, rgb.rows);
  if (rect.area() <= 0) return;
  cv::Mat roi = rgb(rect);
  if (params.fill == ErasingFill::kMean) {
    const cv::Scalar mean = cv::mean(rgb);
    roi.setTo(cv::Scalar(std::round(mean[0]), std::round(mean[1]), std::round(mean[2])));
    return;
  }
  RandomStream stream(params.noise_seed);
  const std::size_t row_bytes = static_cast<std::size_t>(rect.width) * 3;
  for (int y = 0; y < roi.rows; ++y) {
    uchar* row = roi.ptr<uchar>(y);
    std::size_t x = 0;
    for (; x + 8 <= row_bytes; x += 8) {
      const std::uint64_t bits = stream.next();
      std::memcpy(row + x, &bits, 8);
    }
    if (x < row_bytes) {
      const std::uint64_t bits = stream.next();
      std::memcpy(row + x, &bits, row_bytes - x);
    }
  }
}

}  // namespace faceage::augment

namespace faceage::augment {

cv::Matx34f tone_matrix(const ToneParams& tone) {
  // Classic sepia toning (the Microsoft "sepia" matrix used by most photo tools), blended.
  const cv::Matx33d sepia(0.393, 0.769, 0.189, 0.349, 0.686, 0.168, 0.272, 0.534, 0.131);
  cv::Matx33d a = cv::Matx33d::eye() * (1.0 - tone.sepia) + sepia * tone.sepia;
  a = cv::Matx33d::diag(tone.cast) * a;
  a = a * (1.0 - tone.fade);
  const double offset = tone.fade * kFadeTarget;
  cv::Matx34f m;
  for (int r = 0; r < 3; ++r) {
    for (int c = 0; c < 3; ++c) m(r, c) = static_cast<float>(a(r, c));
    m(r, 3) = static_cast<float>(offset);
  }
  return m;
}

void apply_tone(cv::Mat& rgb, const ToneParams& tone) {
  check_rgb(rgb, "apply_tone");
  FACEAGE_CHECK(tone.sepia >= 0 && tone.sepia <= 1 && tone.fade >= 0 && tone.fade <= 1, ErrorCode::kInvalidArgument,
                "apply_tone: sepia and fade must be in [0, 1], got " << tone.sepia << " and " << tone.fade);
  for (int c = 0; c < 3; ++c) {
    FACEAGE_CHECK(std::isfinite(tone.cast[c]) && tone.cast[c] >= 0 && tone.cast[c] <= 4, ErrorCode::kInvalidArgument,
                  "apply_tone: colour cast gains must be in [0, 4], got " << tone.cast[c]);
  }
  cv::Mat toned;
  cv::transform(rgb, toned, tone_matrix(tone));
  toned.copyTo(rgb);
}

void apply_noise(cv::Mat& rgb, const NoiseParams& noise) {
  check_rgb(rgb, "apply_noise");
  FACEAGE_CHECK(noise.sensor_sigma >= 0 && noise.sensor_sigma <= 255 && noise.grain_sigma >= 0 &&
                    noise.grain_sigma <= 255,
                ErrorCode::kInvalidArgument,
                "apply_noise: sigmas must be in [0, 255], got " << noise.sensor_sigma << " and " << noise.grain_sigma);
  FACEAGE_CHECK(noise.grain_size >= 1 && noise.grain_size <= 64, ErrorCode::kInvalidArgument,
                "apply_noise: grain_size must be in [1, 64], got " << noise.grain_size);
  if (noise.sensor_sigma == 0 && noise.grain_sigma == 0) return;
  // cv::RNG is OpenCV's own multiply-with-carry generator: the same seed gives the same field on
  // every platform (for one OpenCV build), and randn fills a whole image in one vectorised call.
  cv::RNG rng(noise.seed);
  cv::Mat sum;
  rgb.convertTo(sum, CV_32FC3);
  if (noise.sensor_sigma > 0) {
    cv::Mat field(rgb.size(), CV_32FC3);
    rng.fill(field, cv::RNG::NORMAL, 0.0, noise.sensor_sigma);
    sum += field;
  }
  if (noise.grain_sigma > 0) {
    const cv::Size small(std::max(1, static_cast<int>(std::lround(rgb.cols / noise.grain_size))),
                         std::max(1, static_cast<int>(std::lround(rgb.rows / noise.grain_size))));
    cv::Mat grain(small, CV_32FC1);
    rng.fill(grain, cv::RNG::NORMAL, 0.0, noise.grain_sigma);
    if (small != rgb.size()) cv::resize(grain, grain, rgb.size(), 0, 0, cv::INTER_LINEAR);
    cv::Mat grain3;
    cv::merge(std::vector<cv::Mat>{grain, grain, grain}, grain3);
    sum += grain3;
  }
  sum.convertTo(rgb, CV_8UC3);  // rounds and saturates
}

void apply_downscale(cv::Mat& rgb, const ResolutionParams& resolution, double face_size_px) {
  check_rgb(rgb, "apply_downscale");
  FACEAGE_CHECK(resolution.face_pixels >= 4 && std::isfinite(face_size_px) && face_size_px > 0,
                ErrorCode::kInvalidArgument,
                "apply_downscale: face_pixels must be >= 4 and the face size > 0, got "
                    << resolution.face_pixels << " and " << face_size_px);
  const double factor = resolution.face_pixels / face_size_px;
  if (factor >= 1.0) return;
  const cv::Size small(std::max(1, static_cast<int>(std::lround(rgb.cols * factor))),
                       std::max(1, static_cast<int>(std::lround(rgb.rows * factor))));
  cv::Mat shrunk;
  cv::resize(rgb, shrunk, small, 0, 0, cv::INTER_AREA);
  cv::resize(shrunk, rgb, rgb.size(), 0, 0, cv::INTER_LINEAR);
}

}  // namespace faceage::augment
