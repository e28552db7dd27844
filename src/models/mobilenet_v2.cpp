// torchvision MobileNetV2 (width 1.0) with torchvision's names: features.N..., classifier.1.
#include <array>
#include <cmath>

#include "models/backbones.hpp"
#include "models/layers.hpp"

namespace faceage::models::detail {
namespace {

// InvertedResidual: conv = Sequential([expand CNA], depthwise CNA, 1x1 Conv2d, BN).
class InvertedResidualImpl : public torch::nn::Module {
 public:
  InvertedResidualImpl(int64_t in, int64_t out, int64_t stride, int64_t expand_ratio)
      : use_residual_(stride == 1 && in == out) {
    const int64_t hidden = static_cast<int64_t>(std::lround(static_cast<double>(in) * expand_ratio));
    Seq conv;
    if (expand_ratio != 1) conv->push_back(conv_norm_act(in, hidden, 1, 1, 1, Activation::kReLU6));
    conv->push_back(conv_norm_act(hidden, hidden, 3, stride, hidden, Activation::kReLU6));
    conv->push_back(conv2d(hidden, out, 1));
    conv->push_back(BatchNorm(out));
    conv_ = register_module("conv", conv);
  }

  torch::Tensor forward(const torch::Tensor& x) {
    return use_residual_ ? x + conv_->forward(x) : conv_->forward(x);
  }

 private:
  bool use_residual_;
  Seq conv_{nullptr};
};
TORCH_MODULE(InvertedResidual);

// One row of torchvision's inverted_residual_setting: expansion t, channels c, repeats n, stride s.
struct StageSpec {
  int64_t expand, channels, repeats, stride;
};
constexpr std::array<StageSpec, 7> kStages{{
    {1, 16, 1, 1},
    {6, 24, 2, 2},
    {6, 32, 3, 2},
    {6, 64, 4, 2},
    {6, 96, 3, 1},
    {6, 160, 3, 2},
    {6, 320, 1, 1},
}};

class MobileNetV2Impl : public BackboneImpl {
 public:
  explicit MobileNetV2Impl(const BackboneOptions& options) {
    int64_t in = make_divisible(32);
    last_channel_ = make_divisible(1280);
    Seq features;
    features->push_back(conv_norm_act(3, in, 3, 2, 1, Activation::kReLU6));
    for (const auto& stage : kStages) {
      const int64_t out = make_divisible(static_cast<double>(stage.channels));
      for (int64_t i = 0; i < stage.repeats; ++i) {
        features->push_back(InvertedResidual(in, out, i == 0 ? stage.stride : 1, stage.expand));
        in = out;
      }
    }
    features->push_back(conv_norm_act(in, last_channel_, 1, 1, 1, Activation::kReLU6));
    features_ = register_module("features", features);
    init_conv_kaiming_fan_out(*this);
    if (options.imagenet_classes > 0) {
      auto linear = torch::nn::Linear(last_channel_, options.imagenet_classes);
      torch::NoGradGuard no_grad;
      torch::nn::init::normal_(linear->weight, 0.0, 0.01);
      linear->bias.zero_();
      classifier_ = register_module(
          "classifier", Seq(torch::nn::Dropout(options.classifier_dropout), linear));
    }
  }

  torch::Tensor forward_features(const torch::Tensor& images) override {
    return torch::adaptive_avg_pool2d(features_->forward(images), {1, 1}).flatten(1);
  }
  int64_t num_features() const override { return last_channel_; }
  torch::Tensor forward_classifier(const torch::Tensor& features) override {
    if (!classifier_) throw_no_classifier("mobilenet_v2");
    return classifier_->forward(features);
  }

 private:
  Seq features_{nullptr};
  Seq classifier_{nullptr};
  int64_t last_channel_ = 0;
};

}  // namespace

void register_mobilenet_v2(BackboneRegistry& registry) {
  registry.add(
      "mobilenet_v2",
      [](const BackboneOptions& options) -> BackbonePtr { return std::make_shared<MobileNetV2Impl>(options); },
      "torchvision MobileNetV2 1.0");
}

}  // namespace faceage::models::detail
