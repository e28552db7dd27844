#pragma once
// A model bundle: one file holding weights + architecture options + preprocessing + face pipeline
// settings + label spec + metadata (training config, metrics, data checksum). Loading a bundle
// rebuilds everything needed to reproduce its predictions.
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

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

// Writes atomically (temp file + rename). kIo on failure.
void save_bundle(const Bundle& bundle, const std::string& path, const SaveOptions& options = {});
// kNotFound for a missing file, kModel for anything that is not a valid bundle. The model is in
// eval mode on `device`.
Bundle load_bundle(const std::string& path, const std::string& device = "cpu");
// Reads only the JSON parts (no weights) for listings and metadata routes.
nlohmann::json read_bundle_info(const std::string& path);

}  // namespace faceage::models
