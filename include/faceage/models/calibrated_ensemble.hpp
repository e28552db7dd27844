#pragma once
// An ensemble file calibrated as a whole (`faceage models calibrate` on an ensemble): its own
// bundle.json carries "labels" (the conformal and minor calibrations), which the predictor reads
// from a plain bundle and an ensemble file alike. Kept apart from bundle.hpp so that this rarely
// used entry point does not touch every file that includes bundle.hpp.
#include <string>
#include <vector>

#include "faceage/models/bundle.hpp"

namespace faceage::models {

// save_ensemble, plus `labels` in the file's own bundle.json.
void save_calibrated_ensemble(const std::vector<std::string>& member_paths, const std::string& path,
                              const EnsembleOptions& options, const LabelSpec& labels);

}  // namespace faceage::models
