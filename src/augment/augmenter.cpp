#include "faceage/augment/augmenter.hpp"

#include <algorithm>
#include <cmath>
#include <utility>

#include <opencv2/imgproc.hpp>

#include "faceage/augment/random.hpp"
#include "faceage/core/check.hpp"

namespace faceage::augment {

Augmenter::Augmenter(AugmentOptions options, int output_size)
    : options_(std::move(options)), output_size_(output_size) {
  validate(options_);
  FACEAGE_CHECK(output_size_ >= 8 && output_size_ <= 4096, ErrorCode::kInvalidArgument,
                "augment option 'output_size' must be in [8, 4096], got " << output_size_);
}

AugmentParams Augmenter::sample(std::mt19937_64& rng) const {
  const AugmentOptions& o = options_;
  AugmentParams p;
  {
    RandomStream s(rng());
    p.flip.flip = s.bernoulli(o.flip_prob);
  }
  {
    RandomStream s(rng());
    p.affine.scale = s.uniform(o.scale_min, o.scale_max);
    p.affine.aspect = s.log_uniform(o.aspect_min, o.aspect_max);
    p.affine.tx = s.uniform(-o.translate, o.translate);
    p.affine.ty = s.uniform(-o.translate, o.translate);
    const bool rotate = s.bernoulli(o.rotate_prob);
    const double angle = s.uniform(-o.rotate_deg, o.rotate_deg);
    p.affine.angle_deg = rotate ? angle : 0.0;
  }
  {
    RandomStream s(rng());
    p.color.apply = s.bernoulli(o.color_prob);
    p.color.brightness = s.uniform(std::max(0.0, 1.0 - o.brightness), 1.0 + o.brightness);
    p.color.contrast = s.uniform(std::max(0.0, 1.0 - o.contrast), 1.0 + o.contrast);
    p.color.saturation = s.uniform(std::max(0.0, 1.0 - o.saturation), 1.0 + o.saturation);
    p.color.hue = s.uniform(-o.hue, o.hue);
  }
  {
    RandomStream s(rng());
    p.grayscale.apply = s.bernoulli(o.grayscale_prob);
  }
  {
    RandomStream s(rng());
    p.blur.apply = s.bernoulli(o.blur_prob);
    p.blur.sigma = s.uniform(o.blur_sigma_min, o.blur_sigma_max);
  }
  {
    RandomStream s(rng());
    p.jpeg.apply = s.bernoulli(o.jpeg_prob);
    p.jpeg.quality = s.uniform_int(o.jpeg_quality_min, o.jpeg_quality_max);
  }
  {
    RandomStream s(rng());
    p.erasing.fill = o.erasing_fill;
    if (s.bernoulli(o.erasing_prob)) {
      // torchvision RandomErasing: up to 10 tries for a rectangle that fits inside the image.
      const int size = output_size_;
      const double area = static_cast<double>(size) * size;
      for (int attempt = 0; attempt < 10; ++attempt) {
        const double target = area * s.uniform(o.erasing_area_min, o.erasing_area_max);
        const double ratio = s.log_uniform(o.erasing_ratio_min, o.erasing_ratio_max);  // h / w
        const int h = static_cast<int>(std::lround(std::sqrt(target * ratio)));
        const int w = static_cast<int>(std::lround(std::sqrt(target / ratio)));
        if (h < 1 || w < 1 || h >= size || w >= size) continue;
        p.erasing.rect = cv::Rect(s.uniform_int(0, size - w), s.uniform_int(0, size - h), w, h);
        p.erasing.apply = true;
        break;
      }
    }
    p.erasing.noise_seed = s.next();
  }
  {
    RandomStream s(rng());
    const bool sepia = s.bernoulli(o.sepia_prob), cast = s.bernoulli(o.cast_prob), fade = s.bernoulli(o.fade_prob);
    const double sepia_amount = s.uniform(o.sepia_min, o.sepia_max);
    cv::Vec3d gains;
    for (int c = 0; c < 3; ++c) gains[c] = s.uniform(1.0 - o.cast, 1.0 + o.cast);
    const double fade_amount = s.uniform(o.fade_min, o.fade_max);
    p.tone.apply = sepia || cast || fade;
    p.tone.sepia = sepia ? sepia_amount : 0.0;
    p.tone.cast = cast ? gains : cv::Vec3d(1, 1, 1);
    p.tone.fade = fade ? fade_amount : 0.0;
  }
  {
    RandomStream s(rng());
    p.resolution.apply = s.bernoulli(o.downscale_prob);
    p.resolution.face_pixels = s.uniform_int(o.downscale_min, o.downscale_max);
  }
  {
    RandomStream s(rng());
    const bool sensor = s.bernoulli(o.noise_prob), grain = s.bernoulli(o.grain_prob);
    const double sensor_sigma = s.uniform(o.noise_sigma_min, o.noise_sigma_max);
    const double grain_sigma = s.uniform(o.grain_sigma_min, o.grain_sigma_max);
    p.noise.grain_size = s.uniform(o.grain_size_min, o.grain_size_max);
    p.noise.seed = s.next();
    p.noise.apply = sensor || grain;
    p.noise.sensor_sigma = sensor ? sensor_sigma : 0.0;
    p.noise.grain_sigma = grain ? grain_sigma : 0.0;
  }
  return p;
}

void apply_photometric(cv::Mat& rgb, const AugmentParams& params, double face_size_px, double pixel_scale) {
  FACEAGE_CHECK(std::isfinite(pixel_scale) && pixel_scale > 0, ErrorCode::kInvalidArgument,
                "apply_photometric: pixel_scale must be > 0, got " << pixel_scale);
  if (params.color.apply || params.grayscale.apply) {
    cv::Mat coloured;
    apply_color(rgb, coloured, params.color, params.grayscale);
    rgb = coloured;
  }
  if (params.tone.apply) apply_tone(rgb, params.tone);
  if (params.blur.apply) apply_blur(rgb, params.blur.sigma * pixel_scale);
  if (params.resolution.apply) apply_downscale(rgb, params.resolution, face_size_px);
  if (params.noise.apply) {
    NoiseParams noise = params.noise;
    noise.grain_size = std::clamp(noise.grain_size * pixel_scale, 1.0, 64.0);
    apply_noise(rgb, noise);
  }
  if (params.jpeg.apply) apply_jpeg(rgb, params.jpeg.quality);
  if (params.erasing.apply) apply_erasing(rgb, params.erasing);
}

AugmentedSample Augmenter::apply(const cv::Mat& rgb, const Landmarks& landmarks, const AugmentParams& params,
                                 const std::optional<cv::Rect2f>& box) const {
  FACEAGE_CHECK(!rgb.empty(), ErrorCode::kInvalidArgument, "augment: the image is empty");
  FACEAGE_CHECK(rgb.type() == CV_8UC3, ErrorCode::kInvalidArgument,
                "augment: expected an 8-bit 3-channel RGB image (CV_8UC3), got " << rgb.channels()
                                                                                << " channels, depth " << rgb.depth());
  const AffineParams& a = params.affine;
  FACEAGE_CHECK(std::isfinite(a.angle_deg) && std::isfinite(a.tx) && std::isfinite(a.ty) && std::isfinite(a.scale) &&
                    a.scale > 0 && std::isfinite(a.aspect) && a.aspect > 0,
                ErrorCode::kInvalidArgument, "augment: affine params must be finite with scale > 0 and aspect > 0");

  const cv::Size out_size(output_size_, output_size_);
  AugmentedSample out;
  out.matrix = geometric_matrix(rgb.size(), out_size, params.flip, a);

  cv::Mat warped;
  if (is_identity(params.flip, a)) {
    // The eval path: exactly what resize_for_eval does.
    warped = resize_for_eval(rgb, output_size_, options_.interpolation);
  } else {
    cv::warpAffine(rgb, warped, cv::Mat(out.matrix), out_size, to_cv_interpolation(options_.interpolation),
                   to_cv_border(options_.border), cv::Scalar::all(0));
  }

  out.image = warped;  // no copy: `warped` is ours
  apply_photometric(out.image, params, output_size_);

  out.landmarks = transform_landmarks(out.matrix, landmarks, params.flip.flip);
  if (box) out.box = transform_box(out.matrix, *box);
  return out;
}

nlohmann::json to_json(const AugmentParams& p) {
  return {
      {"flip", p.flip.flip},
      {"affine", {{"angle_deg", p.affine.angle_deg}, {"scale", p.affine.scale}, {"aspect", p.affine.aspect},
                  {"tx", p.affine.tx}, {"ty", p.affine.ty}}},
      {"color", {{"apply", p.color.apply}, {"brightness", p.color.brightness}, {"contrast", p.color.contrast},
                 {"saturation", p.color.saturation}, {"hue", p.color.hue}}},
      {"grayscale", p.grayscale.apply},
      {"blur", {{"apply", p.blur.apply}, {"sigma", p.blur.sigma}}},
      {"jpeg", {{"apply", p.jpeg.apply}, {"quality", p.jpeg.quality}}},
      {"erasing", {{"apply", p.erasing.apply},
                   {"rect", {p.erasing.rect.x, p.erasing.rect.y, p.erasing.rect.width, p.erasing.rect.height}},
                   {"fill", erasing_fill_name(p.erasing.fill)}}},
      {"tone", {{"apply", p.tone.apply}, {"sepia", p.tone.sepia},
                {"cast", {p.tone.cast[0], p.tone.cast[1], p.tone.cast[2]}}, {"fade", p.tone.fade}}},
      {"resolution", {{"apply", p.resolution.apply}, {"face_pixels", p.resolution.face_pixels}}},
      {"noise", {{"apply", p.noise.apply}, {"sensor_sigma", p.noise.sensor_sigma}, {"grain_sigma", p.noise.grain_sigma},
                 {"grain_size", p.noise.grain_size}}},
  };
}

}  // namespace faceage::augment
