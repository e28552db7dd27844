#pragma once
// One loaded model version as the server runs it: the Predictor (whose steps locate faces on the
// HTTP worker threads) and the dynamic batcher in front of Predictor::answer_crops. Only the
// batching wiring lives here; every prediction step is the Predictor's, so a served answer equals
// a `faceage predict` answer by construction.
// Requests hold a shared_ptr to the version they started on, so a hot reload swaps versions
// without disturbing requests in flight (the old version is freed when its last request ends).
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "faceage/core/context.hpp"
#include "faceage/infer/predictor.hpp"
#include "faceage/serve/batcher.hpp"

namespace faceage::serve {

struct ServedModelOptions {
  infer::PredictorOptions predictor;
  BatcherOptions batching;
  int face_workers = 0;  // concurrent decode/detect/align (face pipelines); 0: context.threads
  DynamicBatcher::BatchObserver on_batch;  // metrics hook, may be empty
  std::string version;  // "" : derived from the bundle (see ServedModel::version)
  // Where the model came from when served from a model registry ({dir, version, sha256, ...});
  // null otherwise. Reported by describe() under "registry".
  nlohmann::json registry;
};

// Timings of one image through the served pipeline (for metrics and logs).
struct ImageTimings {
  double queue_seconds = 0;  // waiting for the batcher
};

class ServedModel {
 public:
  // Loads the bundle(s) (kNotFound / kModel on failure).
  ServedModel(const ServedModelOptions& options, const Context& context);
  ~ServedModel();
  ServedModel(const ServedModel&) = delete;
  ServedModel& operator=(const ServedModel&) = delete;

  struct ImageBytes {
    const std::uint8_t* data = nullptr;
    std::size_t size = 0;
    std::string source;
  };
  // Predictor::locate_bytes on the calling thread, then one batcher call for every face of every
  // image (Predictor::answer_located). Never throws for bad input: failures are per image in
  // ImagePrediction::error (as Predictor::predict_bytes). `rgbs`, when given, receives each decoded image (for
  // ?annotate=1; empty for images that failed to decode).
  std::vector<infer::ImagePrediction> predict(const std::vector<ImageBytes>& images, ImageTimings* timings = nullptr,
                                              std::vector<cv::Mat>* rgbs = nullptr);
  infer::ImagePrediction predict_bytes(const std::uint8_t* data, std::size_t size, const std::string& source);

  infer::Predictor& predictor() { return *predictor_; }
  const infer::ModelInfo& info() const { return predictor_->info(); }
  // A short stable version string: ServedModelOptions::version (the registry's version number when
  // served from a registry) if given, else the bundle metadata's "version" if present, else the
  // first 12 hex digits of the (first) bundle file's SHA-256.
  const std::string& version() const { return version_; }
  // {name, version, paths, detector, crop_size, arch, bundles: [...], registry} for /v1/models.
  nlohmann::json describe(const std::string& name) const;

 private:
  std::unique_ptr<infer::Predictor> predictor_;
  std::string version_;
  nlohmann::json registry_;
  std::unique_ptr<DynamicBatcher> batcher_;  // last: destroyed first, draining into the predictor
};

}  // namespace faceage::serve
