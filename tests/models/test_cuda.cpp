// CUDA checks of every registered model (label `gpu`: `ctest -L gpu`). They skip on a machine
// without CUDA, so they only say something when run on the GPU machine (scripts/gpu-build.sh).
#include <gtest/gtest.h>
#include <torch/torch.h>

#include "faceage/models/autocast.hpp"
#include "faceage/models/bundle.hpp"
#include "faceage/models/model.hpp"
#include "support/temp_dir.hpp"

namespace faceage::models {
namespace {

double relative_diff(const torch::Tensor& got, const torch::Tensor& expected) {
  const auto a = got.to(torch::kCPU, torch::kFloat);
  const auto b = expected.to(torch::kCPU, torch::kFloat);
  return (a - b).abs().max().item<double>() / (b.abs().max().item<double>() + 1e-6);
}

class ModelsGpu : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    if (!torch::cuda::is_available()) GTEST_SKIP() << "no CUDA device";
  }
};

// The same weights give the same outputs on CUDA as on the CPU (cuDNN vs CPU kernels: not bit-equal;
// TF32 may be on for convolutions, hence the loose tolerance), and training on CUDA gives finite
// gradients for every parameter, also under bfloat16 autocast.
TEST_P(ModelsGpu, CudaMatchesCpuAndTrains) {
  torch::manual_seed(3);
  ModelOptions options;
  options.arch = GetParam();
  auto model = create_model(options);
  model->eval();
  const auto images = torch::randn({4, 3, 112, 112});
  torch::Tensor cpu_features, cpu_age, cpu_gender;
  {
    torch::NoGradGuard no_grad;
    const auto out = model->forward(images);
    cpu_features = out.features;
    cpu_age = out.age;
    cpu_gender = out.gender_logits;
  }
  model->to(torch::Device("cuda"));
  {
    torch::NoGradGuard no_grad;
    const auto out = model->forward(images.to(torch::Device("cuda")));
    ASSERT_TRUE(out.age.is_cuda());
    EXPECT_LE(relative_diff(out.features, cpu_features), 2e-2) << GetParam();
    EXPECT_LE(relative_diff(out.gender_logits, cpu_gender), 2e-2) << GetParam();
    EXPECT_LE((out.age.cpu() - cpu_age).abs().max().item<double>(), 0.5) << GetParam() << ": years apart";
  }

  model->train();
  for (const bool mixed : {false, true}) {
    model->zero_grad();
    torch::Tensor loss;
    {
      CudaAutocast autocast(mixed);  // as the trainer does with train.amp
      const auto out = model->forward(images.to(torch::Device("cuda")));
      loss = out.age.to(torch::kFloat).mean() + out.gender_logits.to(torch::kFloat).pow(2).mean();
    }
    ASSERT_TRUE(torch::isfinite(loss).item<bool>()) << (mixed ? "autocast" : "float32");
    loss.backward();
    for (const auto& item : model->named_parameters()) {
      if (!item.value().requires_grad()) continue;
      ASSERT_TRUE(item.value().grad().defined()) << item.key();
      ASSERT_TRUE(item.value().grad().is_cuda()) << item.key();
      ASSERT_TRUE(torch::isfinite(item.value().grad()).all().item<bool>()) << item.key() << (mixed ? " (autocast)" : "");
    }
  }
}

INSTANTIATE_TEST_SUITE_P(AllBackbones, ModelsGpu, ::testing::ValuesIn(builtin_backbones().names()),
                         [](const ::testing::TestParamInfo<std::string>& info) { return info.param; });

// A bundle saved on the CPU loads onto CUDA and answers as it does on the CPU.
TEST(BundleGpu, LoadsOntoCudaWithCpuAnswers) {
  if (!torch::cuda::is_available()) GTEST_SKIP() << "no CUDA device";
  torch::manual_seed(5);
  ModelOptions options;
  options.arch = "mobilenet_v2";
  Bundle bundle;
  bundle.model = create_model(options);
  bundle.model->eval();
  testing::TempDir dir;
  save_bundle(bundle, dir.file("m.fab"));
  const auto images = torch::randn({2, 3, 112, 112});
  torch::NoGradGuard no_grad;
  const auto expected = bundle.model->forward(images);
  auto loaded = load_bundle(dir.file("m.fab"), "cuda");
  const auto got = loaded.model->forward(images.to(torch::Device("cuda")));
  ASSERT_TRUE(got.age.is_cuda());
  EXPECT_LE((got.age.cpu() - expected.age).abs().max().item<double>(), 0.5);
  EXPECT_LE(relative_diff(got.gender_logits, expected.gender_logits), 2e-2);
}

}  // namespace
}  // namespace faceage::models
