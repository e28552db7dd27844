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
  return p;
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

  if (params.color.apply || params.grayscale.apply) {
    apply_color(warped, out.image, params.color, params.grayscale);
  } else {
    out.image = warped;  // no copy: `warped` is ours
  }
  if (params.blur.apply) apply_blur(out.image, params.blur.sigma);
  if (params.jpeg.apply) apply_jpeg(out.image, params.jpeg.quality);
  if (params.erasing.apply) apply_erasing(out.image, params.erasing);

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
  };
}

}  // namespace faceage::augment
