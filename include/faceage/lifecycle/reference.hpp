#pragma once
// The reference profile of a model: the monitored features of its own answers on a labelled
// split (the validation split at training time), measured through the same Predictor path the
// server logs, and stored in the bundle (metadata.reference_profile) so that a served model brings
// its own idea of "normal" (docs/monitoring.md).
#include <string>
#include <vector>

#include "faceage/core/context.hpp"
#include "faceage/infer/predictor.hpp"
#include "faceage/monitor/profile.hpp"

namespace faceage::lifecycle {

struct ModelProfileOptions {
  infer::PredictorOptions predictor;  // model_paths: the model to profile (all_faces is forced off)
  std::string manifest;               // its images (a labelled photo holds one person: the largest face)
  monitor::ProfileOptions profile;
};

// kNotFound for a missing manifest or model; kInvalidArgument when no image yields a face.
monitor::ReferenceProfile profile_model(const ModelProfileOptions& options, const Context& context);

// Rewrites a plain bundle with the profile in metadata.reference_profile (atomically; the weights
// are unchanged, so its answers are too). kInvalidArgument for an ensemble file.
void embed_reference_profile(const std::string& bundle_path, const monitor::ReferenceProfile& profile);

// The training-time profile (`faceage train`, `faceage retrain`): the bundle's own answers on the
// validation manifest it names (metadata.val_manifest), embedded into it. Returns the profile.
// kInvalidArgument when the bundle names no validation manifest.
monitor::ReferenceProfile embed_validation_profile(const std::string& bundle_path, const Context& context);

}  // namespace faceage::lifecycle
