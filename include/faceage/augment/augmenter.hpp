#pragma once
// Training-time augmentation of an aligned face crop: sample, then apply (torchvision v2's
// make_params / transform). sample() draws every random choice into a plain AugmentParams;
// apply() is deterministic, moves image, landmarks and box together, and produces the model's
// input size. Both are const: one Augmenter can serve every loader thread (each with its own rng).
//
//   augment::Augmenter augmenter(augment::preset("medium"), 112);
//   std::mt19937_64 rng(seed);
//   auto out = augmenter(crop_rgb, landmarks, rng);   // out.image is 112x112 CV_8UC3 RGB
//
// Same seed -> identical params -> identical output bytes (on the same build of OpenCV).
#include <optional>
#include <random>

#include <nlohmann/json.hpp>
#include <opencv2/core.hpp>

#include "faceage/augment/geometric.hpp"
#include "faceage/augment/options.hpp"
#include "faceage/augment/photometric.hpp"

namespace faceage::augment {

struct AugmentParams {
  FlipParams flip;
  AffineParams affine;
  ColorParams color;
  GrayscaleParams grayscale;
  BlurParams blur;
  JpegParams jpeg;
  ErasingParams erasing;
  ToneParams tone;
  ResolutionParams resolution;
  NoiseParams noise;
};

nlohmann::json to_json(const AugmentParams& params);  // for logging / debugging a sample

struct AugmentedSample {
  cv::Mat image;                  // output_size x output_size, CV_8UC3 RGB
  Landmarks landmarks;            // in output pixels, semantic order kept across flips
  std::optional<cv::Rect2f> box;  // present when a box was given
  cv::Matx23d matrix;             // source pixel -> output pixel
};

// The photometric part of `params`, in place, in the order colour+grayscale, tone (sepia, cast,
// fade), blur, resolution loss, noise+grain, JPEG, erasing. Sizes in the params are for a face
// spanning the whole output of the Augmenter; for another image give the face's size in pixels
// (resolution loss targets it) and pixel_scale (blur sigma and grain size are multiplied by it).
void apply_photometric(cv::Mat& rgb, const AugmentParams& params, double face_size_px, double pixel_scale = 1.0);

class Augmenter {
 public:
  // Validates the options; output_size must be in [8, 4096] (kInvalidArgument naming the key).
  Augmenter(AugmentOptions options, int output_size);

  // Draws exactly one value from rng per transform (10 in all), whatever the options; transforms
  // added later draw after the older ones, so old presets keep their old samples.
  AugmentParams sample(std::mt19937_64& rng) const;

  // rgb: CV_8UC3 RGB crop of any size (kInvalidArgument otherwise). Photometric ops run on the
  // output image (apply_photometric, the face spanning the whole output).
  AugmentedSample apply(const cv::Mat& rgb, const Landmarks& landmarks, const AugmentParams& params,
                        const std::optional<cv::Rect2f>& box = std::nullopt) const;

  AugmentedSample operator()(const cv::Mat& rgb, const Landmarks& landmarks, std::mt19937_64& rng,
                             const std::optional<cv::Rect2f>& box = std::nullopt) const {
    return apply(rgb, landmarks, sample(rng), box);
  }

  const AugmentOptions& options() const { return options_; }
  int output_size() const { return output_size_; }

 private:
  AugmentOptions options_;
  int output_size_;
};

}  // namespace faceage::augment
