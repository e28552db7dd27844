#pragma once
// BatchNorm utilities for fine-tuning checkpoints whose BatchNorm was folded (identity statistics:
// mean 0, variance 1, weight 1, folded bias), such as ../shared/weights/mobilenet_v2_imagenet.pt.
// In training mode such BN layers normalise by batch statistics and throw the pretrained features
// away; either keep them frozen or re-estimate their statistics first.
#include <torch/torch.h>

#include <functional>
#include <optional>

#include "faceage/models/model.hpp"
#include "faceage/models/precision.hpp"

namespace faceage::models {

// True for the backbones' BatchNorm layers (and torch::nn::BatchNorm1d/2d): use this rather than
// module.as<torch::nn::BatchNorm2dImpl>(), which does not match them. For weight-decay exclusion
// and similar per-layer decisions in the trainer.
bool is_batchnorm(const torch::nn::Module& module);

// frozen: every BatchNorm under `module` stays in eval mode (running statistics are used and
// not updated), also across later module.train() calls when `module` is an AgeGenderModelImpl.
// freeze_affine: additionally make BN weight/bias non-trainable (requires_grad false).
// frozen == false undoes both (BN follows the module's training mode again).
void set_batchnorm_frozen(torch::nn::Module& module, bool frozen, bool freeze_affine = false);

// BN re-estimation: runs the model in eval mode over batches from next_batch (images as the
// model takes them; nullopt ends early) for at most max_batches, records each BN input's
// per-channel mean mu and variance s2 (over batch and pixels), then rewrites every BN so that
// running_mean = mu, running_var = s2 and the eval output is unchanged:
//   weight' = weight * sqrt(s2 + eps) / sqrt(var + eps),  bias' = bias + weight * (mu - mean) / sqrt(var + eps)
// (for folded BN: weight' = sqrt(s2 + eps), bias' = bias + mu, as in shared/README.md).
// Training-mode BN then normalises inputs close to what the pretrained network saw. Restores the
// model's training mode afterwards. Returns the number of batches used; kInvalidArgument if
// next_batch yields nothing.
int reestimate_folded_batchnorm(AgeGenderModel& model, const std::function<std::optional<torch::Tensor>()>& next_batch,
                                int max_batches);

// Inference only: folds each BatchNorm (and each per-channel scale layer of dlib_resnet) into the
// convolution before it (conv gains a bias, BN becomes an identity). Eval outputs stay the same within float rounding; the model's state dict
// no longer describes the weights, so fuse after loading and moving to the device and never save a
// fused model. Returns the number of layers folded.
int fuse_batchnorm_for_inference(AgeGenderModel& model);

// Inference only, after loading and moving to the device: eval mode, fuse_batchnorm_for_inference,
// convolution weights in channels-last layout and inputs converted to it in forward (oneDNN's fast
// path). MobileNetV2 at 128 px, batch 1, one thread: ~4 ms instead of ~25 ms (bench/README.md).
// Outputs match the unoptimised model within float rounding. Never save an optimised model.
// `precision` (kAuto: resolve_precision for the model's device, models/precision.hpp): bfloat16
// also runs the backbone in bf16, so outputs differ by bf16 rounding (accuracy cost: model card).
void optimize_for_inference(AgeGenderModel& model, InferencePrecision precision = InferencePrecision::kFloat32);

}  // namespace faceage::models
