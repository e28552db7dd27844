// torchvision ResNet (v1.5: the stride sits on the 3x3 convolution of a bottleneck), with
// torchvision's parameter names: conv1, bn1, layer1..4.N.{conv,bn}K, downsample.{0,1}, fc.
#include <array>

#include "faceage/core/error.hpp"
#include "models/backbones.hpp"
#include "models/layers.hpp"

namespace faceage::models::detail {
namespace {

// A family member is data: block type and blocks per stage.
struct ResNetSpec {
  bool bottleneck;
  std::array<int, 4> blocks;
};

// BasicBlock (bottleneck == false) or Bottleneck, named as torchvision names them.
class ResidualBlockImpl : public torch::nn::Module {
 public:
  ResidualBlockImpl(int64_t inplanes, int64_t planes, int64_t stride, bool bottleneck) : bottleneck_(bottleneck) {
    const int64_t expansion = bottleneck ? 4 : 1;
    if (bottleneck) {
      conv1_ = register_module("conv1", conv2d(inplanes, planes, 1));
      bn1_ = register_module("bn1", BatchNorm(planes));
      conv2_ = register_module("conv2", conv2d(planes, planes, 3, stride, 1));
      bn2_ = register_module("bn2", BatchNorm(planes));
      conv3_ = register_module("conv3", conv2d(planes, planes * expansion, 1));
      bn3_ = register_module("bn3", BatchNorm(planes * expansion));
    } else {
      conv1_ = register_module("conv1", conv2d(inplanes, planes, 3, stride, 1));
      bn1_ = register_module("bn1", BatchNorm(planes));
      conv2_ = register_module("conv2", conv2d(planes, planes, 3, 1, 1));
      bn2_ = register_module("bn2", BatchNorm(planes));
    }
    if (stride != 1 || inplanes != planes * expansion) {
      downsample_ = register_module(
          "downsample", Seq(conv2d(inplanes, planes * expansion, 1, stride), BatchNorm(planes * expansion)));
    }
  }

  torch::Tensor forward(const torch::Tensor& x) {
    auto out = bn1_->forward(conv1_->forward(x)).relu_();
    out = bn2_->forward(conv2_->forward(out));
    if (bottleneck_) out = bn3_->forward(conv3_->forward(out.relu_()));
    out += downsample_ ? downsample_->forward(x) : x;
    return out.relu_();
  }

 private:
  bool bottleneck_;
  torch::nn::Conv2d conv1_{nullptr}, conv2_{nullptr}, conv3_{nullptr};
  BatchNorm bn1_{nullptr}, bn2_{nullptr}, bn3_{nullptr};
  Seq downsample_{nullptr};
};
TORCH_MODULE(ResidualBlock);

class ResNetImpl : public BackboneImpl {
 public:
  ResNetImpl(const ResNetSpec& spec, const BackboneOptions& options) {
    const int64_t expansion = spec.bottleneck ? 4 : 1;
    conv1_ = register_module("conv1", conv2d(3, 64, 7, 2, 3));
    bn1_ = register_module("bn1", BatchNorm(64));
    int64_t inplanes = 64;
    const std::array<int64_t, 4> planes{64, 128, 256, 512};
    for (int stage = 0; stage < 4; ++stage) {
      Seq layer;
      for (int b = 0; b < spec.blocks[stage]; ++b) {
        const int64_t stride = (b == 0 && stage > 0) ? 2 : 1;
        layer->push_back(ResidualBlock(inplanes, planes[stage], stride, spec.bottleneck));
        inplanes = planes[stage] * expansion;
      }
      layers_[stage] = register_module("layer" + std::to_string(stage + 1), layer);
    }
    features_ = inplanes;
    init_conv_kaiming_fan_out(*this);
    if (options.imagenet_classes > 0) {
      // torchvision's ResNet has no dropout before fc; default Linear init as in torchvision.
      fc_ = register_module("fc", torch::nn::Linear(features_, options.imagenet_classes));
    }
  }

  torch::Tensor forward_features(const torch::Tensor& images) override {
    auto x = bn1_->forward(conv1_->forward(images)).relu_();
    x = torch::max_pool2d(x, 3, 2, 1);
    for (auto& layer : layers_) x = layer->forward(x);
    return torch::adaptive_avg_pool2d(x, {1, 1}).flatten(1);
  }
  int64_t num_features() const override { return features_; }
  torch::Tensor forward_classifier(const torch::Tensor& features) override {
    if (!fc_) throw_no_classifier("resnet");
    return fc_->forward(features);
  }

 private:
  torch::nn::Conv2d conv1_{nullptr};
  BatchNorm bn1_{nullptr};
  std::array<Seq, 4> layers_{nullptr, nullptr, nullptr, nullptr};
  torch::nn::Linear fc_{nullptr};
  int64_t features_ = 0;
};

}  // namespace

void register_resnets(BackboneRegistry& registry) {
  const std::pair<const char*, ResNetSpec> family[] = {
      {"resnet18", {false, {2, 2, 2, 2}}},
      {"resnet34", {false, {3, 4, 6, 3}}},
      {"resnet50", {true, {3, 4, 6, 3}}},
  };
  for (const auto& [name, spec] : family) {
    registry.add(
        name,
        [spec = spec](const BackboneOptions& options) -> BackbonePtr { return std::make_shared<ResNetImpl>(spec, options); },
        "torchvision ResNet (" + std::string(spec.bottleneck ? "bottleneck" : "basic") + " blocks)");
  }
}

void throw_no_classifier(const char* arch) {
  throw Error(ErrorCode::kInvalidArgument, std::string(arch) + " backbone was built without an ImageNet classifier",
              "build it with imagenet_classes > 0 to get ImageNet logits");
}

}  // namespace faceage::models::detail
