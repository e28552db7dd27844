#pragma once
// The Predictor: decode -> detect -> align -> preprocess -> model(s) -> decoded answers.
// The CLI (`faceage predict`, `faceage eval --model`) and the HTTP server call the same object.
// Torch stays out of this header (pimpl), so shells that include it compile fast.
#include <array>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>
#include <opencv2/core.hpp>

#include "faceage/core/context.hpp"
#include "faceage/core/error.hpp"
#include "faceage/data/image_io.hpp"
#include "faceage/face/quality.hpp"
#include "faceage/models/calibration.hpp"
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
  // Face pipelines (detector instances) that may exist at once; callers beyond that wait, first
  // come first served. 0: the context's threads.
  int face_workers = 0;
  // Build every face pipeline at construction (a server: no request waits for a detector to load).
  // Otherwise one is built (a bad detector fails at start-up) and the rest when needed.
  bool build_face_pipelines_now = false;
  // Answers to act on (docs/eval.md, "Calibration"). p_minor = P(age < minor_gate), Platt-calibrated when
  // the model file stores a calibration for this gate (`faceage models calibrate`), raw otherwise.
  double minor_gate = 18;
  // Interval coverage: with a stored conformal calibration at this coverage the interval is
  // age +/- q_band(age) * interval_scale_of(age_std, quality); otherwise the model's own interval.
  double coverage = 0.9;
  // Faces whose quality score is below this are flagged `unreliable`. 0.3: on clean UTKFace
  // validation crops few faces score below it, while tiny, blurred, dark or profile faces (two
  // poor parts, e.g. 0.5 x 0.5) do.
  double unreliable_below = 0.3;
  // Unreliable faces are dropped from the record; an image left with none gets the error kNoFace
  // ("no_face", HTTP 422: no face fit to judge; the message names the quality threshold) instead
  // of a number.
  bool refuse_unreliable = false;
  face::FaceQualityOptions quality;
  // Raw (uncalibrated) P(age < g) for each of these gates, into FacePrediction::raw_p_minor_at
  // (for fitting the calibration; no output format shows them).
  std::vector<double> raw_gates;
};

struct FacePrediction {
  int face = 0;
  cv::Rect2f box;
  std::array<cv::Point2f, 5> landmarks{};
  bool has_landmarks = false;
  float detector_score = 0.f;
  std::string face_source;  // "detector" | "padded_retry" | "crop_fallback"
  double age = 0, age_low = 0, age_high = 0, age_std = 0;
  // The bundle's gender label names ("male" | "female"); empty, and both probabilities unset, when
  // no model has a gender head (model.gender_head=false).
  std::string gender;
  std::optional<double> gender_prob;  // probability of `gender`
  std::optional<double> female_prob;
  double p_minor = 0;               // P(age < minor_gate)
  double minor_gate = 18;
  bool p_minor_calibrated = false;  // Platt scaling stored for this gate was applied
  bool conformal_interval = false;  // age_low/age_high from the stored conformal calibration
  face::FaceQuality quality;
  bool unreliable = false;          // quality.score < PredictorOptions::unreliable_below
  std::vector<double> raw_p_minor_at;  // per PredictorOptions::raw_gates
};

struct PredictionError {
  ErrorCode code = ErrorCode::kInternal;
  std::string message;
};

// One image's record. Faces come largest first (box area; ties left to right), so face 0 is the
// main subject in every output format.
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
  double p_minor = 0;  // raw (uncalibrated) P(age < gate), averaged over members and flips
  std::vector<double> p_minor_at;  // the same per PredictorOptions::raw_gates
  std::optional<double> female_prob;  // unset: no model has a gender head
};

struct ModelInfo {
  std::vector<std::string> paths;
  std::vector<nlohmann::json> bundles;  // read_bundle_info of each path
  std::vector<std::string> licences;    // models::licence_note of each path
  int members = 0;                      // bundles run per face (ensemble members included)
  std::string arch;                     // the first bundle's backbone
  bool flip_average = true;             // resolved test-time flip setting
  std::string detector;
  int crop_size = 0;
  std::string precision;  // resolved: "float32" | "bfloat16"
  bool gender = true;     // some model has a gender head (else the gender fields stay empty)
  // Calibration stored in the (single) model file: its bundle.json labels, for a plain bundle and
  // for an ensemble file alike. Several model files given at once: none (raw p_minor, model intervals).
  std::vector<models::ConformalCalibration> conformal;
  std::vector<models::MinorCalibration> minor;
};

// The per-face scale of the conformal score, used alike when fitting (calibrate_model) and when
// answering (finish_face): the predicted distribution's std (floored at 0.5 years, so a spiky
// distribution still gets a width), widened for poor faces by (1 + kQualityWidening * (1 - quality)):
// a face of quality 0 gets 2.5 times the width of a perfect one at the same std (1.5 against 1.0
// and 0.75 measured on UTKFace val halves: the per-band coverage of degraded photos held best).
inline constexpr double kQualityWidening = 1.5;
double interval_scale_of(double age_std, double quality_score);

// Completes a located face from its model answer: ages, gender, p_minor (calibrated when
// `minor` is given), conformal interval (when `conformal` is given and finite for the age), and
// the unreliable flag from the face's quality (already assessed when it was located).
void finish_face(FacePrediction& face, const CropAnswer& answer, const std::vector<std::string>& genders,
                 const PredictorOptions& options, const models::ConformalCalibration* conformal,
                 const models::MinorCalibration* minor);

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

  // The steps every predict_* call runs, public so that a caller batching model calls across
  // requests (the server's dynamic batcher) runs exactly the same ones. All are thread-safe.
  //
  // 1. Locate: detect and align the faces of a decoded RGB image on a face pipeline lent by a
  //    bounded, first-come-first-served pool (PredictorOptions::face_workers). Returns the record
  //    without answers and appends each face's aligned crop to `crops`, in face order. Never
  //    throws for bad input: a failure is the record's error, and then nothing is appended.
  ImagePrediction locate_faces(const cv::Mat& rgb, const std::string& source, std::vector<cv::Mat>& crops);
  // Decodes (PredictorOptions::decode), then locates. `rgb`, when given, receives the decoded
  // image (empty when decoding failed).
  ImagePrediction locate_bytes(const std::uint8_t* data, std::size_t size, const std::string& source,
                               std::vector<cv::Mat>& crops, cv::Mat* rgb = nullptr);
  // 2. Answer: the model(s) on aligned crops (crop_size RGB); model calls are serialised.
  std::vector<CropAnswer> answer_crops(const std::vector<cv::Mat>& aligned_crops);
  // 3. Finish: `crops` (as located for `located`, in order) go through `run` (answer_crops, or a
  //    batcher in front of it) and the answers into the records. When `run` throws, every located
  //    image with faces gets that error; the others keep theirs.
  using CropRunner = std::function<std::vector<CropAnswer>(std::vector<cv::Mat>&&)>;
  void answer_located(std::vector<ImagePrediction>& located, std::vector<cv::Mat>&& crops, const CropRunner& run);

  const ModelInfo& info() const;
  const PredictorOptions& options() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

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
