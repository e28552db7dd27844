#pragma once
// The Predictor: decode -> detect -> align -> preprocess -> model(s) -> decoded answers.
// The CLI (`faceage predict`, `faceage eval --model`) and the HTTP server call the same object.
// Torch stays out of this header (pimpl), so shells that include it compile fast.
#include <array>
#include <cstdint>
#include <exception>
#include <functional>
#include <new>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>
#include <opencv2/core.hpp>

#include "faceage/core/context.hpp"
#include "faceage/core/error.hpp"
#include "faceage/data/image_io.hpp"
#include "faceage/face/face_pipeline.hpp"
#include "faceage/models/precision.hpp"

namespace faceage::infer {

struct PredictorOptions {
  // Bundles or ensemble files to run; more than one bundle in all is an ensemble (ages and
  // probabilities averaged). Empty: the default model (default_model_path()).
  std::vector<std::string> model_paths;
  std::string detector;     // empty: the detector recorded in the (first) bundle
  std::string yunet_model;  // yunet model file or folder (else FACEAGE_YUNET_MODEL, else the shipped one)
  bool all_faces = true;    // false: only the largest face per image
  // Test-time horizontal-flip averaging. Unset: what the first model file records (an ensemble
  // file's test_time_flip), else on.
  std::optional<bool> flip_average;
  int batch_size = 32;      // images per model call (with flip averaging a face and its mirror are two)
  // Backbone precision; auto: bfloat16 where the CPU has native bf16 (models/precision.hpp).
  models::InferencePrecision precision = models::InferencePrecision::kAuto;
  data::DecodeOptions decode;
};

struct FacePrediction {
  int face = 0;
  cv::Rect2f box;
  std::array<cv::Point2f, 5> landmarks{};
  bool has_landmarks = false;
  float detector_score = 0.f;
  std::string face_source;  // "detector" | "padded_retry" | "crop_fallback"
  double age = 0, age_low = 0, age_high = 0, age_std = 0;
  std::string gender;       // "male" | "female"
  double gender_prob = 0;   // probability of `gender`
  double female_prob = 0;
};

struct PredictionError {
  ErrorCode code = ErrorCode::kInternal;
  std::string message;
};

struct ImagePrediction {
  std::string source;
  int width = 0, height = 0;
  std::vector<FacePrediction> faces;
  std::optional<PredictionError> error;  // set: the image failed and has no faces
  bool ok() const { return !error.has_value(); }
};

// Model answer for one aligned crop.
struct CropAnswer {
  double age = 0, age_low = 0, age_high = 0, age_std = 0;
  double female_prob = 0;
};

struct ModelInfo {
  std::vector<std::string> paths;
  std::vector<nlohmann::json> bundles;  // read_bundle_info of each path
  int members = 0;                      // bundles run per face (ensemble members included)
  std::string arch;                     // the first bundle's backbone
  bool flip_average = true;             // resolved test-time flip setting
  std::string detector;
  int crop_size = 0;
  std::string precision;  // resolved: "float32" | "bfloat16"
};

class Predictor {
 public:
  Predictor(const PredictorOptions& options, const Context& context);
  ~Predictor();
  Predictor(const Predictor&) = delete;
  Predictor& operator=(const Predictor&) = delete;

  // Per-image failures (unreadable, no face, too large) are returned in ImagePrediction::error;
  // these never throw for bad input.
  ImagePrediction predict_file(const std::string& path);
  ImagePrediction predict_bytes(const std::uint8_t* data, std::size_t size, const std::string& source);
  ImagePrediction predict_image(const cv::Mat& rgb, const std::string& source);
  // Many files: decode/detect/align in parallel over the context's threads, model in batches.
  // `on_done` is called once per finished image, in input order, and owns the record: nothing is
  // kept across batches, so a 10,000-image folder costs no more memory than a batch of it.
  void predict_files(const std::vector<std::string>& paths, const std::function<void(ImagePrediction&&)>& on_done);
  // The same, collecting every record (for callers that need them all at once).
  std::vector<ImagePrediction> predict_files(const std::vector<std::string>& paths);

  // Runs the model(s) on aligned crops (crop_size RGB). Thread-safe: model calls are serialised.
  std::vector<CropAnswer> predict_crops(const std::vector<cv::Mat>& aligned_crops);

  const ModelInfo& info() const;
  const PredictorOptions& options() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// The located (not yet answered) prediction of one image from its face-pipeline records: boxes,
// landmarks and sources filled; the aligned crops moved to the end of `crops` in face order.
// Shared by the Predictor and the server so both report faces the same way.
ImagePrediction located_prediction(const cv::Mat& rgb, const std::string& source,
                                   std::vector<face::FaceRecord>&& records, std::vector<cv::Mat>& crops);
// Writes model answers into the faces (answers[i] for face i). `genders`: the bundle's two gender
// label names (male first), or empty for "male"/"female".
void apply_answers(ImagePrediction& prediction, const CropAnswer* answers, const std::vector<std::string>& genders);

// A record for an image that failed with `code`.
ImagePrediction failed_prediction(const std::string& source, ErrorCode code, const std::string& message);

// Runs `work` (returning an ImagePrediction), turning any failure into a per-image error record, so
// bad input never ends a batch or a request. Shared by the predictor and the server.
template <class Work>
ImagePrediction guard_prediction(const std::string& source, Work&& work) {
  try {
    return work();
  } catch (const Error& e) {
    return failed_prediction(source, e.code(), e.full_message());
  } catch (const cv::Exception& e) {
    return failed_prediction(source, ErrorCode::kUnreadableImage, source + ": image processing failed: " + e.what());
  } catch (const std::bad_alloc&) {
    return failed_prediction(source, ErrorCode::kTooLarge, source + ": out of memory while processing the image");
  } catch (const std::exception& e) {
    return failed_prediction(source, ErrorCode::kInternal, source + ": " + e.what());
  }
}

// Where the default model lives: $FACEAGE_MODEL, else the first existing of
// <exe dir>/models/default.fab, <exe dir>/../models/default.fab, <exe dir>/../share/faceage/models/default.fab.
// kNotFound with a hint when none exists.
std::string default_model_path();

// Records as JSON (one object per face, failures as one object with "error").
nlohmann::json to_json(const ImagePrediction& prediction);
// The CSV columns of `faceage predict --format csv`.
const std::vector<std::string>& prediction_csv_header();
std::vector<std::vector<std::string>> to_csv_rows(const ImagePrediction& prediction);
// Draws boxes and "age, gender" labels on a BGR copy of the image for --annotate.
cv::Mat annotate(const cv::Mat& rgb, const ImagePrediction& prediction);

}  // namespace faceage::infer
