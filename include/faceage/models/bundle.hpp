#pragma once
// A model bundle: one file holding weights + architecture options + preprocessing + face pipeline
// settings + label spec + metadata (training config, metrics, data checksum). Loading a bundle
// rebuilds everything needed to reproduce its predictions.
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "faceage/models/calibration.hpp"
#include "faceage/models/model.hpp"
#include "faceage/models/preprocess.hpp"

namespace faceage::models {

struct LabelSpec {
  std::vector<std::string> genders{"male", "female"};  // index = gender class
  // Age interval reported with each prediction: central `interval_coverage` mass of the predicted
  // distribution, widened by `interval_scale` (calibrated on validation data by train/eval).
  // For a regression head: age -/+ interval_halfwidth * interval_scale.
  double interval_coverage = 0.8;
  double interval_scale = 1.0;
  double interval_halfwidth = 5.0;
  // Fitted by `faceage models calibrate` (models/calibration.hpp); empty in bundles made before it.
  // With a stored conformal calibration at the coverage asked, intervals come from it instead.
  std::vector<ConformalCalibration> conformal;
  std::vector<MinorCalibration> minor;  // Platt scaling of P(age < gate), per gate
};

nlohmann::json to_json(const LabelSpec& spec);
LabelSpec label_spec_from_json(const nlohmann::json& json);
nlohmann::json to_json(const ModelOptions& options);
ModelOptions model_options_from_json(const nlohmann::json& json);

struct Bundle {
  ModelOptions model_options;
  PreprocessSpec preprocess;
  nlohmann::json face_pipeline = nlohmann::json::object();  // face::FacePipelineOptions as JSON
  LabelSpec labels;
  nlohmann::json metadata = nlohmann::json::object();  // name, created_at, config, metrics, data
  AgeGenderModel model{nullptr};
};

struct SaveOptions {
  bool half_precision = false;  // store float weights as fp16 (smaller file; loads back to fp32)
};

// A bundle with seeded random weights (eval mode) whose metadata says it is untrained: for smoke
// tests and for checking a deployment end to end before a trained model exists.
Bundle untrained_bundle(const ModelOptions& options, int input_size);

// Writes atomically (temp file + rename). kIo on failure.
void save_bundle(const Bundle& bundle, const std::string& path, const SaveOptions& options = {});
// kNotFound for a missing file, kModel for anything that is not a valid bundle. The model is in
// eval mode on `device`.
Bundle load_bundle(const std::string& path, const std::string& device = "cpu");
// Reads only the JSON parts (no weights) for listings and metadata routes. For an ensemble file:
// its own JSON (format "faceage-ensemble"), each member's bundle.json under members[i].info.
nlohmann::json read_bundle_info(const std::string& path);

// An ensemble file packs several bundles, byte for byte, into one file (the same zip container) so
// that one path (models/default.fab, a registry entry, a hot reload) names a whole ensemble. It also
// records whether test-time flip averaging suits it (off: the members, not mirror images, use the
// compute; for a latency budget).
struct EnsembleOptions {
  bool test_time_flip = true;
  nlohmann::json metadata = nlohmann::json::object();  // name, created_at, metrics, ...
};
// Members must be plain bundles (kInvalidArgument for an ensemble member, kNotFound / kModel as
// load_bundle for a missing or damaged one). Writes atomically.
void save_ensemble(const std::vector<std::string>& member_paths, const std::string& path,
                   const EnsembleOptions& options = {});

// Writes each member of an ensemble file back out as a bundle, byte for byte, named
// <ensemble stem>-member-<i>.fab in `out_dir`; returns the paths. kInvalidArgument for a plain bundle.
std::vector<std::string> unpack_ensemble(const std::string& path, const std::string& out_dir);

// The terms a model file may be used under, as recorded when it was made: a plain bundle's
// metadata.licence (from the training config's data.licence); an ensemble's own metadata.licence,
// else its members' notes joined. Models made before notes were recorded get a sentence saying so.
std::string licence_note(const nlohmann::json& info);

// What a model file holds: one bundle, or an ensemble's members in order.
struct ModelFile {
  std::vector<Bundle> members;
  nlohmann::json info;  // the file's bundle.json, as read_bundle_info returns it
  // The ensemble's recorded flip setting; unset for a plain bundle (the caller's default applies).
  std::optional<bool> test_time_flip;
};
// Loads a plain bundle or an ensemble file (members in eval mode on `device`).
ModelFile load_model_file(const std::string& path, const std::string& device = "cpu");

}  // namespace faceage::models
