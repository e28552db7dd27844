#pragma once
// Training losses, created by name from the `loss:` config sub-tree.
//
//   auto options = train::LossOptions::from_config(config.sub("loss"));
//   options.min_age = model_options.min_age;  options.max_age = model_options.max_age;
//   train::MultiTaskLoss criterion(options);
//   auto result = criterion(model->forward(images), targets);   // result.total.backward()
//
// Age losses: l1, mse, smooth_l1 (on ModelOutput::age); dldl and mean_variance (on
// ModelOutput::age_logits, the distribution head). Gender: cross-entropy ignoring label -1.
// Every per-sample loss is reduced as a weighted mean: sum(w·l) / sum(w) over the samples that
// have a label (Targets::weight, when given; non-finite ages and gender -1 are left out).
#include <torch/torch.h>

#include <memory>
#include <string>
#include <vector>

#include "faceage/core/config.hpp"
#include "faceage/core/registry.hpp"
#include "faceage/models/model.hpp"

namespace faceage::train {

struct Targets {
  torch::Tensor age;     // [B] float years; NaN = unknown (left out of the age loss)
  torch::Tensor gender;  // [B] int64: 0 male, 1 female, -1 unknown (left out of the gender loss)
  torch::Tensor weight;  // optional [B] sample weights (undefined: all 1)
};

struct LossOptions {
  std::string age = "l1";        // age loss name: l1 | mse | smooth_l1 | dldl | mean_variance
  double age_weight = 1.0;       // multitask weight of the age loss
  double gender_weight = 0.5;    // multitask weight of the gender loss; 0 turns it off
  double beta = 1.0;             // smooth_l1: L1/L2 switch point in years (PyTorch's beta)
  double sigma = 2.0;            // dldl: std (years) of the Gaussian soft label
  double expectation_weight = 1.0;  // dldl: λ of the L1 loss on the expectation (DLDL-v2)
  double mean_weight = 0.2;      // mean_variance: λ1 (Pan et al. 2018)
  double variance_weight = 0.05; // mean_variance: λ2
  double label_smoothing = 0.0;  // gender cross-entropy, in [0, 1)
  // Bin ages of the distribution head; the trainer copies them from ModelOptions.
  int min_age = 0;
  int max_age = 100;

  // Reads the `loss:` sub-tree (keys named as the fields above); unknown keys and bad values are
  // kConfig errors naming the key ("loss.sigma").
  static LossOptions from_config(const Config& loss, const std::string& prefix = "loss");
  // Copies min_age / max_age from the model.
  LossOptions& with_model(const models::ModelOptions& model);
  void validate(const std::string& prefix = "loss") const;  // kConfig naming the key
};

// One age loss. `per_sample` returns [B] unreduced losses (NaN ages may give any value there:
// they are masked out by the caller).
class AgeLoss {
 public:
  virtual ~AgeLoss() = default;
  virtual std::string name() const = 0;
  // True for losses on ModelOutput::age_logits (the distribution head).
  virtual bool needs_distribution() const { return false; }
  virtual torch::Tensor per_sample(const models::ModelOutput& output, const torch::Tensor& age) const = 0;
  // Weighted mean over samples with a finite age; a scalar tensor connected to the graph.
  torch::Tensor operator()(const models::ModelOutput& output, const Targets& targets) const;
};

using AgeLossRegistry = Registry<std::unique_ptr<AgeLoss>(const LossOptions&)>;
void register_builtin_age_losses(AgeLossRegistry& registry);
const AgeLossRegistry& builtin_age_losses();  // built once, never changed
// Creates options.age; an unknown name is kConfig listing the available ones.
std::unique_ptr<AgeLoss> make_age_loss(const LossOptions& options);

// Normalised Gaussian soft labels [B, bins] over integer ages min_age..min_age+bins-1, centred on
// each age clamped into that range (DLDL). `age` must be finite.
torch::Tensor gaussian_soft_labels(const torch::Tensor& age, int64_t bins, int min_age, double sigma);

// Cross-entropy on [B,2] logits, ignoring gender -1, optional label smoothing (PyTorch semantics).
// No labelled sample gives a zero that is still connected to the graph.
torch::Tensor gender_loss(const torch::Tensor& gender_logits, const Targets& targets, double label_smoothing = 0.0);

struct LossResult {
  torch::Tensor total;   // scalar, for backward
  torch::Tensor age;     // scalar, unweighted age loss
  torch::Tensor gender;  // scalar, unweighted gender loss (zero when gender_weight == 0)
  // Detached values for logging, filled with a single device->host copy (0 when not requested).
  double total_value = 0.0;
  double age_value = 0.0;
  double gender_value = 0.0;
};

// age_weight · age_loss + gender_weight · gender_loss.
class MultiTaskLoss {
 public:
  explicit MultiTaskLoss(const LossOptions& options);
  // values=false skips the host copy (it synchronises a GPU stream) for steps that do not log.
  LossResult operator()(const models::ModelOutput& output, const Targets& targets, bool values = true) const;
  // Fails early (kConfig) when the model cannot feed this loss: a distribution loss on a
  // regression head, a gender weight without a gender head, bins that differ from min/max_age.
  void check_model(const models::ModelOptions& model) const;
  const LossOptions& options() const { return options_; }
  const AgeLoss& age_loss() const { return *age_loss_; }

 private:
  LossOptions options_;
  std::unique_ptr<AgeLoss> age_loss_;
};

}  // namespace faceage::train
