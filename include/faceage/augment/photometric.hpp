#pragma once
// Photometric augmentation on an RGB CV_8UC3 image (applied to the small output image, after the
// geometric warp). Each op takes its already-drawn params, so it is deterministic.
#include <cstdint>

#include <opencv2/core.hpp>

namespace faceage::augment {

// torchvision ColorJitter semantics: factors multiply (1 = unchanged), hue is a fraction of a
// full turn in [-0.5, 0.5]. Applied in the fixed order brightness, contrast, saturation, hue.
struct ColorParams {
  bool apply = false;
  double brightness = 1.0;  // x -> b * x
  double contrast = 1.0;    // x -> c * x + (1 - c) * mean grey level of the image
  double saturation = 1.0;  // x -> s * x + (1 - s) * grey(x)
  double hue = 0.0;         // rotation of the chroma plane in YIQ space (fast stand-in for HSV hue)
};

struct GrayscaleParams {
  bool apply = false;  // ITU-R 601 luma copied to all three channels
};

struct BlurParams {
  bool apply = false;
  double sigma = 0.0;  // Gaussian sigma in output pixels; kernel 2*ceil(3 sigma)+1
};

struct JpegParams {
  bool apply = false;
  int quality = 95;  // 1..100, re-encoded with cv::imencode and decoded back
};

enum class ErasingFill { kNoise, kMean };

struct ErasingParams {
  bool apply = false;
  cv::Rect rect;                         // in output pixels; clipped to the image
  ErasingFill fill = ErasingFill::kNoise;  // uniform random bytes, or the image's mean colour
  std::uint64_t noise_seed = 0;          // seeds the noise, so apply stays deterministic
};

// The 3x4 matrix [A | o] with out = A * rgb + o that performs colour jitter and then (optionally)
// grayscale in one pass. `mean_rgb` is the image's mean colour (needed by contrast).
// Clipping happens once at the end, unlike torchvision's clip after each step; results differ
// only where an intermediate step would have saturated.
cv::Matx34f color_matrix(const ColorParams& color, bool grayscale, const cv::Scalar& mean_rgb);

// Colour jitter + grayscale into `out` (may not alias `rgb`); copies when neither applies.
void apply_color(const cv::Mat& rgb, cv::Mat& out, const ColorParams& color, const GrayscaleParams& gray);
// In place. Invalid values (sigma <= 0, quality outside 1..100) are kInvalidArgument.
void apply_blur(cv::Mat& rgb, double sigma);
void apply_jpeg(cv::Mat& rgb, int quality);
void apply_erasing(cv::Mat& rgb, const ErasingParams& params);

}  // namespace faceage::augment
