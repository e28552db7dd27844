#include "faceage/models/batchnorm.hpp"

#include <gtest/gtest.h>

#include "models/layers.hpp"

namespace faceage::models {
namespace {

// Makes every BN look like the shared folded checkpoint: identity statistics, folded bias.
void make_folded(AgeGenderModel& model) {
  torch::NoGradGuard no_grad;
  for (auto& m : model->modules(false)) {
    if (auto* bn = m->as<detail::BatchNormImpl>()) {
      bn->running_mean.zero_();
      bn->running_var.fill_(1.0);
      bn->weight.fill_(1.0);
      bn->bias.uniform_(-0.2, 0.2);
    }
  }
}

std::vector<torch::Tensor> batches(int n, int64_t size) {
  torch::manual_seed(5);
  std::vector<torch::Tensor> out;
  for (int i = 0; i < n; ++i) out.push_back(torch::randn({4, 3, size, size}) * 0.8 + 0.1);
  return out;
}

TEST(BatchNormReestimation, KeepsEvalOutputsAndRecordsInputStatistics) {
  ModelOptions options;
  options.arch = "mobilenet_v2";
  auto model = create_model(options);
  make_folded(model);
  auto data = batches(3, 64);
  model->eval();
  torch::NoGradGuard no_grad;
  std::vector<ModelOutput> before;
  for (auto& x : data) before.push_back(model->forward(x));

  model->train();  // re-estimation restores the mode it found
  size_t next = 0;
  const int used = reestimate_folded_batchnorm(
      model, [&]() -> std::optional<torch::Tensor> { return next < data.size() ? std::optional(data[next++]) : std::nullopt; },
      10);
  EXPECT_EQ(used, 3);
  EXPECT_TRUE(model->is_training());

  model->eval();
  for (size_t i = 0; i < data.size(); ++i) {
    auto after = model->forward(data[i]);
    const double scale = before[i].features.abs().max().item<double>();
    EXPECT_LE((after.features - before[i].features).abs().max().item<double>(), 1e-4 * std::max(1.0, scale));
    EXPECT_LE((after.age - before[i].age).abs().max().item<double>(), 1e-4);
    EXPECT_LE((after.age_logits - before[i].age_logits).abs().max().item<double>(), 1e-4);
  }

  // The first BN's input is the stem convolution's output: its statistics, computed here
  // independently, must be the new running statistics.
  auto params = model->named_parameters();
  auto conv_out = torch::cat({torch::conv2d(data[0], params["backbone.features.0.0.weight"], {}, 2, 1),
                              torch::conv2d(data[1], params["backbone.features.0.0.weight"], {}, 2, 1),
                              torch::conv2d(data[2], params["backbone.features.0.0.weight"], {}, 2, 1)})
                      .to(torch::kDouble);
  auto mean = conv_out.mean({0, 2, 3});
  auto var = conv_out.var({0, 2, 3}, /*unbiased=*/false);
  auto buffers = model->named_buffers();
  EXPECT_LE((buffers["backbone.features.0.1.running_mean"].to(torch::kDouble) - mean).abs().max().item<double>(), 1e-5);
  EXPECT_LE((buffers["backbone.features.0.1.running_var"].to(torch::kDouble) - var).abs().max().item<double>(), 1e-4);
  // Folded-BN rule of shared/README.md: weight = sqrt(var + eps).
  EXPECT_LE((params["backbone.features.0.1.weight"].to(torch::kDouble) - (var + 1e-5).sqrt() / std::sqrt(1.0 + 1e-5))
                .abs()
                .max()
                .item<double>(),
            1e-5);
}

TEST(BatchNormReestimation, EmptySourceIsAnError) {
  ModelOptions options;
  options.arch = "resnet18";
  auto model = create_model(options);
  EXPECT_THROW(reestimate_folded_batchnorm(model, [] { return std::optional<torch::Tensor>(); }, 5), Error);
  EXPECT_THROW(reestimate_folded_batchnorm(model, [] { return std::optional<torch::Tensor>(); }, 0), Error);
}

TEST(BatchNormFreeze, FrozenLayersStayInEvalAcrossTrain) {
  ModelOptions options;
  options.arch = "resnet18";
  auto model = create_model(options);
  set_batchnorm_frozen(*model, true, /*freeze_affine=*/true);
  model->train();
  auto buffers = model->named_buffers();
  auto mean_before = buffers["backbone.bn1.running_mean"].clone();
  model->forward(torch::randn({2, 3, 64, 64}) + 3.0);
  EXPECT_TRUE(torch::equal(buffers["backbone.bn1.running_mean"], mean_before));
  int bn_layers = 0;
  for (auto& m : model->modules(false)) {
    if (auto* bn = m->as<detail::BatchNormImpl>()) {
      ++bn_layers;
      EXPECT_FALSE(bn->is_training());
      EXPECT_FALSE(bn->weight.requires_grad());
    }
  }
  EXPECT_EQ(bn_layers, 20);
  EXPECT_TRUE(model->named_parameters()["backbone.conv1.weight"].requires_grad());
  EXPECT_TRUE(model->is_training());

  set_batchnorm_frozen(*model, false);
  model->train();
  model->forward(torch::randn({2, 3, 64, 64}) + 3.0);
  EXPECT_FALSE(torch::equal(buffers["backbone.bn1.running_mean"], mean_before));
  EXPECT_TRUE(model->named_parameters()["backbone.bn1.weight"].requires_grad());
}

TEST(BatchNormFuse, KeepsEvalOutputs) {
  for (const std::string arch : {"mobilenet_v2", "resnet18", "efficientnet_b0"}) {
    ModelOptions options;
    options.arch = arch;
    auto model = create_model(options);
    make_folded(model);
    model->eval();
    torch::NoGradGuard no_grad;
    auto x = torch::randn({2, 3, 64, 64});
    auto before = model->forward(x);
    const int fused = fuse_batchnorm_for_inference(model);
    int bn_layers = 0;
    for (auto& m : model->modules(false)) bn_layers += m->as<detail::BatchNormImpl>() != nullptr;
    EXPECT_EQ(fused, bn_layers) << arch;
    auto after = model->forward(x);
    const double scale = std::max(1.0, before.features.abs().max().item<double>());
    EXPECT_LE((after.features - before.features).abs().max().item<double>(), 1e-4 * scale) << arch;
    EXPECT_LE((after.age - before.age).abs().max().item<double>(), 1e-3) << arch;

    optimize_for_inference(model);  // + channels-last
    auto optimized = model->forward(x);
    EXPECT_LE((optimized.features - before.features).abs().max().item<double>(), 1e-4 * scale) << arch;
    EXPECT_LE((optimized.age - before.age).abs().max().item<double>(), 1e-3) << arch;
  }
}

}  // namespace
}  // namespace faceage::models
