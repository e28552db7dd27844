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

// The look of an old print or scan, one linear colour map: sepia toning, a colour cast, fading.
struct ToneParams {
  bool apply = false;
  double sepia = 0.0;          // 0..1 blend with the classic sepia matrix
  cv::Vec3d cast{1, 1, 1};     // per-channel gains (R, G, B) after the sepia
  double fade = 0.0;           // 0..1 blend towards kFadeTarget: lifts blacks, lowers contrast
};
constexpr double kFadeTarget = 200.0;  // a light grey: a faded print's blacks turn grey, not white

// Sensor noise (independent Gaussian per channel) and film grain (one Gaussian field shared by the
// channels, generated at 1/grain_size resolution and scaled up, so grains are clumps, not pixels).
struct NoiseParams {
  bool apply = false;
  double sensor_sigma = 0.0;  // in 0..255 levels; 0: none
  double grain_sigma = 0.0;   // in 0..255 levels; 0: none
  double grain_size = 1.0;    // grain diameter in pixels (>= 1)
  std::uint64_t seed = 0;     // seeds cv::RNG, so apply stays deterministic
};

// Resolution loss: the image is shrunk so the face spans `face_pixels` pixels, then enlarged back.
struct ResolutionParams {
  bool apply = false;
  int face_pixels = 64;
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

// The 3x4 matrix [A | o] of a ToneParams (sepia, then cast, then fade).
cv::Matx34f tone_matrix(const ToneParams& tone);
// In place. kInvalidArgument for sepia/fade outside [0, 1], negative gains, sigmas outside
// [0, 255], grain_size outside [1, 64], face_pixels < 4 or face_size_px <= 0.
void apply_tone(cv::Mat& rgb, const ToneParams& tone);
void apply_noise(cv::Mat& rgb, const NoiseParams& noise);
// `face_size_px` is how many pixels the face spans in `rgb` now; the image is scaled by
// face_pixels / face_size_px (area averaging) and back to its size (bilinear). No-op when that is >= 1.
void apply_downscale(cv::Mat& rgb, const ResolutionParams& resolution, double face_size_px);

}  // namespace faceage::augment
