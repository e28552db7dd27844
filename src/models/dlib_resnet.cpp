// dlib's face-recognition ResNet (dlib_face_recognition_resnet_model_v1: 150x150 RGB in, 256-d pooled
// features, 128-d descriptor), laid out as face-api.js's tfjs port names it, so its weights load
// by name (weights_import.hpp: read_tfjs_weights): conv32_down.conv.{weight,bias},
// conv32_down.scale.{weight,bias}, conv32_1.conv1.conv.weight, ..., conv256_down_out, fc.weight.
//
// The layer facts that matter (measured against the descriptor, shared/README.md): every conv has a
// bias and is followed by its per-channel scale layer; stride-2 convolutions, the 7x7 stem and the
// 3x3 max-pool are unpadded; a downsampling shortcut is a 2x2 average pool with zero channels
// appended; where the residual branch comes out a pixel smaller than the shortcut it is padded at
// the bottom/right.
#include <array>

#include "faceage/core/check.hpp"
#include "models/backbones.hpp"
#include "models/layers.hpp"

namespace faceage::models::detail {
namespace {

constexpr int64_t kFeatures = 256;
constexpr int64_t kDescriptor = 128;
// The smallest input whose last downsampling convolution still has a 3x3 window to look at.
constexpr int64_t kMinInputSize = 103;

// conv (bias) -> scale, as a pair named "conv" and "scale".
class ConvScaleImpl : public torch::nn::Module {
 public:
  ConvScaleImpl(int64_t in, int64_t out, int64_t kernel, int64_t stride) {
    // Stride 1 keeps the size ("same"); stride 2 is unpadded ("valid"), as dlib trained it.
    const int64_t padding = stride == 1 ? (kernel - 1) / 2 : 0;
    conv_ = register_module("conv", conv2d(in, out, kernel, stride, padding, 1, /*bias=*/true));
    scale_ = register_module("scale", ChannelAffine(out));
  }
  torch::Tensor forward(const torch::Tensor& x) { return scale_->forward(conv_->forward(x)); }
  ChannelAffine& scale() { return scale_; }

 private:
  torch::nn::Conv2d conv_{nullptr};
  ChannelAffine scale_{nullptr};
};
TORCH_MODULE(ConvScale);

// Two 3x3 conv+scale layers with a ReLU between, added to the shortcut, then ReLU. A downsampling
// block (stride 2) takes the shortcut through a 2x2 average pool and appends zero channels.
class DlibResidualImpl : public torch::nn::Module {
 public:
  DlibResidualImpl(int64_t in, int64_t out, bool down) : down_(down), extra_channels_(out - in) {
    conv1_ = register_module("conv1", ConvScale(in, out, 3, down ? 2 : 1));
    conv2_ = register_module("conv2", ConvScale(out, out, 3, 1));
  }

  torch::Tensor forward(const torch::Tensor& x) {
    auto branch = conv2_->forward(conv1_->forward(x).relu_());
    if (!down_) return (branch + x).relu_();
    auto shortcut = torch::avg_pool2d(x, 2, 2);
    if (extra_channels_ > 0) shortcut = torch::constant_pad_nd(shortcut, {0, 0, 0, 0, 0, extra_channels_});
    const int64_t short_h = shortcut.size(2) - branch.size(2), short_w = shortcut.size(3) - branch.size(3);
    if (short_h > 0 || short_w > 0) branch = torch::constant_pad_nd(branch, {0, short_w, 0, short_h});
    return (branch + shortcut).relu_();
  }
  // Zero-initialised last scale: an untrained block starts as its shortcut, so a randomly
  // initialised network without normalisation does not blow up with depth.
  void zero_init_residual() {
    torch::NoGradGuard no_grad;
    conv2_->scale()->weight.zero_();
  }

 private:
  bool down_;
  int64_t extra_channels_;
  ConvScale conv1_{nullptr}, conv2_{nullptr};
};
TORCH_MODULE(DlibResidual);

struct BlockSpec {
  const char* name;
  int64_t channels;
  bool down;
};
constexpr std::array<BlockSpec, 14> kBlocks{{
    {"conv32_1", 32, false},     {"conv32_2", 32, false},     {"conv32_3", 32, false},
    {"conv64_down", 64, true},   {"conv64_1", 64, false},     {"conv64_2", 64, false},
    {"conv64_3", 64, false},     {"conv128_down", 128, true}, {"conv128_1", 128, false},
    {"conv128_2", 128, false},   {"conv256_down", 256, true}, {"conv256_1", 256, false},
    {"conv256_2", 256, false},   {"conv256_down_out", 256, true},
}};

class DlibResNetImpl : public BackboneImpl {
 public:
  explicit DlibResNetImpl(const BackboneOptions& options) {
    stem_ = register_module("conv32_down", ConvScale(3, 32, 7, 2));
    int64_t in = 32;
    for (const auto& spec : kBlocks) {
      blocks_.push_back(register_module(spec.name, DlibResidual(in, spec.channels, spec.down)));
      in = spec.channels;
    }
    init_conv_kaiming_fan_out(*this);
    for (auto& block : blocks_) block->zero_init_residual();
    // The "classifier" of a face-recognition network is its descriptor layer (no bias, as dlib's
    // fc); kept only on request because the age and gender heads read the pooled features.
    if (options.imagenet_classes > 0) {
      fc_ = register_module("fc", torch::nn::Linear(torch::nn::LinearOptions(kFeatures, kDescriptor).bias(false)));
    }
  }

  torch::Tensor forward_features(const torch::Tensor& images) override {
    FACEAGE_CHECK(images.size(2) >= kMinInputSize && images.size(3) >= kMinInputSize, ErrorCode::kInvalidArgument,
                  "dlib_resnet needs inputs of at least " << kMinInputSize << "x" << kMinInputSize << " (native 150), got "
                                                          << images.size(2) << "x" << images.size(3));
    auto x = torch::max_pool2d(stem_->forward(images).relu_(), 3, 2);
    for (auto& block : blocks_) x = block->forward(x);
    return x.mean({2, 3});
  }
  int64_t num_features() const override { return kFeatures; }
  // The 128-d face descriptor (dlib compares descriptors by Euclidean distance, same person < 0.6).
  torch::Tensor forward_classifier(const torch::Tensor& features) override {
    if (!fc_) throw_no_classifier("dlib_resnet");
    return fc_->forward(features);
  }

 private:
  ConvScale stem_{nullptr};
  std::vector<DlibResidual> blocks_;
  torch::nn::Linear fc_{nullptr};
};

}  // namespace

void register_dlib_resnet(BackboneRegistry& registry) {
  registry.add(
      "dlib_resnet",
      [](const BackboneOptions& options) -> BackbonePtr { return std::make_shared<DlibResNetImpl>(options); },
      "dlib face-recognition ResNet (150 px; face-pretrained weights: tfjs manifest)");
}

}  // namespace faceage::models::detail
