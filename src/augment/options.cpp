#include "faceage/augment/options.hpp"

#include <algorithm>
#include <cmath>
#include <sstream>

#include "faceage/core/check.hpp"
#include "faceage/core/strings.hpp"

namespace faceage::augment {

namespace {

// Field tables: one place lists every key, used by from_config, to_json and the unknown-key error.
struct DoubleField {
  const char* key;
  double AugmentOptions::*member;
};
struct IntField {
  const char* key;
  int AugmentOptions::*member;
};

const DoubleField kDoubleFields[] = {
    {"flip_prob", &AugmentOptions::flip_prob},
    {"scale_min", &AugmentOptions::scale_min},
    {"scale_max", &AugmentOptions::scale_max},
    {"aspect_min", &AugmentOptions::aspect_min},
    {"aspect_max", &AugmentOptions::aspect_max},
    {"translate", &AugmentOptions::translate},
    {"rotate_prob", &AugmentOptions::rotate_prob},
    {"rotate_deg", &AugmentOptions::rotate_deg},
    {"color_prob", &AugmentOptions::color_prob},
    {"brightness", &AugmentOptions::brightness},
    {"contrast", &AugmentOptions::contrast},
    {"saturation", &AugmentOptions::saturation},
    {"hue", &AugmentOptions::hue},
    {"grayscale_prob", &AugmentOptions::grayscale_prob},
    {"blur_prob", &AugmentOptions::blur_prob},
    {"blur_sigma_min", &AugmentOptions::blur_sigma_min},
    {"blur_sigma_max", &AugmentOptions::blur_sigma_max},
    {"jpeg_prob", &AugmentOptions::jpeg_prob},
    {"erasing_prob", &AugmentOptions::erasing_prob},
    {"erasing_area_min", &AugmentOptions::erasing_area_min},
    {"erasing_area_max", &AugmentOptions::erasing_area_max},
    {"erasing_ratio_min", &AugmentOptions::erasing_ratio_min},
    {"erasing_ratio_max", &AugmentOptions::erasing_ratio_max},
    {"sepia_prob", &AugmentOptions::sepia_prob},
    {"sepia_min", &AugmentOptions::sepia_min},
    {"sepia_max", &AugmentOptions::sepia_max},
    {"cast_prob", &AugmentOptions::cast_prob},
    {"cast", &AugmentOptions::cast},
    {"fade_prob", &AugmentOptions::fade_prob},
    {"fade_min", &AugmentOptions::fade_min},
    {"fade_max", &AugmentOptions::fade_max},
    {"downscale_prob", &AugmentOptions::downscale_prob},
    {"noise_prob", &AugmentOptions::noise_prob},
    {"noise_sigma_min", &AugmentOptions::noise_sigma_min},
    {"noise_sigma_max", &AugmentOptions::noise_sigma_max},
    {"grain_prob", &AugmentOptions::grain_prob},
    {"grain_sigma_min", &AugmentOptions::grain_sigma_min},
    {"grain_sigma_max", &AugmentOptions::grain_sigma_max},
    {"grain_size_min", &AugmentOptions::grain_size_min},
    {"grain_size_max", &AugmentOptions::grain_size_max},
};
const IntField kIntFields[] = {
    {"jpeg_quality_min", &AugmentOptions::jpeg_quality_min},
    {"jpeg_quality_max", &AugmentOptions::jpeg_quality_max},
    {"downscale_min", &AugmentOptions::downscale_min},
    {"downscale_max", &AugmentOptions::downscale_max},
};
const char* const kEnumKeys[] = {"interpolation", "border", "erasing_fill"};

std::vector<std::string> all_keys() {
  std::vector<std::string> keys{"preset"};
  for (const auto& f : kDoubleFields) keys.emplace_back(f.key);
  for (const auto& f : kIntFields) keys.emplace_back(f.key);
  for (const char* k : kEnumKeys) keys.emplace_back(k);
  return keys;
}

[[noreturn]] void bad(const char* key, const std::string& rule, double value) {
  std::ostringstream os;
  os << "augment option '" << key << "' " << rule << ", got " << value;
  throw Error(ErrorCode::kInvalidArgument, os.str());
}

void check_prob(const char* key, double p) {
  if (!(p >= 0.0 && p <= 1.0)) bad(key, "must be a probability in [0, 1]", p);
}

void check_range(const char* key, double v, double lo, double hi) {
  if (!(v >= lo && v <= hi)) {
    std::ostringstream rule;
    rule << "must be in [" << lo << ", " << hi << "]";
    bad(key, rule.str(), v);
  }
}

void check_ordered(const char* min_key, double lo, const char* max_key, double hi) {
  if (!(lo <= hi)) {
    std::ostringstream rule;
    rule << "must be <= " << max_key << " (" << hi << ")";
    bad(min_key, rule.str(), lo);
  }
}

Interpolation parse_interpolation(const std::string& key, const std::string& value) {
  if (value == "linear") return Interpolation::kLinear;
  if (value == "cubic") return Interpolation::kCubic;
  throw Error(ErrorCode::kConfig, "config key '" + key + "' must be one of linear, cubic; got '" + value + "'");
}

BorderMode parse_border(const std::string& key, const std::string& value) {
  if (value == "reflect") return BorderMode::kReflect;
  if (value == "replicate") return BorderMode::kReplicate;
  if (value == "constant") return BorderMode::kConstant;
  throw Error(ErrorCode::kConfig,
              "config key '" + key + "' must be one of reflect, replicate, constant; got '" + value + "'");
}

ErasingFill parse_fill(const std::string& key, const std::string& value) {
  if (value == "noise") return ErasingFill::kNoise;
  if (value == "mean") return ErasingFill::kMean;
  throw Error(ErrorCode::kConfig, "config key '" + key + "' must be one of noise, mean; got '" + value + "'");
}

AugmentOptions make_none() { return AugmentOptions{}; }

AugmentOptions make_light() {
  AugmentOptions o;
  o.flip_prob = 0.5;
  o.scale_min = 0.95;
  o.scale_max = 1.05;
  o.translate = 0.03;
  o.color_prob = 0.5;
  o.brightness = 0.1;
  o.contrast = 0.1;
  o.saturation = 0.1;
  return o;
}

AugmentOptions make_medium() {
  AugmentOptions o;
  o.flip_prob = 0.5;
  o.scale_min = 0.9;
  o.scale_max = 1.1;
  o.aspect_min = 0.95;
  o.aspect_max = 1.05;
  o.translate = 0.06;
  o.rotate_prob = 0.5;
  o.rotate_deg = 8.0;
  o.color_prob = 0.8;
  o.brightness = 0.25;
  o.contrast = 0.25;
  o.saturation = 0.25;
  o.hue = 0.03;
  o.grayscale_prob = 0.05;
  return o;
}

AugmentOptions make_strong() {
  AugmentOptions o = make_medium();
  o.scale_min = 0.85;
  o.scale_max = 1.15;
  o.aspect_min = 0.9;
  o.aspect_max = 1.1;
  o.translate = 0.08;
  o.rotate_prob = 0.7;
  o.rotate_deg = 15.0;
  o.brightness = 0.4;
  o.contrast = 0.4;
  o.saturation = 0.4;
  o.hue = 0.05;
  o.grayscale_prob = 0.15;
  o.blur_prob = 0.2;
  o.blur_sigma_min = 0.1;
  o.blur_sigma_max = 1.5;
  o.jpeg_prob = 0.3;
  o.jpeg_quality_min = 30;
  o.jpeg_quality_max = 95;
  o.erasing_prob = 0.25;
  o.erasing_area_min = 0.02;
  o.erasing_area_max = 0.2;
  return o;
}

// Training for real photos (docs/augment.md): the shifts between UTKFace crops and scanned family
// photos, prints and phone pictures, each on a minority of samples so clean images stay the
// majority. The geometric warp doubles as the detector's jitter: with crops cached after alignment,
// a shifted or resized face box shows up as a shift/zoom of the aligned crop.
AugmentOptions make_real_photo() {
  AugmentOptions o = make_medium();
  o.scale_min = 0.87;  // box size +-15 %
  o.scale_max = 1.15;
  o.translate = 0.08;  // box centre +-8 % of the crop
  o.rotate_deg = 10.0;
  o.brightness = 0.3;
  o.contrast = 0.3;
  o.saturation = 0.3;
  o.grayscale_prob = 0.2;
  o.sepia_prob = 0.1;
  o.sepia_min = 0.5;
  o.sepia_max = 1.0;
  o.cast_prob = 0.2;
  o.cast = 0.1;
  o.fade_prob = 0.2;
  o.fade_min = 0.1;
  o.fade_max = 0.4;
  o.blur_prob = 0.25;
  o.blur_sigma_min = 0.3;
  o.blur_sigma_max = 1.5;
  o.downscale_prob = 0.2;
  o.downscale_min = 32;
  o.downscale_max = 96;
  o.noise_prob = 0.2;
  o.noise_sigma_min = 2.0;
  o.noise_sigma_max = 10.0;
  o.grain_prob = 0.15;
  o.grain_sigma_min = 4.0;
  o.grain_sigma_max = 14.0;
  o.jpeg_prob = 0.3;
  o.jpeg_quality_min = 15;
  o.jpeg_quality_max = 90;
  return o;
}

// The photometric degradations of `faceage data degrade` (which ignores geometry and erasing):
// stronger than real_photo, each drawn independently (docs/data.md lists the odds).
AugmentOptions make_degrade() {
  AugmentOptions o;
  o.grayscale_prob = 0.3;
  o.sepia_prob = 0.15;
  o.sepia_min = 0.6;
  o.sepia_max = 1.0;
  o.cast_prob = 0.25;
  o.cast = 0.15;
  o.fade_prob = 0.3;
  o.fade_min = 0.2;
  o.fade_max = 0.5;
  o.blur_prob = 0.3;
  o.blur_sigma_min = 0.8;
  o.blur_sigma_max = 2.0;
  o.downscale_prob = 0.3;
  o.downscale_min = 32;
  o.downscale_max = 64;
  o.noise_prob = 0.3;
  o.noise_sigma_min = 4.0;
  o.noise_sigma_max = 12.0;
  o.grain_prob = 0.25;
  o.grain_sigma_min = 6.0;
  o.grain_sigma_max = 16.0;
  o.jpeg_prob = 0.4;
  o.jpeg_quality_min = 15;
  o.jpeg_quality_max = 40;
  return o;
}

}  // namespace

void validate(const AugmentOptions& o) {
  check_prob("flip_prob", o.flip_prob);
  check_range("scale_min", o.scale_min, 0.25, 4.0);
  check_range("scale_max", o.scale_max, 0.25, 4.0);
  check_ordered("scale_min", o.scale_min, "scale_max", o.scale_max);
  check_range("aspect_min", o.aspect_min, 0.25, 4.0);
  check_range("aspect_max", o.aspect_max, 0.25, 4.0);
  check_ordered("aspect_min", o.aspect_min, "aspect_max", o.aspect_max);
  check_range("translate", o.translate, 0.0, 0.5);
  check_prob("rotate_prob", o.rotate_prob);
  check_range("rotate_deg", o.rotate_deg, 0.0, 180.0);
  check_prob("color_prob", o.color_prob);
  check_range("brightness", o.brightness, 0.0, 10.0);
  check_range("contrast", o.contrast, 0.0, 10.0);
  check_range("saturation", o.saturation, 0.0, 10.0);
  check_range("hue", o.hue, 0.0, 0.5);
  check_prob("grayscale_prob", o.grayscale_prob);
  check_prob("blur_prob", o.blur_prob);
  check_range("blur_sigma_min", o.blur_sigma_min, 0.01, 20.0);
  check_range("blur_sigma_max", o.blur_sigma_max, 0.01, 20.0);
  check_ordered("blur_sigma_min", o.blur_sigma_min, "blur_sigma_max", o.blur_sigma_max);
  check_prob("jpeg_prob", o.jpeg_prob);
  check_range("jpeg_quality_min", o.jpeg_quality_min, 1, 100);
  check_range("jpeg_quality_max", o.jpeg_quality_max, 1, 100);
  check_ordered("jpeg_quality_min", o.jpeg_quality_min, "jpeg_quality_max", o.jpeg_quality_max);
  check_prob("erasing_prob", o.erasing_prob);
  check_range("erasing_area_min", o.erasing_area_min, 1e-4, 0.9);
  check_range("erasing_area_max", o.erasing_area_max, 1e-4, 0.9);
  check_ordered("erasing_area_min", o.erasing_area_min, "erasing_area_max", o.erasing_area_max);
  check_range("erasing_ratio_min", o.erasing_ratio_min, 0.05, 20.0);
  check_range("erasing_ratio_max", o.erasing_ratio_max, 0.05, 20.0);
  check_ordered("erasing_ratio_min", o.erasing_ratio_min, "erasing_ratio_max", o.erasing_ratio_max);
  check_prob("sepia_prob", o.sepia_prob);
  check_range("sepia_min", o.sepia_min, 0.0, 1.0);
  check_range("sepia_max", o.sepia_max, 0.0, 1.0);
  check_ordered("sepia_min", o.sepia_min, "sepia_max", o.sepia_max);
  check_prob("cast_prob", o.cast_prob);
  check_range("cast", o.cast, 0.0, 1.0);
  check_prob("fade_prob", o.fade_prob);
  check_range("fade_min", o.fade_min, 0.0, 1.0);
  check_range("fade_max", o.fade_max, 0.0, 1.0);
  check_ordered("fade_min", o.fade_min, "fade_max", o.fade_max);
  check_prob("downscale_prob", o.downscale_prob);
  check_range("downscale_min", o.downscale_min, 4, 4096);
  check_range("downscale_max", o.downscale_max, 4, 4096);
  check_ordered("downscale_min", o.downscale_min, "downscale_max", o.downscale_max);
  check_prob("noise_prob", o.noise_prob);
  check_range("noise_sigma_min", o.noise_sigma_min, 0.0, 255.0);
  check_range("noise_sigma_max", o.noise_sigma_max, 0.0, 255.0);
  check_ordered("noise_sigma_min", o.noise_sigma_min, "noise_sigma_max", o.noise_sigma_max);
  check_prob("grain_prob", o.grain_prob);
  check_range("grain_sigma_min", o.grain_sigma_min, 0.0, 255.0);
  check_range("grain_sigma_max", o.grain_sigma_max, 0.0, 255.0);
  check_ordered("grain_sigma_min", o.grain_sigma_min, "grain_sigma_max", o.grain_sigma_max);
  check_range("grain_size_min", o.grain_size_min, 1.0, 64.0);
  check_range("grain_size_max", o.grain_size_max, 1.0, 64.0);
  check_ordered("grain_size_min", o.grain_size_min, "grain_size_max", o.grain_size_max);
}

AugmentOptions from_config(const Config& section, const std::string& where) {
  // Shorthand `augment: medium` names just a preset.
  if (section.node().IsScalar()) return preset(section.node().as<std::string>());
  const std::string prefix = where.empty() ? std::string() : where + ".";
  const auto known = all_keys();
  for (const auto& key : section.keys()) {
    if (std::find(known.begin(), known.end(), key) == known.end()) {
      throw Error(ErrorCode::kConfig, "unknown config key '" + prefix + key + "'",
                  "valid keys: " + join(known, ", "));
    }
  }
  // Typed reads go through a copy keyed with the full dotted name, so errors name "augment.x".
  auto read = [&](const std::string& key, auto fallback) {
    using T = decltype(fallback);
    if (!section.has(key)) return fallback;
    try {
      return section.get<T>(key);
    } catch (const Error& e) {
      throw Error(ErrorCode::kConfig, "config key '" + prefix + key + "' has a missing value or a value of the wrong type",
                  e.full_message());
    }
  };
  AugmentOptions o = preset(read(std::string("preset"), std::string("none")));
  for (const auto& f : kDoubleFields) o.*(f.member) = read(std::string(f.key), o.*(f.member));
  for (const auto& f : kIntFields) o.*(f.member) = read(std::string(f.key), o.*(f.member));
  if (section.has("interpolation")) {
    o.interpolation = parse_interpolation(prefix + "interpolation", read(std::string("interpolation"), std::string()));
  }
  if (section.has("border")) o.border = parse_border(prefix + "border", read(std::string("border"), std::string()));
  if (section.has("erasing_fill")) {
    o.erasing_fill = parse_fill(prefix + "erasing_fill", read(std::string("erasing_fill"), std::string()));
  }
  try {
    validate(o);
  } catch (const Error& e) {
    // Same message with the section prefix, as a config error (the file is what needs fixing).
    std::string message = e.what();
    const std::string quote = "option '";
    const auto at = message.find(quote);
    if (at != std::string::npos && !prefix.empty()) message.insert(at + quote.size(), prefix);
    throw Error(ErrorCode::kConfig, message, "fix it in the config file or with --set");
  }
  return o;
}

nlohmann::json to_json(const AugmentOptions& o) {
  nlohmann::json j = nlohmann::json::object();
  for (const auto& f : kDoubleFields) j[f.key] = o.*(f.member);
  for (const auto& f : kIntFields) j[f.key] = o.*(f.member);
  j["interpolation"] = interpolation_name(o.interpolation);
  j["border"] = border_name(o.border);
  j["erasing_fill"] = erasing_fill_name(o.erasing_fill);
  return j;
}

const char* interpolation_name(Interpolation interpolation) {
  return interpolation == Interpolation::kCubic ? "cubic" : "linear";
}

const char* border_name(BorderMode border) {
  switch (border) {
    case BorderMode::kReplicate:
      return "replicate";
    case BorderMode::kConstant:
      return "constant";
    case BorderMode::kReflect:
    default:
      return "reflect";
  }
}

const char* erasing_fill_name(ErasingFill fill) { return fill == ErasingFill::kMean ? "mean" : "noise"; }

void register_presets(PresetRegistry& registry) {
  registry.add("none", make_none, "resize to the output size only (what eval and inference do)");
  registry.add("light", make_light, "flip, small zoom/shift, mild colour jitter");
  registry.add("medium", make_medium, "flip, zoom/stretch/shift, rotation +-8 deg, colour jitter, rare grayscale");
  registry.add("strong", make_strong,
               "medium plus rotation +-15 deg, stronger colour, blur, JPEG quality 30-95, random erasing");
  registry.add("real_photo", make_real_photo,
               "medium's warp as face-box jitter plus grayscale, sepia, colour cast, fading, blur, "
               "resolution loss, sensor noise, film grain, JPEG quality 15-90");
  registry.add("degrade", make_degrade,
               "no geometry; grayscale, sepia, cast, fading, blur, 32-64 px resolution, noise, grain, "
               "JPEG quality 15-40 (what `faceage data degrade` applies)");
}

const PresetRegistry& presets() {
  // Built once on first use (thread-safe static initialisation), never modified afterwards.
  static const PresetRegistry registry = [] {
    PresetRegistry r("augment preset");
    register_presets(r);
    return r;
  }();
  return registry;
}

AugmentOptions preset(const std::string& name) { return presets().create(name); }

}  // namespace faceage::augment
