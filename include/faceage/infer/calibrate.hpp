#pragma once
// Fitting the answers users act on (`faceage models calibrate`): the Predictor runs over a
// labelled manifest (the same face pipeline as predict), then split-conformal intervals per
// coverage and Platt scaling of P(age < gate) per gate are fitted and stored in a copy of the
// model file (its bundle.json labels: a plain bundle's own, an ensemble file's own).
#include <string>
#include <vector>

#include "faceage/core/context.hpp"
#include "faceage/infer/predictor.hpp"

namespace faceage::infer {

struct CalibrateOptions {
  std::string model_path;     // one model file (plain bundle or ensemble); empty: the default model
  std::string manifest_csv;   // labelled images (file, age); a validation split, never training data
  std::string split;          // only rows of this split (empty: all)
  std::string out_path;       // the calibrated copy (written atomically)
  std::vector<double> coverages{0.8, 0.9, 0.95};
  std::vector<double> gates{13, 16, 18, 21};
  models::ConformalOptions conformal;
  PredictorOptions predictor;  // model_paths is replaced by model_path; the largest face per image
  int progress = -1;
};

struct CoverageFit {
  double coverage = 0;
  double before = 0, after = 0;            // fraction of faces whose true age is inside the interval
  double width_before = 0, width_after = 0;  // mean interval width, years
};
struct GateFit {
  double gate = 0;
  double ece_before = 0, ece_after = 0;  // 10 equal-width bins
  int minors = 0;
};
struct CalibrationSummary {
  int images = 0, faces = 0, failed = 0;
  std::vector<CoverageFit> coverages;
  std::vector<GateFit> gates;
};

// kInvalidArgument for an empty selection, a coverage outside (0,1), or a gate with only one class.
// The numbers "after" are on the fitting data itself (in-sample): report held-out numbers with
// `faceage eval` on other images.
CalibrationSummary calibrate_model(const CalibrateOptions& options, const Context& context);
std::string format_calibration_summary(const CalibrationSummary& summary);

}  // namespace faceage::infer
