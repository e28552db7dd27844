#pragma once
// Aligned face crops of a manifest, computed once through the same FacePipeline as inference and
// cached on disk, keyed by each image's content (SHA-256) and the pipeline settings.
//
// Layout: <cache_dir>/<settings hash>/crops.bin (raw RGB crops, one fixed-size slot each) and
// index.tsv (content hash -> slot, face source, landmarks; or the reason it failed). Crops are
// appended as they are made and the index is rewritten atomically every few hundred images, so a
// killed build resumes where it stopped. The finished set is memory-mapped: crop(i) is a view, no copy.
#include <array>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include <opencv2/core.hpp>

#include "faceage/core/context.hpp"
#include "faceage/data/manifest.hpp"
#include "faceage/face/face_pipeline.hpp"

namespace faceage::train {

struct CropCacheOptions {
  std::string cache_dir;        // required
  face::FacePipelineOptions face;  // selection is forced to kLargest (one face per labelled image)
  int threads = 0;              // 0: the context's threads
  bool progress = true;         // progress bar on a terminal
};

struct CropSample {
  std::size_t row = 0;  // index into the manifest rows
  float age = 0;
  int gender = -1;      // 0 male, 1 female, -1 unknown
  int race = -1;
  std::string source;   // face source: detector | padded_retry | crop_fallback
  std::array<cv::Point2f, 5> landmarks{};  // in crop pixels
  bool has_landmarks = false;
};

struct CropSetReport {
  std::size_t rows = 0, cached = 0, computed = 0, failed = 0;
  std::size_t detector = 0, padded_retry = 0, crop_fallback = 0;
  std::vector<std::pair<std::string, std::string>> failures;  // file, reason
  double seconds = 0;
  std::string cache_path;
};

class CropSet {
 public:
  // Builds (or reuses) the cache for every row of `manifest`. Rows whose image cannot be read or
  // has no face are left out and listed in the report; they never stop the build.
  static CropSet build(const data::Manifest& manifest, const CropCacheOptions& options, const Context& context,
                       CropSetReport* report = nullptr);
  CropSet(CropSet&&) noexcept;
  CropSet& operator=(CropSet&&) noexcept;
  ~CropSet();

  std::size_t size() const { return samples_.size(); }
  int crop_size() const { return crop_size_; }
  const CropSample& sample(std::size_t i) const { return samples_[i]; }
  // A read-only CV_8UC3 RGB view into the mapped cache (valid while the CropSet lives).
  cv::Mat crop(std::size_t i) const;
  const data::Manifest& manifest() const { return manifest_; }

 private:
  CropSet() = default;
  struct Mapping;
  data::Manifest manifest_;
  std::vector<CropSample> samples_;
  std::vector<std::int64_t> slots_;
  int crop_size_ = 0;
  std::unique_ptr<Mapping> mapping_;
};

// Hex hash of the settings that change a crop (pipeline JSON, the detector's model files, cache
// format version).
std::string crop_settings_hash(const face::FacePipelineOptions& options);

}  // namespace faceage::train
