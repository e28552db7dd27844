#include "faceage/augment/degrade.hpp"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>

#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include "faceage/augment/random.hpp"
#include "faceage/core/check.hpp"
#include "faceage/core/progress.hpp"
#include "faceage/core/strings.hpp"
#include "faceage/data/csv.hpp"
#include "faceage/data/image_io.hpp"
#include "faceage/data/manifest.hpp"

namespace faceage::augment {

namespace fs = std::filesystem;

namespace {

// The preset without its training-only parts: no warp, no flip, no erasing.
AugmentOptions photometric_only(AugmentOptions o) {
  const AugmentOptions plain;
  o.flip_prob = plain.flip_prob;
  o.scale_min = plain.scale_min;
  o.scale_max = plain.scale_max;
  o.aspect_min = plain.aspect_min;
  o.aspect_max = plain.aspect_max;
  o.translate = plain.translate;
  o.rotate_prob = plain.rotate_prob;
  o.erasing_prob = 0.0;
  return o;
}

void check_canvas(const CanvasOptions& c) {
  FACEAGE_CHECK(c.prob >= 0 && c.prob <= 1, ErrorCode::kInvalidArgument,
                "canvas probability must be in [0, 1], got " << c.prob);
  FACEAGE_CHECK(c.face_scale_min > 0 && c.face_scale_min <= c.face_scale_max && c.face_scale_max <= 1,
                ErrorCode::kInvalidArgument,
                "canvas face scale must satisfy 0 < min <= max <= 1, got " << c.face_scale_min << ".."
                                                                            << c.face_scale_max);
  FACEAGE_CHECK(c.size_min >= 1 && c.size_min <= c.size_max && c.size_max <= 8, ErrorCode::kInvalidArgument,
                "canvas size must satisfy 1 <= min <= max <= 8, got " << c.size_min << ".." << c.size_max);
}

cv::Vec3b random_colour(RandomStream& s) {
  return {static_cast<uchar>(s.uniform_int(0, 255)), static_cast<uchar>(s.uniform_int(0, 255)),
          static_cast<uchar>(s.uniform_int(0, 255))};
}

cv::Mat make_background(cv::Size size, const CanvasParams& p) {
  const cv::Scalar a(p.colour_a[0], p.colour_a[1], p.colour_a[2]);
  const cv::Scalar b(p.colour_b[0], p.colour_b[1], p.colour_b[2]);
  cv::Mat canvas(size, CV_8UC3, a);
  if (p.background == Background::kGradient) {
    for (int y = 0; y < size.height; ++y) {
      const double t = size.height > 1 ? static_cast<double>(y) / (size.height - 1) : 0.0;
      canvas.row(y).setTo(a * (1.0 - t) + b * t);
    }
  } else if (p.background == Background::kBlotches) {
    // A few random colours on a coarse grid, smoothly interpolated: out-of-focus clutter.
    cv::RNG rng(p.seed);
    cv::Mat coarse(4, 4, CV_8UC3);
    rng.fill(coarse, cv::RNG::UNIFORM, 0, 256);
    cv::resize(coarse, canvas, size, 0, 0, cv::INTER_CUBIC);
  }
  return canvas;
}

}  // namespace

std::vector<std::string> degradation_names(const DegradeParams& params) {
  const AugmentParams& p = params.photometric;
  std::vector<std::string> names;
  if (params.canvas.apply) names.emplace_back("canvas");
  if (p.color.apply) names.emplace_back("color");
  if (p.grayscale.apply) names.emplace_back("grayscale");
  if (p.tone.apply && p.tone.sepia > 0) names.emplace_back("sepia");
  if (p.tone.apply && p.tone.cast != cv::Vec3d(1, 1, 1)) names.emplace_back("cast");
  if (p.tone.apply && p.tone.fade > 0) names.emplace_back("fade");
  if (p.blur.apply) names.emplace_back("blur");
  if (p.resolution.apply) names.push_back("downscale" + std::to_string(p.resolution.face_pixels));
  if (p.noise.apply && p.noise.sensor_sigma > 0) names.emplace_back("noise");
  if (p.noise.apply && p.noise.grain_sigma > 0) names.emplace_back("grain");
  if (p.jpeg.apply) names.push_back("jpeg" + std::to_string(p.jpeg.quality));
  return names;
}

cv::Mat place_on_canvas(const cv::Mat& rgb, const CanvasParams& p, cv::Rect* face) {
  FACEAGE_CHECK(!rgb.empty() && rgb.type() == CV_8UC3, ErrorCode::kInvalidArgument,
                "place_on_canvas: expected a non-empty CV_8UC3 RGB image");
  FACEAGE_CHECK(p.face_scale > 0 && p.face_scale <= 1 && p.width_ratio >= 1 && p.height_ratio >= 1 && p.x >= 0 &&
                    p.x <= 1 && p.y >= 0 && p.y <= 1,
                ErrorCode::kInvalidArgument, "place_on_canvas: face scale in (0, 1], ratios >= 1, position in [0, 1]");
  const cv::Size face_size(std::max(1, static_cast<int>(std::lround(rgb.cols * p.face_scale))),
                           std::max(1, static_cast<int>(std::lround(rgb.rows * p.face_scale))));
  const cv::Size canvas_size(std::max(face_size.width, static_cast<int>(std::lround(face_size.width * p.width_ratio))),
                             std::max(face_size.height, static_cast<int>(std::lround(face_size.height * p.height_ratio))));
  cv::Mat canvas = make_background(canvas_size, p);
  const cv::Rect where(static_cast<int>(std::lround(p.x * (canvas_size.width - face_size.width))),
                       static_cast<int>(std::lround(p.y * (canvas_size.height - face_size.height))), face_size.width,
                       face_size.height);
  if (face_size == rgb.size()) {
    rgb.copyTo(canvas(where));
  } else {
    cv::resize(rgb, canvas(where), face_size, 0, 0, cv::INTER_AREA);
  }
  if (face) *face = where;
  return canvas;
}

Degrader::Degrader(const DegradeOptions& options)
    : canvas_(options.canvas), sampler_(photometric_only(preset(options.preset)), kReferenceFacePixels) {
  check_canvas(canvas_);
}

DegradeParams Degrader::sample(std::mt19937_64& rng) const {
  DegradeParams p;
  p.photometric = sampler_.sample(rng);
  RandomStream s(rng());
  CanvasParams& c = p.canvas;
  c.apply = s.bernoulli(canvas_.prob);
  c.face_scale = s.uniform(canvas_.face_scale_min, canvas_.face_scale_max);
  c.width_ratio = s.uniform(canvas_.size_min, canvas_.size_max);
  c.height_ratio = s.uniform(canvas_.size_min, canvas_.size_max);
  c.x = s.uniform01();
  c.y = s.uniform01();
  c.background = static_cast<Background>(s.uniform_int(0, 2));
  c.colour_a = random_colour(s);
  c.colour_b = random_colour(s);
  c.seed = s.next();
  return p;
}

DegradedImage Degrader::apply(const cv::Mat& rgb, const DegradeParams& params) const {
  FACEAGE_CHECK(!rgb.empty() && rgb.type() == CV_8UC3, ErrorCode::kInvalidArgument,
                "degrade: expected a non-empty CV_8UC3 RGB image");
  DegradedImage out;
  if (params.canvas.apply) {
    out.rgb = place_on_canvas(rgb, params.canvas, &out.face);
  } else {
    out.rgb = rgb.clone();
    out.face = cv::Rect(0, 0, rgb.cols, rgb.rows);
  }
  AugmentParams photometric = params.photometric;
  photometric.jpeg.apply = false;  // encode_degraded compresses once, at the drawn quality
  const double face_px = std::max(out.face.width, out.face.height);
  apply_photometric(out.rgb, photometric, face_px, face_px / kReferenceFacePixels);
  out.jpeg_quality = params.photometric.jpeg.apply ? params.photometric.jpeg.quality : kPlainJpegQuality;
  return out;
}

std::vector<std::uint8_t> encode_degraded(const DegradedImage& image) {
  FACEAGE_CHECK(!image.rgb.empty() && image.rgb.type() == CV_8UC3, ErrorCode::kInvalidArgument,
                "encode_degraded: expected a non-empty CV_8UC3 RGB image");
  cv::Mat bgr;
  cv::cvtColor(image.rgb, bgr, cv::COLOR_RGB2BGR);
  std::vector<uchar> bytes;
  FACEAGE_ENSURE(cv::imencode(".jpg", bgr, bytes, {cv::IMWRITE_JPEG_QUALITY, image.jpeg_quality}),
                 "JPEG encoding failed");
  return {bytes.begin(), bytes.end()};
}

std::uint64_t degrade_row_seed(std::uint64_t seed, std::size_t row) {
  RandomStream s(seed ^ (static_cast<std::uint64_t>(row) * 0xD1B54A32D192ED03ULL));
  return s.next();
}

DegradeReport degrade_manifest(const DegradeManifestOptions& options) {
  FACEAGE_CHECK(!options.out_dir.empty(), ErrorCode::kInvalidArgument, "degrade: an output folder is required");
  const auto start = std::chrono::steady_clock::now();
  const data::Manifest input = data::read_manifest(options.manifest);
  const Degrader degrader(options.degrade);
  const fs::path out_dir = fs::absolute(options.out_dir).lexically_normal();
  const fs::path image_dir = out_dir / "images";
  std::error_code ec;
  fs::create_directories(image_dir, ec);
  FACEAGE_CHECK(!ec, ErrorCode::kIo, "cannot create " << image_dir.string() << ": " << ec.message());

  DegradeReport report;
  report.rows = input.rows.size();
  data::Manifest output;
  output.base_dir = out_dir.string();
  data::ManifestColumn applied{"degradations", {}};
  ProgressBar bar({"degrading", static_cast<std::int64_t>(input.rows.size()), options.progress, "img"});
  for (std::size_t i = 0; i < input.rows.size(); ++i) {
    const data::ManifestRow& row = input.rows[i];
    try {
      const data::DecodedImage decoded = data::read_image(row.path);
      std::mt19937_64 rng(degrade_row_seed(options.seed, i));
      const DegradeParams params = degrader.sample(rng);
      const std::vector<std::uint8_t> bytes = encode_degraded(degrader.apply(decoded.rgb, params));
      char prefix[32];
      std::snprintf(prefix, sizeof prefix, "%06zu_", i);
      const std::string name = prefix + fs::path(row.file).stem().string() + ".jpg";
      const fs::path path = image_dir / name;
      std::ofstream file(path, std::ios::binary | std::ios::trunc);
      file.write(reinterpret_cast<const char*>(bytes.data()), static_cast<std::streamsize>(bytes.size()));
      file.close();
      FACEAGE_CHECK(file.good(), ErrorCode::kIo, "cannot write " << path.string());

      data::ManifestRow degraded = row;
      degraded.file = "images/" + name;
      degraded.path = path.string();
      output.rows.push_back(std::move(degraded));
      const auto names = degradation_names(params);
      applied.values.push_back(names.empty() ? "none" : join(names, "+"));
      for (const auto& n : names) ++report.counts[n.substr(0, n.find_first_of("0123456789"))];
    } catch (const Error& e) {
      report.failures.emplace_back(row.file, e.what());
    }
    bar.advance();
  }
  bar.finish();
  report.written = output.rows.size();
  report.failed = report.failures.size();
  report.manifest_path = (out_dir / "manifest.csv").string();
  data::write_manifest(output, report.manifest_path, {applied});
  fs::remove(out_dir / "failures.csv", ec);  // a stale list from an earlier run would mislead
  if (!report.failures.empty()) {
    data::CsvWriter failures({"file", "error"});
    for (const auto& [file, reason] : report.failures) failures.add_row({file, reason});
    report.failures_path = (out_dir / "failures.csv").string();
    failures.save(report.failures_path);
  }
  report.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return report;
}

}  // namespace faceage::augment
