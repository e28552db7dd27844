#include "faceage/models/batchnorm.hpp"

#include "faceage/core/check.hpp"
#include "models/layers.hpp"

namespace faceage::models {

bool is_batchnorm(const torch::nn::Module& module) {
  return dynamic_cast<const detail::BatchNormImpl*>(&module) != nullptr ||
         dynamic_cast<const torch::nn::BatchNorm2dImpl*>(&module) != nullptr ||
         dynamic_cast<const torch::nn::BatchNorm1dImpl*>(&module) != nullptr;
}

void set_batchnorm_frozen(torch::nn::Module& module, bool frozen, bool freeze_affine) {
  if (auto* model = dynamic_cast<AgeGenderModelImpl*>(&module)) model->set_frozen_batchnorm(frozen);
  const bool trainable = !(frozen && freeze_affine);
  auto apply = [&](torch::nn::Module& bn) {
    if (frozen) {
      bn.eval();
    } else {
      bn.train(module.is_training());
    }
    for (auto& p : bn.parameters(false)) p.set_requires_grad(trainable);
  };
  if (is_batchnorm(module)) apply(module);
  for (auto& child : module.modules(/*include_self=*/false)) {
    if (is_batchnorm(*child)) apply(*child);
  }
}

int reestimate_folded_batchnorm(AgeGenderModel& model, const std::function<std::optional<torch::Tensor>()>& next_batch,
                                int max_batches) {
  FACEAGE_CHECK(max_batches > 0, ErrorCode::kInvalidArgument, "BN re-estimation: max_batches must be > 0, got " << max_batches);
  std::vector<detail::BatchNormImpl*> layers;
  for (auto& child : model->modules(false)) {
    if (auto* bn = child->as<detail::BatchNormImpl>()) layers.push_back(bn);
  }
  const bool was_training = model->is_training();
  model->eval();
  for (auto* bn : layers) bn->start_recording();
  int used = 0;
  {
    torch::NoGradGuard no_grad;
    try {
      for (; used < max_batches; ++used) {
        auto batch = next_batch();
        if (!batch) break;
        model->forward(*batch);
      }
    } catch (...) {
      for (auto* bn : layers) bn->stop_recording();
      model->train(was_training);
      throw;
    }
  }
  std::vector<detail::BatchNormInputStats> stats;
  for (auto* bn : layers) stats.push_back(bn->stop_recording());
  if (used == 0) {
    model->train(was_training);
    throw Error(ErrorCode::kInvalidArgument, "BN re-estimation: the batch source produced no batches");
  }

  torch::NoGradGuard no_grad;
  for (size_t k = 0; k < layers.size(); ++k) {
    auto* bn = layers[k];
    const auto& s = stats[k];
    if (s.count == 0) continue;  // a layer the forward pass never reached
    const double eps = bn->eps();
    auto mu = s.sum / static_cast<double>(s.count);
    auto var = (s.sum_sq / static_cast<double>(s.count) - mu * mu).clamp_min(0.0);
    auto old_mean = bn->running_mean.to(torch::kDouble);
    auto old_std = (bn->running_var.to(torch::kDouble) + eps).sqrt();
    auto weight = bn->weight.to(torch::kDouble);
    auto bias = bn->bias.to(torch::kDouble);
    auto new_weight = weight * (var + eps).sqrt() / old_std;
    auto new_bias = bias + weight * (mu - old_mean) / old_std;
    bn->weight.copy_(new_weight);
    bn->bias.copy_(new_bias);
    bn->running_mean.copy_(mu);
    bn->running_var.copy_(var);
  }
  model->train(was_training);
  return used;
}

namespace {

// conv(x) * scale + shift as one convolution.
void fold_into_conv(torch::nn::Conv2dImpl& conv, const torch::Tensor& scale, const torch::Tensor& shift) {
  conv.weight.mul_(scale.view({-1, 1, 1, 1}));
  if (conv.bias.defined()) {
    conv.bias.mul_(scale).add_(shift);
  } else {
    // Conv2d registered "bias" as an undefined parameter; its forward reads the member, so
    // the inference-only bias is set there (call this after moving the model to its device).
    conv.bias = shift.clone();
  }
}

}  // namespace

int fuse_batchnorm_for_inference(AgeGenderModel& model) {
  torch::NoGradGuard no_grad;
  int fused = 0;
  // Modules in registration order: every BN (and dlib_resnet's scale layer) in the backbones
  // directly follows the convolution it normalises (conv, bn pairs in Sequential or conv1/bn1
  // members).
  torch::nn::Conv2dImpl* previous_conv = nullptr;
  for (auto& child : model->modules(false)) {
    if (auto* bn = child->as<detail::BatchNormImpl>()) {
      if (previous_conv && !bn->folded() && previous_conv->options.out_channels() == bn->num_features()) {
        auto scale = bn->weight / (bn->running_var + bn->eps()).sqrt();
        fold_into_conv(*previous_conv, scale, bn->bias - bn->running_mean * scale);
        bn->set_folded(true);
        ++fused;
      }
      previous_conv = nullptr;
    } else if (auto* affine = child->as<detail::ChannelAffineImpl>()) {
      if (previous_conv && !affine->folded() && previous_conv->options.out_channels() == affine->num_features()) {
        fold_into_conv(*previous_conv, affine->weight, affine->bias);
        affine->set_folded(true);
        ++fused;
      }
      previous_conv = nullptr;
    } else if (auto* conv = child->as<torch::nn::Conv2dImpl>()) {
      previous_conv = conv;
    } else if (child->children().empty()) {
      previous_conv = nullptr;  // a leaf between conv and BN (activation, pooling): not a pair
    }
  }
  return fused;
}

void optimize_for_inference(AgeGenderModel& model, InferencePrecision precision) {
  model->eval();
  fuse_batchnorm_for_inference(model);
  torch::NoGradGuard no_grad;
  for (auto& child : model->modules(false)) {
    if (auto* conv = child->as<torch::nn::Conv2dImpl>()) {
      conv->weight.set_data(conv->weight.contiguous(torch::MemoryFormat::ChannelsLast));
    }
  }
  model->set_channels_last(true);
  const auto device = model->parameters().front().device();
  if (resolve_precision(precision, device.is_cpu() ? "cpu" : "cuda") == InferencePrecision::kBFloat16) {
    model->set_backbone_dtype(torch::kBFloat16);
  }
}

}  // namespace faceage::models
