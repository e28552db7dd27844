#include "faceage/infer/calibrate.hpp"

#include <cstdio>
#include <filesystem>
#include <map>

#include "faceage/core/check.hpp"
#include "faceage/core/fs.hpp"
#include "faceage/core/progress.hpp"
#include "faceage/data/manifest.hpp"
#include "faceage/face/detector.hpp"
#include "faceage/models/bundle.hpp"
#include "faceage/models/calibrated_ensemble.hpp"

namespace faceage::infer {

namespace fs = std::filesystem;

namespace {

// What calibration needs of each labelled face.
struct LabelledFace {
  double truth = 0, age = 0, scale = 0, low = 0, high = 0;
  std::vector<double> raw_p_minor;  // per gate
};

std::vector<int> labels_below(const std::vector<LabelledFace>& faces, double gate) {
  std::vector<int> labels;
  for (const auto& face : faces) labels.push_back(face.truth < gate ? 1 : 0);
  return labels;
}

// Writes `source` again as `out` with the fitted calibration in its own bundle.json labels.
// A calibration holds for the crops it was fitted on, so a copy calibrated under another detector
// (`detector`, empty: the bundle's own) records that detector as its face pipeline, and the terms
// of the landmark model it aligns with.
void write_calibrated(const std::string& source, const std::string& out, const std::vector<models::ConformalCalibration>& conformal,
                      const std::vector<models::MinorCalibration>& minor, const std::string& detector) {
  const auto info = models::read_bundle_info(source);
  if (info.value("format", std::string()) != "faceage-ensemble") {
    auto bundle = models::load_bundle(source);
    bundle.labels.conformal = conformal;
    bundle.labels.minor = minor;
    if (!detector.empty() && bundle.face_pipeline.value("detector", std::string()) != detector) {
      bundle.face_pipeline["detector"] = detector;
      const std::string note = face::landmark_licence_note(detector);
      std::string licence = bundle.metadata.value("licence", std::string());
      if (!note.empty() && licence.find(note) == std::string::npos) {
        bundle.metadata["licence"] = licence.empty() ? note : licence + "; " + note;
      }
    }
    models::save_bundle(bundle, out);
    return;
  }
  // An ensemble is calibrated as a whole: its members are repacked byte for byte.
  const fs::path scratch = temp_path_beside(out) + ".members";
  fs::create_directories(scratch);
  try {
    const auto members = models::unpack_ensemble(source, scratch.string());
    models::EnsembleOptions options;
    options.test_time_flip = info.value("test_time_flip", true);
    options.metadata = info.value("metadata", nlohmann::json::object());
    models::LabelSpec labels = models::label_spec_from_json(info.value("labels", nlohmann::json::object()));
    labels.conformal = conformal;
    labels.minor = minor;
    models::save_calibrated_ensemble(members, out, options, labels);
  } catch (...) {
    std::error_code ec;
    fs::remove_all(scratch, ec);
    throw;
  }
  std::error_code ec;
  fs::remove_all(scratch, ec);
}

double covered_fraction(const std::vector<LabelledFace>& faces, const std::vector<std::pair<double, double>>& intervals) {
  int inside = 0;
  for (std::size_t i = 0; i < faces.size(); ++i) {
    inside += faces[i].truth >= intervals[i].first && faces[i].truth <= intervals[i].second;
  }
  return faces.empty() ? 0.0 : static_cast<double>(inside) / faces.size();
}

double mean_width(const std::vector<std::pair<double, double>>& intervals) {
  double total = 0;
  for (const auto& [low, high] : intervals) total += high - low;
  return intervals.empty() ? 0.0 : total / intervals.size();
}

}  // namespace

CalibrationSummary calibrate_model(const CalibrateOptions& options, const Context& context) {
  FACEAGE_CHECK(!options.out_path.empty(), ErrorCode::kInvalidArgument, "calibrate needs an output path (--out)");
  FACEAGE_CHECK(!options.coverages.empty() || !options.gates.empty(), ErrorCode::kInvalidArgument,
                "nothing to calibrate: give coverages and/or gates");
  for (double c : options.coverages) {
    FACEAGE_CHECK(c > 0 && c < 1, ErrorCode::kInvalidArgument, "coverage must be in (0, 1), got " << c);
  }
  // An ensemble's members keep their own recorded pipelines (they are repacked byte for byte), so
  // a calibration fitted under another detector could not be recorded with them.
  if (!options.predictor.detector.empty() && !options.model_path.empty()) {
    const auto info = models::read_bundle_info(options.model_path);
    FACEAGE_CHECK(info.value("format", std::string()) != "faceage-ensemble", ErrorCode::kInvalidArgument,
                  "an ensemble is calibrated under its members' own face detector; drop --detector");
  }
  const data::Manifest manifest = data::read_manifest(options.manifest_csv);
  std::vector<std::string> paths;
  std::map<std::string, int> age_of_path;
  for (const auto& row : manifest.rows) {
    if ((!options.split.empty() && row.split != options.split) || row.age < 0) continue;
    const std::string path = data::resolved_path(manifest, row);
    if (age_of_path.emplace(path, row.age).second) paths.push_back(path);
  }
  FACEAGE_CHECK(!paths.empty(), ErrorCode::kInvalidArgument,
                options.manifest_csv << ": no labelled rows" << (options.split.empty() ? "" : " in split '" + options.split + "'"));

  PredictorOptions predictor_options = options.predictor;
  predictor_options.model_paths = options.model_path.empty() ? std::vector<std::string>{} : std::vector<std::string>{options.model_path};
  predictor_options.all_faces = false;  // a labelled photo holds one person
  predictor_options.refuse_unreliable = false;
  predictor_options.raw_gates = options.gates;
  Predictor predictor(predictor_options, context);
  const std::string source = predictor.info().paths.front();

  CalibrationSummary summary;
  std::vector<LabelledFace> faces;
  ProgressBar progress({"calibrate", static_cast<std::int64_t>(paths.size()), options.progress, "img"});
  std::int64_t done = 0;
  predictor.predict_files(paths, [&](ImagePrediction&& prediction) {
    ++summary.images;
    progress.update(++done);
    if (!prediction.ok() || prediction.faces.empty()) {
      ++summary.failed;
      return;
    }
    const auto& face = prediction.faces.front();
    faces.push_back({static_cast<double>(age_of_path.at(prediction.source)), face.age,
                     interval_scale_of(face.age_std, face.quality.score), face.age_low, face.age_high,
                     face.raw_p_minor_at});
  });
  progress.finish();
  summary.faces = static_cast<int>(faces.size());
  FACEAGE_CHECK(!faces.empty(), ErrorCode::kInvalidArgument, "no face was found in any selected image");

  std::vector<double> predicted, scale, truth;
  std::vector<std::pair<double, double>> before;
  for (const auto& face : faces) {
    predicted.push_back(face.age);
    scale.push_back(face.scale);
    truth.push_back(face.truth);
    before.emplace_back(face.low, face.high);
  }
  std::vector<models::ConformalCalibration> conformal;
  for (double coverage : options.coverages) {
    conformal.push_back(models::fit_conformal(predicted, scale, truth, coverage, options.conformal));
    std::vector<std::pair<double, double>> after;
    for (const auto& face : faces) {
      const auto interval = conformal.back().interval(face.age, face.scale);
      after.push_back(interval ? std::make_pair(interval->low, interval->high) : std::make_pair(face.low, face.high));
    }
    summary.coverages.push_back({coverage, covered_fraction(faces, before), covered_fraction(faces, after),
                                 mean_width(before), mean_width(after)});
  }
  std::vector<models::MinorCalibration> minor;
  for (std::size_t g = 0; g < options.gates.size(); ++g) {
    const auto labels = labels_below(faces, options.gates[g]);
    std::vector<double> raw;
    for (const auto& face : faces) raw.push_back(face.raw_p_minor.at(g));
    const auto scaling = models::fit_platt(raw, labels);
    std::vector<double> calibrated;
    for (double p : raw) calibrated.push_back(scaling.apply(p));
    minor.push_back({options.gates[g], scaling});
    GateFit fit;
    fit.gate = options.gates[g];
    fit.ece_before = models::expected_calibration_error(models::reliability_bins(raw, labels));
    fit.ece_after = models::expected_calibration_error(models::reliability_bins(calibrated, labels));
    for (int label : labels) fit.minors += label;
    summary.gates.push_back(fit);
  }
  write_calibrated(source, options.out_path, conformal, minor, options.predictor.detector);
  return summary;
}

std::string format_calibration_summary(const CalibrationSummary& summary) {
  std::string text;
  char line[256];
  std::snprintf(line, sizeof line, "%d image(s), %d face(s) used, %d without a face or failed (numbers below are in-sample)\n",
                summary.images, summary.faces, summary.failed);
  text += line;
  for (const auto& c : summary.coverages) {
    std::snprintf(line, sizeof line, "coverage %.2f: covered %.1f%% -> %.1f%%, mean width %.1f -> %.1f years\n",
                  c.coverage, 100 * c.before, 100 * c.after, c.width_before, c.width_after);
    text += line;
  }
  for (const auto& g : summary.gates) {
    std::snprintf(line, sizeof line, "P(age < %g): ECE %.3f -> %.3f (%d minors)\n", g.gate, g.ece_before, g.ece_after,
                  g.minors);
    text += line;
  }
  return text;
}

}  // namespace faceage::infer
