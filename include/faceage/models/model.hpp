#pragma once
// One model interface (timm's forward_features / forward_head): a backbone makes pooled features,
// separate heads make age and gender, the output is a struct.
//
// Parameter names follow torchvision inside the backbone, so a torchvision state dict loads with
// the prefix "backbone." (models/weights_import.hpp). Heads are "age_head.*" and "gender_head.*".
#include <torch/torch.h>

#include <cstdint>
#include <memory>
#include <string>

#include "faceage/core/registry.hpp"

namespace faceage::models {

enum class AgeHeadKind {
  kRegression,    // one output: the age in years
  kDistribution,  // one logit per integer age in [min_age, max_age]; decoded to the expectation
};

const char* age_head_name(AgeHeadKind kind);           // "regression" | "distribution"
AgeHeadKind parse_age_head(const std::string& name);   // kInvalidArgument listing the choices

struct BackboneOptions {
  int64_t imagenet_classes = 0;  // > 0 keeps torchvision's classifier (parity tests, ImageNet check)
  double classifier_dropout = 0.2;
};

// A torchvision-named feature extractor.
class BackboneImpl : public torch::nn::Module {
 public:
  // [B,3,H,W] normalised images -> [B, num_features()] globally pooled features.
  virtual torch::Tensor forward_features(const torch::Tensor& images) = 0;
  virtual int64_t num_features() const = 0;
  // ImageNet logits from pooled features; only when built with imagenet_classes > 0.
  virtual torch::Tensor forward_classifier(const torch::Tensor& features) = 0;
};
using BackbonePtr = std::shared_ptr<BackboneImpl>;

using BackboneRegistry = Registry<BackbonePtr(const BackboneOptions&)>;
// Adds resnet18/34/50, mobilenet_v2, efficientnet_b0..b4 (explicit registration).
void register_builtin_backbones(BackboneRegistry& registry);
// A registry holding the built-in backbones, built once and never changed afterwards.
const BackboneRegistry& builtin_backbones();

struct ModelOptions {
  std::string arch = "mobilenet_v2";
  AgeHeadKind age_head = AgeHeadKind::kDistribution;
  int min_age = 0;    // distribution bins cover [min_age, max_age]: 101 bins by default
  int max_age = 100;
  double head_dropout = 0.2;
  bool gender_head = true;
  // 0: the gender head is linear on the pooled features. > 0: a hidden layer of this many units
  // with ReLU first ("gender_hidden.*"), which can use different cues at different ages (a linear
  // head is near chance on babies, where adult cues do not hold).
  int64_t gender_hidden = 0;
  int64_t imagenet_classes = 0;  // see BackboneOptions
  int64_t age_bins() const { return max_age - min_age + 1; }
};

// Checks every field once; kInvalidArgument naming the key ("model.max_age") on a bad value, and
// kNotFound listing the registered backbones for an unknown arch.
void validate(const ModelOptions& options);

struct ModelOutput {
  torch::Tensor age;            // [B] float, years (expectation for the distribution head)
  torch::Tensor age_logits;     // [B, bins] for the distribution head, else undefined
  torch::Tensor age_std;        // [B] std of the predicted distribution, else undefined
  torch::Tensor gender_logits;  // [B, 2] (0 male, 1 female) when the gender head exists
  torch::Tensor features;       // [B, C] pooled backbone features
};

class AgeGenderModelImpl : public torch::nn::Module {
 public:
  explicit AgeGenderModelImpl(const ModelOptions& options);
  // images: [B,3,H,W] float, already normalised by the bundle's PreprocessSpec.
  ModelOutput forward(const torch::Tensor& images);
  const ModelOptions& options() const { return options_; }
  BackbonePtr backbone() const { return backbone_; }
  // Parameter groups for layer-wise learning rates.
  std::vector<torch::Tensor> backbone_parameters() const;
  std::vector<torch::Tensor> head_parameters() const;

  // train(true) puts every layer in training mode except BatchNorm layers frozen with
  // set_batchnorm_frozen() (models/batchnorm.hpp), which stay in eval mode.
  void train(bool on = true) override;
  void set_frozen_batchnorm(bool frozen) { frozen_batchnorm_ = frozen; }
  bool frozen_batchnorm() const { return frozen_batchnorm_; }
  // Convert inputs to channels-last memory format in forward (set by optimize_for_inference).
  void set_channels_last(bool on) { channels_last_ = on; }
  // Inference only (optimize_for_inference): converts the backbone to `dtype` and casts inputs to
  // it in forward; pooled features come back as float32, so heads and decoding stay float32.
  void set_backbone_dtype(torch::ScalarType dtype);

 private:
  ModelOptions options_;
  bool frozen_batchnorm_ = false;
  bool channels_last_ = false;
  torch::ScalarType backbone_dtype_ = torch::kFloat32;
  BackbonePtr backbone_;
  torch::nn::Dropout dropout_{nullptr};
  torch::nn::Linear age_head_{nullptr};
  torch::nn::Linear gender_hidden_{nullptr};  // only with options.gender_hidden > 0
  torch::nn::Linear gender_head_{nullptr};
  torch::Tensor age_values_;  // buffer [bins]: min_age..max_age
};
TORCH_MODULE(AgeGenderModel);

AgeGenderModel create_model(const ModelOptions& options);

}  // namespace faceage::models
