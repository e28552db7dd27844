#pragma once
// Exponential moving average of a model's weights (timm's ModelEmaV2/V3): evaluating the EMA
// weights usually beats the raw ones by a little for free.
//
//   train::ModelEma ema(*model, train::EmaOptions::from_config(config.sub("ema")));
//   ... optimizer->step(); ema.update(*model);
//   { train::ModelEma::ScopedSwap use_ema(ema, *model); evaluate(model); }   // swapped back after
//
// Parameters are averaged: ema = d·ema + (1 − d)·param. Buffers (BatchNorm running stats,
// counters) are copied from the model at every update: they are statistics, not weights.
// With warm-up the n-th update (n = 1, 2, ...) uses
//   d_n = clamp(1 − (1 + (n − 1)/warmup_gamma)^(−warmup_power), min_decay, decay)
// so the first update copies the model and early averages are not dominated by the random init
// (timm ModelEmaV3). warmup_gamma = warmup_power = 1 makes the EMA the running mean of all updates.
#include <torch/torch.h>

#include <cstdint>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "faceage/core/config.hpp"

namespace faceage::train {

struct EmaOptions {
  bool enabled = false;         // read by the trainer
  double decay = 0.9998;        // in [0, 1)
  bool warmup = true;
  double warmup_gamma = 1.0;    // > 0
  double warmup_power = 2.0 / 3.0;  // > 0
  double min_decay = 0.0;

  // Keys under `ema:` named as the fields; unknown keys and bad values are kConfig naming the key.
  static EmaOptions from_config(const Config& ema, const std::string& prefix = "ema");
  void validate(const std::string& prefix = "ema") const;
};

class ModelEma {
 public:
  // Copies the model's parameters and buffers (same device and dtype).
  explicit ModelEma(const torch::nn::Module& model, const EmaOptions& options = {});

  // One EMA step from the model's current weights (after optimizer.step()).
  void update(const torch::nn::Module& model);
  // Decay the next update() will use.
  double next_decay() const;
  int64_t updates() const { return updates_; }
  const EmaOptions& options() const { return options_; }

  // Writes the EMA weights into the model (e.g. before saving the final bundle).
  void copy_to(torch::nn::Module& model) const;
  // Exchanges the model's weights and the EMA's: call twice to restore.
  void swap(torch::nn::Module& model);
  // Moves the EMA tensors (e.g. to keep them on the CPU, or after the model moved).
  void to(const torch::Device& device);

  // Named EMA tensors ("param:<name>", "buffer:<name>") plus "updates" as an int64 scalar.
  std::map<std::string, torch::Tensor> state_dict() const;
  // Every name must be present with the same shape: otherwise kModel, nothing changed.
  void load_state_dict(const std::map<std::string, torch::Tensor>& state);
  // The same tensors under `prefix` in a LibTorch archive (checkpoint files).
  void save(torch::serialize::OutputArchive& archive, const std::string& prefix = "ema") const;
  void load(torch::serialize::InputArchive& archive, const std::string& prefix = "ema");

  const std::vector<std::pair<std::string, torch::Tensor>>& parameters() const { return params_; }

  // Swaps the EMA weights in for a scope (evaluation) and back out at its end.
  class ScopedSwap {
   public:
    ScopedSwap(ModelEma& ema, torch::nn::Module& model) : ema_(ema), model_(model) { ema_.swap(model_); }
    ~ScopedSwap() { ema_.swap(model_); }
    ScopedSwap(const ScopedSwap&) = delete;
    ScopedSwap& operator=(const ScopedSwap&) = delete;

   private:
    ModelEma& ema_;
    torch::nn::Module& model_;
  };

 private:
  EmaOptions options_;
  std::vector<std::pair<std::string, torch::Tensor>> params_;
  std::vector<std::pair<std::string, torch::Tensor>> buffers_;
  int64_t updates_ = 0;
};

}  // namespace faceage::train
