#pragma once
// `faceage baseline train` and `faceage baseline predict`: the HOG + SVR baseline (hog_svr.hpp) on
// manifests and images, through the same face pipeline and record formats as the networks.
//
// Training reads the aligned crops of the crop cache (train::CropSet, shared with `faceage train`).
// Prediction locates faces exactly as infer::Predictor does (infer/locate.hpp): an image without a
// face is a "no_face" error record, never an age; records are written by infer::RecordWriter, so
// `--format csv` output is scored by `faceage eval --predictions`.
#include <iosfwd>
#include <optional>
#include <string>
#include <vector>

#include "faceage/baseline/hog_svr.hpp"
#include "faceage/core/context.hpp"
#include "faceage/eval/metrics.hpp"
#include "faceage/face/face_pipeline.hpp"
#include "faceage/infer/batch.hpp"
#include "faceage/infer/predictor.hpp"

namespace faceage::baseline {

struct TrainRunOptions {
  std::string train_csv;       // manifest (required)
  std::string val_csv;         // optional: scored after fitting; its residual spread sets the intervals
  std::string out;             // model file (required)
  std::string cache_dir;       // crop cache; empty: ~/.cache/faceage/crops (as `faceage train`)
  face::FacePipelineOptions face;  // how crops are made; stored in the model for prediction
  BaselineOptions model;
  int progress = -1;           // crop-cache progress bars: -1 on a terminal, 0 never, 1 always
};

struct TrainRunResult {
  std::size_t train_crops = 0, train_failed = 0;  // crops available / rows without a crop
  FitReport fit;
  double age_residual_std = 0;               // on val when given, else on the fitted crops
  std::optional<eval::EvalMetrics> val;      // when val_csv was given
  std::size_t val_crops = 0, val_failed = 0;
};

// Builds the crops, fits, scores val, saves `out`. kInvalidArgument for missing paths or a
// manifest with fewer than 2 usable crops.
TrainRunResult train_baseline(const TrainRunOptions& options, const Context& context);
// "fitted on 3000 crops in 95 s (2876 age / 1702 gender support vectors)\nval: n=... MAE ..."
std::string format_train_result(const TrainRunResult& result);

struct BaselinePredictOptions {
  std::string model;                // baseline model file (required)
  std::vector<std::string> inputs;  // image files and folders, or:
  std::string manifest_csv;         // every row's image (largest face); the file column is the
  std::string split;                // manifest's own path, as `faceage eval --model` writes it
  std::string format;               // as infer::RecordWriter; empty: csv with a manifest, else json
  std::string output;               // records file; empty: the stream
  bool all_faces = true;            // false: the largest face only (always so with a manifest)
  std::string detector;             // empty: the detector the baseline was trained with
  // Ensemble: also run this network bundle on the same crops and average. Its face pipeline
  // locates the faces (a warning when it differs from the baseline's).
  std::string network;
  double baseline_weight = 0.05;    // weight of the baseline in the average (age and P(female));
                                    // 0.05: best on UTKFace val, within noise of the network alone
  int progress = -1;
};

// Weighted average of a network answer and the baseline's: age, interval bounds and P(female)
// (when both have it) are (1-w)·network + w·baseline; the network's spread and p_minor are kept.
infer::CropAnswer blend_answers(const infer::CropAnswer& network, const BaselineAnswer& baseline, double weight);

// Writes one record per image; per-image failures are error records and counted.
// kInvalidArgument: neither or both of inputs / manifest, a weight outside [0, 1];
// kNotFound: no images; kModel: a bad model file.
infer::PredictRunSummary predict_baseline(const BaselinePredictOptions& options, const Context& context,
                                          std::ostream& out);

}  // namespace faceage::baseline
