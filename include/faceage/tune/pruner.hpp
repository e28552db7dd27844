#pragma once
// Early stopping of hopeless trials, decided from per-epoch metrics (values to minimise).
//   median              stop at step e (1-based count of reported epochs) when e > warmup_epochs,
//                       at least min_trials complete trials reached step e, and the trial's best
//                       value so far is worse than the median of their best values up to step e.
//   successive_halving  asynchronous SH (Li et al. 2020, ASHA): rungs at min_resource * eta^k
//                       epochs; a trial reaching a rung continues only if its best value so far is
//                       within the top 1/eta of all trials that reached that rung (the first to
//                       reach a rung always continues).
//   none                never prune.
#include <string>
#include <vector>

#include "faceage/core/config.hpp"

namespace faceage::tune {

struct PrunerOptions {
  std::string kind = "none";  // none | median | successive_halving
  int warmup_epochs = 1;
  int min_trials = 4;
  int eta = 3;
  int min_resource = 1;

  static PrunerOptions from_yaml(const YAML::Node& node);  // kConfig naming "pruner.<field>"
};

// `curve`: the trial's values per step so far. `complete`: curves of complete trials (median).
// `others`: curves of every other trial, any state (successive halving).
bool should_prune(const PrunerOptions& options, const std::vector<double>& curve,
                  const std::vector<std::vector<double>>& complete, const std::vector<std::vector<double>>& others);

}  // namespace faceage::tune
