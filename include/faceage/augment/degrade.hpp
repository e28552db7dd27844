#pragma once
// Degraded copies of face images and manifests: the robustness check behind `faceage data degrade`.
//
// Each image gets its own random combination of
//  - the photometric operations of an augment preset (default `degrade`: grayscale, sepia, colour
//    cast, fading, blur, resolution loss, sensor noise, film grain, JPEG); the preset's geometry
//    and erasing are training-only and ignored here; each operation is drawn independently with
//    the preset's probability (Augmenter::sample), so an image may get none or all of them;
//  - with canvas.prob, a larger canvas (random background, random face size and position) the
//    face is pasted into first, so that eval and predict have to find the face again.
// The canvas comes first and the photometric operations then cover the whole picture, as in a
// photo of a scene. Sizes in the preset (blur sigma, grain size, resolution) are for a face crop
// spanning kReferenceFacePixels, as in training; they scale with the pasted face.
//
// Reproducible: row i of a manifest draws from std::mt19937_64 seeded with
// degrade_row_seed(seed, i), so a seed gives the same files whatever else is in the batch.
#include <cstdint>
#include <map>
#include <random>
#include <string>
#include <utility>
#include <vector>

#include <opencv2/core.hpp>

#include "faceage/augment/augmenter.hpp"

namespace faceage::augment {

constexpr int kReferenceFacePixels = 112;  // the model input the preset sizes are stated for

struct CanvasOptions {
  double prob = 0.5;
  double face_scale_min = 0.6;  // pasted face side / input side, uniform
  double face_scale_max = 1.0;
  double size_min = 1.6;        // canvas width (and, drawn apart, height) / pasted face side, uniform
  double size_max = 3.0;
};

enum class Background { kSolid, kGradient, kBlotches };

struct CanvasParams {
  bool apply = false;
  double face_scale = 1.0;
  double width_ratio = 1.0, height_ratio = 1.0;
  double x = 0.5, y = 0.5;  // the face's position within the free space, 0..1 per axis
  Background background = Background::kSolid;
  cv::Vec3b colour_a{128, 128, 128}, colour_b{128, 128, 128};
  std::uint64_t seed = 0;   // seeds the blotches
};

struct DegradeOptions {
  std::string preset = "degrade";  // an augment preset (augment::presets())
  CanvasOptions canvas;
};

struct DegradeParams {
  AugmentParams photometric;  // geometry and erasing always off
  CanvasParams canvas;
};

struct DegradedImage {
  cv::Mat rgb;            // the degraded picture before its JPEG encoding, CV_8UC3 RGB
  cv::Rect face;          // where the input image lies in it
  int jpeg_quality = 95;  // the JPEG degradation's quality, else kPlainJpegQuality
};
constexpr int kPlainJpegQuality = 95;

// The names of the applied degradations, in order, e.g. {"canvas", "grayscale", "blur", "jpeg23"}.
std::vector<std::string> degradation_names(const DegradeParams& params);

// The input pasted into a canvas as `params` says; `face` receives its rectangle.
cv::Mat place_on_canvas(const cv::Mat& rgb, const CanvasParams& params, cv::Rect* face = nullptr);

class Degrader {
 public:
  // kNotFound for an unknown preset; kInvalidArgument for canvas ranges out of order or outside
  // (0, 1] (face scale) and [1, 8] (canvas size).
  explicit Degrader(const DegradeOptions& options);
  DegradeParams sample(std::mt19937_64& rng) const;
  // rgb: CV_8UC3 RGB (kInvalidArgument otherwise). The JPEG step is left to encode_degraded.
  DegradedImage apply(const cv::Mat& rgb, const DegradeParams& params) const;

 private:
  CanvasOptions canvas_;
  Augmenter sampler_;
};

// The file bytes: JPEG at image.jpeg_quality (the JPEG degradation happens here, once).
std::vector<std::uint8_t> encode_degraded(const DegradedImage& image);

std::uint64_t degrade_row_seed(std::uint64_t seed, std::size_t row);

struct DegradeManifestOptions {
  std::string manifest;  // input manifest (required)
  std::string out_dir;   // receives images/ , manifest.csv and, when some rows fail, failures.csv
  std::uint64_t seed = 42;
  DegradeOptions degrade;
  int progress = -1;     // progress bar: -1 on a terminal, 0 never, 1 always
};

struct DegradeReport {
  std::size_t rows = 0, written = 0, failed = 0;
  std::map<std::string, std::size_t> counts;  // degradation -> images (jpeg qualities counted as "jpeg")
  std::vector<std::pair<std::string, std::string>> failures;  // file, reason
  std::string manifest_path, failures_path;
  double seconds = 0;
};

// Degrades every row: the output manifest keeps each row's labels, points at the new image and
// adds a `degradations` column ("canvas+grayscale+jpeg23", "none"). A row whose image cannot be
// read is left out of the manifest and written to failures.csv (file,error); the batch goes on.
DegradeReport degrade_manifest(const DegradeManifestOptions& options);

}  // namespace faceage::augment
