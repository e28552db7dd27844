#include "faceage/models/model.hpp"

#include <cmath>

#include "faceage/core/check.hpp"
#include "faceage/models/batchnorm.hpp"
#include "models/backbones.hpp"

namespace faceage::models {
namespace {
// Heads start at a typical apparent age so training begins near the label mean rather than at 0.
constexpr double kInitialAge = 33.0;
constexpr double kInitialAgeSpread = 15.0;  // std of the initial distribution-head prior, years
}  // namespace

const char* age_head_name(AgeHeadKind kind) {
  switch (kind) {
    case AgeHeadKind::kRegression:
      return "regression";
    case AgeHeadKind::kDistribution:
      return "distribution";
  }
  return "unknown";
}

AgeHeadKind parse_age_head(const std::string& name) {
  if (name == "regression") return AgeHeadKind::kRegression;
  if (name == "distribution") return AgeHeadKind::kDistribution;
  throw Error(ErrorCode::kInvalidArgument, "unknown age head '" + name + "'; available: distribution, regression");
}

void register_builtin_backbones(BackboneRegistry& registry) {
  detail::register_resnets(registry);
  detail::register_mobilenet_v2(registry);
  detail::register_efficientnets(registry);
  detail::register_dlib_resnet(registry);
}

const BackboneRegistry& builtin_backbones() {
  static const BackboneRegistry registry = [] {
    BackboneRegistry r("backbone");
    register_builtin_backbones(r);
    return r;
  }();
  return registry;
}

void validate(const ModelOptions& options) {
  if (!builtin_backbones().contains(options.arch)) {
    throw Error(ErrorCode::kNotFound,
                "model.arch: unknown backbone '" + options.arch + "'; available: " + join(builtin_backbones().names(), ", "));
  }
  FACEAGE_CHECK(options.min_age >= 0, ErrorCode::kInvalidArgument,
                "model.min_age must be >= 0, got " << options.min_age);
  FACEAGE_CHECK(options.max_age > options.min_age && options.max_age <= 200, ErrorCode::kInvalidArgument,
                "model.max_age must be in (min_age, 200], got " << options.max_age << " with min_age "
                                                                 << options.min_age);
  FACEAGE_CHECK(options.head_dropout >= 0.0 && options.head_dropout < 1.0, ErrorCode::kInvalidArgument,
                "model.head_dropout must be in [0, 1), got " << options.head_dropout);
  FACEAGE_CHECK(options.gender_hidden >= 0, ErrorCode::kInvalidArgument,
                "model.gender_hidden must be >= 0 (0: a linear gender head), got " << options.gender_hidden);
  FACEAGE_CHECK(options.gender_hidden == 0 || options.gender_head, ErrorCode::kInvalidArgument,
                "model.gender_hidden is " << options.gender_hidden << " but the model has no gender head");
  FACEAGE_CHECK(options.imagenet_classes >= 0, ErrorCode::kInvalidArgument,
                "model.imagenet_classes must be >= 0, got " << options.imagenet_classes);
}

AgeGenderModelImpl::AgeGenderModelImpl(const ModelOptions& options) : options_(options) {
  validate(options_);
  BackboneOptions backbone_options;
  backbone_options.imagenet_classes = options_.imagenet_classes;
  backbone_ = register_module("backbone", builtin_backbones().create(options_.arch, backbone_options));
  const int64_t channels = backbone_->num_features();
  dropout_ = register_module("dropout", torch::nn::Dropout(options_.head_dropout));

  torch::NoGradGuard no_grad;
  if (options_.age_head == AgeHeadKind::kRegression) {
    age_head_ = register_module("age_head", torch::nn::Linear(channels, 1));
    torch::nn::init::normal_(age_head_->weight, 0.0, 0.01);
    age_head_->bias.fill_(kInitialAge);
  } else {
    age_head_ = register_module("age_head", torch::nn::Linear(channels, options_.age_bins()));
    torch::nn::init::normal_(age_head_->weight, 0.0, 0.01);
    auto ages = torch::arange(options_.min_age, options_.max_age + 1, torch::kFloat);
    age_values_ = register_buffer("age_values", ages);
    // A Gaussian log-prior around kInitialAge: the first predictions sit near a typical age.
    age_head_->bias.copy_(-(ages - kInitialAge).pow(2) / (2.0 * kInitialAgeSpread * kInitialAgeSpread));
  }
  if (options_.gender_head && options_.gender_hidden > 0) {
    gender_hidden_ = register_module("gender_hidden", torch::nn::Linear(channels, options_.gender_hidden));
  }
  if (options_.gender_head) {
    gender_head_ = register_module(
        "gender_head", torch::nn::Linear(options_.gender_hidden > 0 ? options_.gender_hidden : channels, 2));
  }
}

void AgeGenderModelImpl::set_backbone_dtype(torch::ScalarType dtype) {
  backbone_->to(dtype);
  // A bias added by fuse_batchnorm_for_inference is a plain member, not a registered parameter,
  // so to() does not see it.
  for (auto& child : backbone_->modules(false)) {
    if (auto* conv = child->as<torch::nn::Conv2dImpl>()) {
      if (conv->bias.defined() && conv->bias.scalar_type() != dtype) conv->bias = conv->bias.to(dtype);
    }
  }
  backbone_dtype_ = dtype;
}

ModelOutput AgeGenderModelImpl::forward(const torch::Tensor& images) {
  FACEAGE_CHECK(images.dim() == 4 && images.size(1) == 3, ErrorCode::kInvalidArgument,
                "model input must be [B,3,H,W], got " << images.sizes());
  ModelOutput out;
  auto input = images.scalar_type() == backbone_dtype_ ? images : images.to(backbone_dtype_);
  if (channels_last_) input = input.contiguous(torch::MemoryFormat::ChannelsLast);
  out.features = backbone_->forward_features(input);
  if (out.features.scalar_type() != torch::kFloat32) out.features = out.features.to(torch::kFloat32);
  auto hidden = dropout_->forward(out.features);
  if (options_.age_head == AgeHeadKind::kRegression) {
    out.age = age_head_->forward(hidden).squeeze(1);
  } else {
    out.age_logits = age_head_->forward(hidden);
    auto probs = torch::softmax(out.age_logits, 1);
    out.age = (probs * age_values_).sum(1);
    auto variance = (probs * (age_values_.unsqueeze(0) - out.age.unsqueeze(1)).pow(2)).sum(1);
    out.age_std = variance.clamp_min(1e-12).sqrt();
  }
  if (gender_head_) out.gender_logits = gender_head_->forward(gender_hidden_ ? torch::relu(gender_hidden_->forward(hidden)) : hidden);
  return out;
}

std::vector<torch::Tensor> AgeGenderModelImpl::backbone_parameters() const { return backbone_->parameters(); }

std::vector<torch::Tensor> AgeGenderModelImpl::head_parameters() const {
  std::vector<torch::Tensor> params = age_head_->parameters();
  if (gender_hidden_) {
    for (auto& p : gender_hidden_->parameters()) params.push_back(p);
  }
  if (gender_head_) {
    for (auto& p : gender_head_->parameters()) params.push_back(p);
  }
  return params;
}

void AgeGenderModelImpl::train(bool on) {
  torch::nn::Module::train(on);
  if (on && frozen_batchnorm_) {
    for (auto& module : modules(false)) {
      if (is_batchnorm(*module)) module->eval();
    }
  }
}

AgeGenderModel create_model(const ModelOptions& options) { return AgeGenderModel(options); }

}  // namespace faceage::models
