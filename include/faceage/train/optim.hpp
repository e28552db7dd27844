#pragma once
// Optimisers by name (adam, adamw, sgd) from the `optimizer:` config sub-tree, with
//  - layer-wise learning rates: a pretrained backbone at lr × backbone_lr_factor, heads at lr;
//  - no weight decay on biases and normalisation weights (every tensor with dim() <= 1, timm's
//    rule), by splitting each parameter group in two.
//
//   auto opt = train::OptimizerOptions::from_config(config.sub("optimizer"));
//   auto groups = train::backbone_head_groups(model->backbone_parameters(), model->head_parameters(), opt);
//   auto optimizer = train::make_optimizer(opt, groups);
//
// Group order in the optimizer: for each ParamGroupSpec in order, its decayed tensors, then its
// non-decayed ones (a part with no tensors is left out); describe_groups() lists them.
// A schedule sets group g's lr to base_lr(g) × multiplier; base lrs are what make_optimizer set
// (capture them with group_lrs() before any schedule runs).
#include <torch/torch.h>

#include <memory>
#include <string>
#include <vector>

#include "faceage/core/config.hpp"
#include "faceage/core/registry.hpp"

namespace faceage::train {

struct OptimizerOptions {
  std::string name = "adamw";   // adam | adamw | sgd
  double lr = 1e-3;             // head learning rate (the schedule's reference lr)
  double weight_decay = 0.05;   // AdamW: decoupled; adam/sgd: L2 added to the gradient
  double momentum = 0.9;        // sgd
  bool nesterov = false;        // sgd
  double beta1 = 0.9;           // adam, adamw
  double beta2 = 0.999;
  double eps = 1e-8;
  bool decay_norm_and_bias = false;  // false: no weight decay on tensors with dim() <= 1
  double backbone_lr_factor = 1.0;   // backbone lr = lr × factor, in (0, 1] usually 0.1
  double grad_clip_norm = 0.0;       // > 0: clip the global gradient L2 norm (see clip_grad_norm)

  // Reads `optimizer:` keys named as the fields (`betas: [0.9, 0.999]` is accepted too);
  // unknown keys and bad values are kConfig naming the key.
  static OptimizerOptions from_config(const Config& optimizer, const std::string& prefix = "optimizer");
  void validate(const std::string& prefix = "optimizer") const;
};

struct ParamGroupSpec {
  std::string name;                   // "backbone", "heads" (for logs and describe_groups)
  std::vector<torch::Tensor> params;  // tensors that do not require grad are skipped
  double lr_factor = 1.0;             // group lr = OptimizerOptions::lr × lr_factor
};

// Group 0: backbone at lr × backbone_lr_factor; group 1: heads at lr.
std::vector<ParamGroupSpec> backbone_head_groups(std::vector<torch::Tensor> backbone,
                                                 std::vector<torch::Tensor> heads, const OptimizerOptions& options);

struct GroupInfo {
  std::string name;  // spec name + ".decay" / ".no_decay"
  double lr = 0.0;
  double weight_decay = 0.0;
  int64_t tensors = 0;
  int64_t elements = 0;
};
// One optimizer parameter group as make_optimizer builds it.
struct OptimizerGroup {
  GroupInfo info;
  std::vector<torch::Tensor> params;
};
// Splits specs into decay / no-decay groups, in the order documented above.
std::vector<OptimizerGroup> split_groups(const OptimizerOptions& options, const std::vector<ParamGroupSpec>& specs);
std::vector<GroupInfo> describe_groups(const OptimizerOptions& options, const std::vector<ParamGroupSpec>& specs);

using OptimizerRegistry =
    Registry<std::unique_ptr<torch::optim::Optimizer>(const OptimizerOptions&, const std::vector<OptimizerGroup>&)>;
void register_builtin_optimizers(OptimizerRegistry& registry);
const OptimizerRegistry& builtin_optimizers();  // built once, never changed

// An unknown name is kConfig listing the available ones; no trainable tensor is kInvalidArgument.
std::unique_ptr<torch::optim::Optimizer> make_optimizer(const OptimizerOptions& options,
                                                        const std::vector<ParamGroupSpec>& specs);

// Current lr of every group, in order.
std::vector<double> group_lrs(const torch::optim::Optimizer& optimizer);
// Sets group g's lr to base_lrs[g] × multiplier (sizes must match: kInvalidArgument).
void set_group_lrs(torch::optim::Optimizer& optimizer, const std::vector<double>& base_lrs, double multiplier);

// Clips the global L2 norm of all gradients in the optimizer to max_norm (PyTorch's
// clip_grad_norm_); returns the norm before clipping (may be inf/NaN: skip that step).
double clip_grad_norm(torch::optim::Optimizer& optimizer, double max_norm);

}  // namespace faceage::train
