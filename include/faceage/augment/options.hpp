#pragma once
// Augmentation options: every probability and range is a field with a default (the defaults do
// nothing but the resize, like the `none` preset). Presets by name live in a registry.
//
//   auto options = augment::preset("medium");
//   auto options = augment::from_config(config.sub("augment"));   // preset: medium, flip_prob: 0
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "faceage/augment/geometric.hpp"
#include "faceage/augment/photometric.hpp"
#include "faceage/core/config.hpp"
#include "faceage/core/registry.hpp"

namespace faceage::augment {

struct AugmentOptions {
  // Geometry (one warp). scale/aspect/translate together are a random resized crop:
  // crop area = 1 / scale^2 of the image, crop aspect = aspect, crop centre shifted by translate.
  double flip_prob = 0.0;
  double scale_min = 1.0;   // zoom factor range, uniform
  double scale_max = 1.0;
  double aspect_min = 1.0;  // x/y stretch range, log-uniform
  double aspect_max = 1.0;
  double translate = 0.0;   // max shift per axis as a fraction of the output size, uniform
  double rotate_prob = 0.0;
  double rotate_deg = 0.0;  // angle uniform in [-rotate_deg, rotate_deg] when rotating
  Interpolation interpolation = Interpolation::kLinear;  // config: linear | cubic
  BorderMode border = BorderMode::kReflect;              // config: reflect | replicate | constant

  // Colour (torchvision ColorJitter ranges: factor in [max(0, 1 - x), 1 + x], hue in [-x, x]).
  double color_prob = 0.0;
  double brightness = 0.0;
  double contrast = 0.0;
  double saturation = 0.0;
  double hue = 0.0;  // <= 0.5
  double grayscale_prob = 0.0;

  // Degradations.
  double blur_prob = 0.0;
  double blur_sigma_min = 0.1;
  double blur_sigma_max = 1.0;
  double jpeg_prob = 0.0;
  int jpeg_quality_min = 40;
  int jpeg_quality_max = 95;

  // Old prints and scans (one colour map): sepia toning, a colour cast (each channel's gain
  // uniform in [1 - cast, 1 + cast]), fading (blend towards light grey: low contrast, lifted blacks).
  double sepia_prob = 0.0;
  double sepia_min = 0.5;   // blend with the sepia matrix, uniform
  double sepia_max = 1.0;
  double cast_prob = 0.0;
  double cast = 0.1;
  double fade_prob = 0.0;
  double fade_min = 0.1;
  double fade_max = 0.4;
  // Resolution loss: shrink so the face spans downscale_min..downscale_max pixels, enlarge back.
  double downscale_prob = 0.0;
  int downscale_min = 32;
  int downscale_max = 64;
  // Sensor noise (per channel) and film grain (shared by the channels, clumps of grain_size px);
  // sigmas in 0..255 levels.
  double noise_prob = 0.0;
  double noise_sigma_min = 2.0;
  double noise_sigma_max = 10.0;
  double grain_prob = 0.0;
  double grain_sigma_min = 4.0;
  double grain_sigma_max = 14.0;
  double grain_size_min = 1.0;
  double grain_size_max = 2.5;

  // Random erasing (torchvision RandomErasing): area fraction uniform, aspect h/w log-uniform.
  double erasing_prob = 0.0;
  double erasing_area_min = 0.02;
  double erasing_area_max = 0.2;
  double erasing_ratio_min = 0.3;
  double erasing_ratio_max = 3.3;
  ErasingFill erasing_fill = ErasingFill::kNoise;  // config: noise | mean
};

// Throws kInvalidArgument naming the first bad field ("augment option 'flip_prob' must be ...").
void validate(const AugmentOptions& options);

// Reads the augment section of a config (pass config.sub("augment")). An optional `preset` key
// picks the starting point (default `none`); any other key overrides that field; a plain string
// section (`augment: medium`) is just a preset name. Unknown keys,
// wrong types and invalid values are kConfig naming the key as "<where>.<key>".
AugmentOptions from_config(const Config& section, const std::string& where = "augment");
nlohmann::json to_json(const AugmentOptions& options);

const char* interpolation_name(Interpolation interpolation);
const char* border_name(BorderMode border);
const char* erasing_fill_name(ErasingFill fill);

// Presets: none (resize only, what eval/inference does), light, medium, strong, real_photo
// (training for scans, prints and phone photos), degrade (the photometric part of `faceage data degrade`).
using PresetRegistry = Registry<AugmentOptions()>;
void register_presets(PresetRegistry& registry);
const PresetRegistry& presets();  // built once, immutable
// kNotFound listing the names for an unknown preset.
AugmentOptions preset(const std::string& name);

}  // namespace faceage::augment
