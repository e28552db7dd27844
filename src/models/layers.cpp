#include "models/layers.hpp"

#include <cmath>

namespace faceage::models::detail {

BatchNormImpl::BatchNormImpl(int64_t channels, double eps, double momentum)
    : channels_(channels), eps_(eps), momentum_(momentum) {
  weight = register_parameter("weight", torch::ones({channels}));
  bias = register_parameter("bias", torch::zeros({channels}));
  running_mean = register_buffer("running_mean", torch::zeros({channels}));
  running_var = register_buffer("running_var", torch::ones({channels}));
  num_batches_tracked = register_buffer("num_batches_tracked", torch::zeros({}, torch::kLong));
}

void BatchNormImpl::pretty_print(std::ostream& stream) const {
  stream << "BatchNorm2d(" << channels_ << ", eps=" << eps_ << ", momentum=" << momentum_ << ")";
}

torch::Tensor BatchNormImpl::forward(const torch::Tensor& input) {
  if (folded_) return input;  // its affine transform now lives in the preceding convolution
  if (recording_) {
    torch::NoGradGuard no_grad;
    auto x = input.detach().contiguous().to(torch::kDouble);  // reductions are slow on channels-last
    stats_.sum = stats_.sum + x.sum({0, 2, 3});
    stats_.sum_sq = stats_.sum_sq + (x * x).sum({0, 2, 3});
    stats_.count += input.size(0) * input.size(2) * input.size(3);
  }
  if (is_training()) {
    torch::NoGradGuard no_grad;
    num_batches_tracked.add_(1);
  }
  return torch::batch_norm(input, weight, bias, running_mean, running_var, is_training(), momentum_, eps_,
                           /*cudnn_enabled=*/true);
}

void BatchNormImpl::start_recording() {
  const auto channels = channels_;
  auto opts = torch::TensorOptions().dtype(torch::kDouble).device(running_mean.device());
  stats_ = {torch::zeros({channels}, opts), torch::zeros({channels}, opts), 0};
  recording_ = true;
}

BatchNormInputStats BatchNormImpl::stop_recording() {
  recording_ = false;
  return std::move(stats_);
}

ChannelAffineImpl::ChannelAffineImpl(int64_t channels) : channels_(channels) {
  weight = register_parameter("weight", torch::ones({channels}));
  bias = register_parameter("bias", torch::zeros({channels}));
}

torch::Tensor ChannelAffineImpl::forward(const torch::Tensor& input) {
  if (folded_) return input;  // its transform now lives in the preceding convolution
  return torch::addcmul(bias.view({1, -1, 1, 1}), input, weight.view({1, -1, 1, 1}));
}

void ChannelAffineImpl::pretty_print(std::ostream& stream) const { stream << "ChannelAffine(" << channels_ << ")"; }

torch::nn::Conv2d conv2d(int64_t in_channels, int64_t out_channels, int64_t kernel, int64_t stride,
                         int64_t padding, int64_t groups, bool bias) {
  return torch::nn::Conv2d(torch::nn::Conv2dOptions(in_channels, out_channels, kernel)
                               .stride(stride)
                               .padding(padding)
                               .groups(groups)
                               .bias(bias));
}

Seq conv_norm_act(int64_t in_channels, int64_t out_channels, int64_t kernel, int64_t stride,
                                    int64_t groups, Activation activation, double bn_eps) {
  Seq seq;
  seq->push_back(conv2d(in_channels, out_channels, kernel, stride, (kernel - 1) / 2, groups, false));
  seq->push_back(BatchNorm(out_channels, bn_eps));
  switch (activation) {
    case Activation::kNone:
      break;
    case Activation::kReLU:
      seq->push_back(torch::nn::ReLU(torch::nn::ReLUOptions().inplace(true)));
      break;
    case Activation::kReLU6:
      // Not in place: in-place hardtanh on channels-last tensors clones them in LibTorch 1.13
      // (measured 4x slower training steps).
      seq->push_back(torch::nn::ReLU6(torch::nn::ReLU6Options().inplace(false)));
      break;
    case Activation::kSiLU:
      seq->push_back(torch::nn::SiLU());
      break;
  }
  return seq;
}

int64_t make_divisible(double value, int64_t divisor, std::optional<int64_t> min_value) {
  const int64_t floor_value = min_value.value_or(divisor);
  int64_t rounded = std::max(floor_value, static_cast<int64_t>(value + divisor / 2.0) / divisor * divisor);
  if (rounded < 0.9 * value) rounded += divisor;
  return rounded;
}

void init_conv_kaiming_fan_out(torch::nn::Module& root) {
  torch::NoGradGuard no_grad;
  for (auto& module : root.modules(/*include_self=*/false)) {  // self: not yet owned by a shared_ptr
    if (auto* conv = module->as<torch::nn::Conv2dImpl>()) {
      torch::nn::init::kaiming_normal_(conv->weight, 0.0, torch::kFanOut, torch::kReLU);
      if (conv->bias.defined()) conv->bias.zero_();
    } else if (auto* bn = module->as<BatchNormImpl>()) {
      bn->weight.fill_(1.0);
      bn->bias.zero_();
    }
  }
}

torch::Tensor stochastic_depth(const torch::Tensor& input, double p, bool training) {
  if (!training || p == 0.0) return input;
  const double survival = 1.0 - p;
  std::vector<int64_t> shape(input.dim(), 1);
  shape[0] = input.size(0);
  auto noise = torch::empty(shape, input.options()).bernoulli_(survival);
  if (survival > 0.0) noise.div_(survival);
  return input * noise;
}

}  // namespace faceage::models::detail
