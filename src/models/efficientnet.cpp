// torchvision 0.14 EfficientNet B0..B4: features.0 stem, features.1..7 MBConv stages
// (block.N with SqueezeExcitation fc1/fc2), features.8 head conv, classifier.1. BatchNorm eps is
// 1e-5 for B0..B4 (torchvision only passes eps 1e-3 for B5..B7 and V2).
#include <cmath>
#include <vector>

#include "models/backbones.hpp"
#include "models/layers.hpp"

namespace faceage::models::detail {
namespace {

// One row of the EfficientNet-B0 table (torchvision's MBConvConfig before width/depth scaling).
struct StageSpec {
  double expand;
  int64_t kernel, stride, in, out, layers;
};
const std::vector<StageSpec> kB0Stages{
    {1, 3, 1, 32, 16, 1},  {6, 3, 2, 16, 24, 2},  {6, 5, 2, 24, 40, 2},    {6, 3, 2, 40, 80, 3},
    {6, 5, 1, 80, 112, 3}, {6, 5, 2, 112, 192, 4}, {6, 3, 1, 192, 320, 1},
};

// A family member is data: compound-scaling multipliers and classifier dropout.
struct EfficientNetSpec {
  double width_mult, depth_mult, dropout;
};

class SqueezeExcitationImpl : public torch::nn::Module {
 public:
  SqueezeExcitationImpl(int64_t channels, int64_t squeeze) {
    fc1_ = register_module("fc1", conv2d(channels, squeeze, 1, 1, 0, 1, true));
    fc2_ = register_module("fc2", conv2d(squeeze, channels, 1, 1, 0, 1, true));
  }
  torch::Tensor forward(const torch::Tensor& x) {
    auto scale = torch::adaptive_avg_pool2d(x, {1, 1});
    scale = torch::sigmoid(fc2_->forward(torch::silu(fc1_->forward(scale))));
    return x * scale;
  }

 private:
  torch::nn::Conv2d fc1_{nullptr}, fc2_{nullptr};
};
TORCH_MODULE(SqueezeExcitation);

class MBConvImpl : public torch::nn::Module {
 public:
  MBConvImpl(double expand, int64_t kernel, int64_t stride, int64_t in, int64_t out, double drop_prob)
      : use_residual_(stride == 1 && in == out), drop_prob_(drop_prob) {
    const int64_t expanded = make_divisible(static_cast<double>(in) * expand);
    Seq block;
    if (expanded != in) block->push_back(conv_norm_act(in, expanded, 1, 1, 1, Activation::kSiLU));
    block->push_back(conv_norm_act(expanded, expanded, kernel, stride, expanded, Activation::kSiLU));
    block->push_back(SqueezeExcitation(expanded, std::max<int64_t>(1, in / 4)));
    block->push_back(conv_norm_act(expanded, out, 1, 1, 1, Activation::kNone));
    block_ = register_module("block", block);
  }

  torch::Tensor forward(const torch::Tensor& x) {
    auto result = block_->forward(x);
    if (use_residual_) {
      result = stochastic_depth(result, drop_prob_, is_training());
      result += x;
    }
    return result;
  }

 private:
  bool use_residual_;
  double drop_prob_;
  Seq block_{nullptr};
};
TORCH_MODULE(MBConv);

class EfficientNetImpl : public BackboneImpl {
 public:
  EfficientNetImpl(const EfficientNetSpec& spec, const BackboneOptions& options) {
    constexpr double kStochasticDepth = 0.2;  // torchvision's default for B0..B7
    auto width = [&](int64_t channels) { return make_divisible(static_cast<double>(channels) * spec.width_mult); };
    auto depth = [&](int64_t layers) {
      return static_cast<int64_t>(std::ceil(static_cast<double>(layers) * spec.depth_mult));
    };
    int64_t total_blocks = 0;
    for (const auto& stage : kB0Stages) total_blocks += depth(stage.layers);

    Seq features;
    features->push_back(conv_norm_act(3, width(kB0Stages.front().in), 3, 2, 1, Activation::kSiLU));
    int64_t block_id = 0;
    for (const auto& stage : kB0Stages) {
      Seq blocks;
      const int64_t out = width(stage.out);
      int64_t in = width(stage.in);
      for (int64_t i = 0; i < depth(stage.layers); ++i) {
        const double drop = kStochasticDepth * static_cast<double>(block_id++) / static_cast<double>(total_blocks);
        blocks->push_back(MBConv(stage.expand, stage.kernel, i == 0 ? stage.stride : 1, in, out, drop));
        in = out;
      }
      features->push_back(blocks);
    }
    const int64_t last_in = width(kB0Stages.back().out);
    features_out_ = 4 * last_in;
    features->push_back(conv_norm_act(last_in, features_out_, 1, 1, 1, Activation::kSiLU));
    features_ = register_module("features", features);
    init_conv_kaiming_fan_out(*this);
    if (options.imagenet_classes > 0) {
      auto linear = torch::nn::Linear(features_out_, options.imagenet_classes);
      torch::NoGradGuard no_grad;
      const double range = 1.0 / std::sqrt(static_cast<double>(options.imagenet_classes));
      torch::nn::init::uniform_(linear->weight, -range, range);
      linear->bias.zero_();
      classifier_ = register_module("classifier",
                                    Seq(torch::nn::Dropout(spec.dropout), linear));
    }
  }

  torch::Tensor forward_features(const torch::Tensor& images) override {
    return torch::adaptive_avg_pool2d(features_->forward(images), {1, 1}).flatten(1);
  }
  int64_t num_features() const override { return features_out_; }
  torch::Tensor forward_classifier(const torch::Tensor& features) override {
    if (!classifier_) throw_no_classifier("efficientnet");
    return classifier_->forward(features);
  }

 private:
  Seq features_{nullptr};
  Seq classifier_{nullptr};
  int64_t features_out_ = 0;
};

}  // namespace

void register_efficientnets(BackboneRegistry& registry) {
  // torchvision 0.14: (width_mult, depth_mult, dropout) per variant.
  const std::pair<const char*, EfficientNetSpec> family[] = {
      {"efficientnet_b0", {1.0, 1.0, 0.2}}, {"efficientnet_b1", {1.0, 1.1, 0.2}}, {"efficientnet_b2", {1.1, 1.2, 0.3}},
      {"efficientnet_b3", {1.2, 1.4, 0.3}}, {"efficientnet_b4", {1.4, 1.8, 0.4}},
  };
  for (const auto& [name, spec] : family) {
    registry.add(
        name,
        [spec = spec](const BackboneOptions& options) -> BackbonePtr {
          return std::make_shared<EfficientNetImpl>(spec, options);
        },
        "torchvision EfficientNet (width x" + std::to_string(spec.width_mult).substr(0, 3) + ", depth x" +
            std::to_string(spec.depth_mult).substr(0, 3) + ")");
  }
}

}  // namespace faceage::models::detail
