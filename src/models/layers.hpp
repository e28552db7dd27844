#pragma once
// Building blocks shared by the torchvision-named backbones (private to the models module).
#include <torch/torch.h>

#include <cstdint>
#include <functional>
#include <optional>
#include <vector>

namespace faceage::models::detail {

// Per-channel sums of a BatchNorm layer's inputs, recorded during BN re-estimation.
struct BatchNormInputStats {
  torch::Tensor sum;     // [C] float64
  torch::Tensor sum_sq;  // [C] float64
  int64_t count = 0;     // values per channel seen so far
};

// BatchNorm2d with torchvision's names (weight, bias, running_mean, running_var,
// num_batches_tracked) and two additions the stock module cannot offer without forward hooks
// (LibTorch has none): it can record its input statistics (BN re-estimation) and it can become an
// identity once its affine transform has been folded into the preceding convolution.
// (Deriving from torch::nn::BatchNorm2dImpl does not link: libtorch does not export the
// template's pretty_print.)
class BatchNormImpl : public torch::nn::Module {
 public:
  explicit BatchNormImpl(int64_t channels, double eps = 1e-5, double momentum = 0.1);

  torch::Tensor forward(const torch::Tensor& input);
  void pretty_print(std::ostream& stream) const override;

  void start_recording();
  // The statistics recorded since start_recording(); stops recording.
  BatchNormInputStats stop_recording();
  bool recording() const { return recording_; }

  void set_folded(bool folded) { folded_ = folded; }
  bool folded() const { return folded_; }
  int64_t num_features() const { return channels_; }
  double eps() const { return eps_; }

  torch::Tensor weight, bias, running_mean, running_var, num_batches_tracked;

 private:
  int64_t channels_;
  double eps_;
  double momentum_;
  bool recording_ = false;
  bool folded_ = false;
  BatchNormInputStats stats_;
};
TORCH_MODULE(BatchNorm);

// A learnable per-channel affine map y = x * weight + bias ([C] each), with no statistics: dlib's
// "affine" layer, which replaced BatchNorm in its networks after training. Fine-tuning must keep it
// a fixed function of one image (BatchNorm in training mode would normalise by batch statistics
// and throw the pretrained features away: shared/README.md's BatchNorm trap). Like BatchNorm it
// can be folded into the preceding convolution for inference.
class ChannelAffineImpl : public torch::nn::Module {
 public:
  explicit ChannelAffineImpl(int64_t channels);
  torch::Tensor forward(const torch::Tensor& input);
  void pretty_print(std::ostream& stream) const override;

  void set_folded(bool folded) { folded_ = folded; }
  bool folded() const { return folded_; }
  int64_t num_features() const { return channels_; }

  torch::Tensor weight, bias;

 private:
  int64_t channels_;
  bool folded_ = false;
};
TORCH_MODULE(ChannelAffine);

// A Sequential that can nest (torch::nn::Sequential cannot hold another Sequential) and calls its
// children directly instead of through AnyModule. Children are named "0", "1", ... as in PyTorch.
class SeqImpl : public torch::nn::Module {
 public:
  SeqImpl() = default;
  template <class... Holders>
  explicit SeqImpl(Holders&&... modules) {
    (push_back(std::forward<Holders>(modules)), ...);
  }
  template <class Holder>
  void push_back(Holder module) {
    register_module(std::to_string(steps_.size()), module);
    auto impl = module.ptr();
    steps_.emplace_back([impl](const torch::Tensor& x) { return impl->forward(x); });
  }
  torch::Tensor forward(const torch::Tensor& input) {
    torch::Tensor x = input;
    for (const auto& step : steps_) x = step(x);
    return x;
  }
  size_t size() const { return steps_.size(); }

 private:
  std::vector<std::function<torch::Tensor(const torch::Tensor&)>> steps_;
};
TORCH_MODULE(Seq);

enum class Activation { kNone, kReLU, kReLU6, kSiLU };

// torchvision's Conv2dNormActivation: Sequential(0: Conv2d(bias=False, padding=(k-1)/2), 1: BN,
// 2: activation), so parameter names come out as "<prefix>.0.weight", "<prefix>.1.running_mean".
Seq conv_norm_act(int64_t in_channels, int64_t out_channels, int64_t kernel, int64_t stride,
                                    int64_t groups, Activation activation, double bn_eps = 1e-5);

torch::nn::Conv2d conv2d(int64_t in_channels, int64_t out_channels, int64_t kernel, int64_t stride = 1,
                         int64_t padding = 0, int64_t groups = 1, bool bias = false);

// torchvision's _make_divisible: round to a multiple of `divisor`, never more than 10% down.
int64_t make_divisible(double value, int64_t divisor = 8, std::optional<int64_t> min_value = std::nullopt);

// Conv weights kaiming_normal(fan_out, gain sqrt 2), conv biases 0; BN weight 1, bias 0.
void init_conv_kaiming_fan_out(torch::nn::Module& root);

// "row" stochastic depth (torchvision.ops.stochastic_depth): identity in eval or when p == 0.
torch::Tensor stochastic_depth(const torch::Tensor& input, double p, bool training);

}  // namespace faceage::models::detail
