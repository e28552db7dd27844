#pragma once
// Stops training when the validation metric has not improved for `patience` epochs; the same
// metric picks the run's best epoch (best.fab).
//
//   train::EarlyStopping stopper(train::EarlyStoppingOptions::from_config(config.sub("early_stopping")));
//   if (stopper.update(val_mae, epoch)) break;       // stopper.improved(): save the best checkpoint
//   checkpoint["early_stopping"] = stopper.state();  // load_state() on resume
//
// Improvement: metric < best − min_delta (mode min) or metric > best + min_delta (mode max); the
// first finite metric always improves; a NaN metric is a bad epoch.
#include <cstdint>
#include <string>

#include <nlohmann/json.hpp>

#include "faceage/core/config.hpp"

namespace faceage::train {

struct EarlyStoppingOptions {
  std::string mode = "min";  // min | max
  int64_t patience = 10;     // bad epochs before stopping; 0 turns early stopping off
  double min_delta = 0.0;    // >= 0, in metric units
  // The trainer's validation number that is watched: val_mae (lower is better) or gender_acc
  // (higher is better; for a step that trains the gender head alone, where val_mae cannot move).
  std::string metric = "val_mae";

  // Keys under `early_stopping:` named as the fields; bad values are kConfig naming the key.
  // Without a `mode` key the mode is the metric's direction; a mode against it is kConfig.
  static EarlyStoppingOptions from_config(const Config& early_stopping, const std::string& prefix = "early_stopping");
  void validate(const std::string& prefix = "early_stopping") const;
};

class EarlyStopping {
 public:
  explicit EarlyStopping(const EarlyStoppingOptions& options = {});

  // Records the metric of epoch `epoch`; returns should_stop().
  bool update(double metric, int64_t epoch);
  bool improved() const { return improved_; }   // whether the last update set a new best
  bool should_stop() const;
  bool has_best() const { return best_epoch_ >= 0; }
  double best() const { return best_; }          // NaN before the first finite metric
  int64_t best_epoch() const { return best_epoch_; }  // -1 before the first finite metric
  int64_t bad_epochs() const { return bad_epochs_; }
  const EarlyStoppingOptions& options() const { return options_; }

  nlohmann::json state() const;  // {"best", "best_epoch", "bad_epochs", "improved", "mode"}
  void load_state(const nlohmann::json& state);  // kModel when malformed, kConfig on a mode mismatch

 private:
  EarlyStoppingOptions options_;
  double best_;
  int64_t best_epoch_ = -1;
  int64_t bad_epochs_ = 0;
  bool improved_ = false;
};

}  // namespace faceage::train
