#pragma once
// Weight averaging, a "model soup" (Wortsman et al. 2022): the element-wise mean of the weights of
// several fine-tunes of one start. Fine-tunes of one start stay in one basin of the loss, so their
// mean is usually a better model than any of them, at the cost of one model at inference (an
// ensemble costs one forward pass per member). Trainings from different starts have nothing to
// average: their mean is noise, which the reported distances show (models/weight_average.cpp).
#include <cstddef>
#include <string>
#include <vector>

namespace faceage::models {

struct WeightAverageOptions {
  std::vector<double> weights;  // one per bundle, >= 0, normalised to sum 1; empty: equal weights
  std::string name;             // metadata.name of the result; empty: "<out stem>"
};

struct WeightAverageSummary {
  std::size_t tensors = 0;  // floating-point parameters and buffers averaged
  // Per input bundle: ||w_i - w_mean|| / ||w_mean|| over the floating-point parameters. A few per
  // cent for fine-tunes of one start; of order 1 for unrelated trainings (nothing to average).
  std::vector<double> relative_distance;
  std::vector<double> weights;  // as normalised
};

// Loads every bundle (plain bundles only: kInvalidArgument for an ensemble file, kNotFound / kModel
// as load_bundle), requires one architecture, preprocessing, face pipeline and gender labels
// (kInvalidArgument naming the first difference), averages every floating-point parameter and
// buffer (BatchNorm running statistics too; integer buffers such as num_batches_tracked come from
// the first bundle) and writes the result atomically. Its metadata records each source (file name,
// SHA-256, weight, its own metadata). Calibration (conformal intervals, P(age < gate) scaling) is
// not carried over: it was fitted to other outputs; run `faceage models calibrate` on the result.
// Fewer than two bundles, a weight count that does not match, a negative weight or all zero:
// kInvalidArgument.
WeightAverageSummary save_weight_average(const std::vector<std::string>& bundle_paths, const std::string& out_path,
                                         const WeightAverageOptions& options = {});

}  // namespace faceage::models
