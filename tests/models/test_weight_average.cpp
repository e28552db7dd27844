#include "faceage/models/weight_average.hpp"

#include <gtest/gtest.h>

#include "faceage/models/bundle.hpp"
#include "support/error_code.hpp"
#include "support/temp_dir.hpp"

namespace faceage::models {
namespace {

using faceage::testing::error_of;

// A small calibrated bundle with seeded weights and BatchNorm statistics of its own.
Bundle seeded_bundle(int seed, const std::string& licence = "research only") {
  ModelOptions options;
  options.age_head = AgeHeadKind::kRegression;
  torch::manual_seed(seed);
  Bundle bundle;
  bundle.model = create_model(options);
  bundle.model->eval();
  bundle.preprocess.input_size = 64;
  bundle.face_pipeline = {{"detector", "yunet"}};
  ConformalCalibration calibration;
  calibration.quantiles = {{-3, 4}};
  calibration.counts = {50};
  calibration.pooled = {-3, 4};
  bundle.labels.conformal.push_back(calibration);
  bundle.metadata = {{"name", "seed-" + std::to_string(seed)}, {"licence", licence}};
  torch::NoGradGuard no_grad;
  for (auto& item : bundle.model->named_buffers(true)) {
    if (item.key().find("running_mean") != std::string::npos) item.value().fill_(static_cast<float>(seed));
    if (item.key().find("num_batches_tracked") != std::string::npos) item.value().fill_(seed * 10);
  }
  return bundle;
}

torch::Tensor tensor_of(const Bundle& bundle, const std::string& name) {
  for (const auto& item : bundle.model->named_parameters(true)) {
    if (item.key() == name) return item.value();
  }
  for (const auto& item : bundle.model->named_buffers(true)) {
    if (item.key() == name) return item.value();
  }
  ADD_FAILURE() << "no tensor " << name;
  return {};
}

TEST(WeightAverage, WeighsEveryFloatTensorAndKeepsIntegerBuffersOfTheFirst) {
  testing::TempDir dir;
  const auto a = seeded_bundle(1), b = seeded_bundle(2);
  save_bundle(a, dir.file("a.fab"));
  save_bundle(b, dir.file("b.fab"));

  WeightAverageOptions options;
  options.weights = {3, 1};
  const auto summary = save_weight_average({dir.file("a.fab"), dir.file("b.fab")}, dir.file("soup.fab"), options);
  EXPECT_DOUBLE_EQ(summary.weights[0], 0.75);
  EXPECT_GT(summary.tensors, 100u);
  // The mean is 0.25 of the way from a to b: a is three times nearer to it.
  EXPECT_NEAR(summary.relative_distance[1] / summary.relative_distance[0], 3.0, 1e-6);

  const auto soup = load_bundle(dir.file("soup.fab"));
  for (const auto* name : {"age_head.weight", "backbone.features.0.0.weight", "backbone.features.0.1.running_var"}) {
    EXPECT_TRUE(torch::allclose(tensor_of(soup, name), 0.75 * tensor_of(a, name) + 0.25 * tensor_of(b, name), 1e-6, 1e-7))
        << name;
  }
  EXPECT_FLOAT_EQ(tensor_of(soup, "backbone.features.0.1.running_mean")[0].item<float>(), 1.25f);
  EXPECT_EQ(tensor_of(soup, "backbone.features.0.1.num_batches_tracked").item<int64_t>(), 10);

  EXPECT_TRUE(soup.labels.conformal.empty()) << "calibration of other outputs must not be carried over";
  EXPECT_EQ(soup.metadata.at("name"), "soup");
  EXPECT_EQ(soup.metadata.at("licence"), "research only");
  const auto& sources = soup.metadata.at("averaged_from");
  ASSERT_EQ(sources.size(), 2u);
  EXPECT_EQ(sources[1].at("source"), "b.fab");
  EXPECT_EQ(sources[1].at("sha256").get<std::string>().size(), 64u);
  EXPECT_EQ(sources[1].at("metadata").at("name"), "seed-2");
}

TEST(WeightAverage, ABundleAveragedWithItselfAnswersAsItDoes) {
  testing::TempDir dir;
  save_bundle(seeded_bundle(3), dir.file("a.fab"));
  const auto summary = save_weight_average({dir.file("a.fab"), dir.file("a.fab")}, dir.file("same.fab"));
  EXPECT_DOUBLE_EQ(summary.relative_distance[0], 0.0);
  auto original = load_bundle(dir.file("a.fab")), same = load_bundle(dir.file("same.fab"));
  torch::NoGradGuard no_grad;
  const auto images = torch::randn({2, 3, 64, 64});
  EXPECT_TRUE(torch::equal(original.model->forward(images).age, same.model->forward(images).age));
}

TEST(WeightAverage, RefusesWhatCannotBeAveraged) {
  testing::TempDir dir;
  save_bundle(seeded_bundle(1), dir.file("a.fab"));
  save_bundle(seeded_bundle(2, "other terms"), dir.file("b.fab"));
  auto other_input = seeded_bundle(2);
  other_input.preprocess.input_size = 128;
  save_bundle(other_input, dir.file("input128.fab"));
  auto other_head = seeded_bundle(2);
  ModelOptions distribution;
  other_head.model = create_model(distribution);
  save_bundle(other_head, dir.file("distribution.fab"));
  save_ensemble({dir.file("a.fab"), dir.file("b.fab")}, dir.file("pair.fab"));

  const auto a = dir.file("a.fab"), b = dir.file("b.fab"), out = dir.file("out.fab");
  auto error = [&](const std::vector<std::string>& paths, std::vector<double> weights = {}) {
    WeightAverageOptions options;
    options.weights = std::move(weights);
    return error_of([&] { save_weight_average(paths, out, options); });
  };
  EXPECT_EQ(error({a}), ErrorCode::kInvalidArgument);
  EXPECT_EQ(error({a, dir.file("input128.fab")}), ErrorCode::kInvalidArgument);
  EXPECT_EQ(error({a, dir.file("distribution.fab")}), ErrorCode::kInvalidArgument);
  EXPECT_EQ(error({a, dir.file("pair.fab")}), ErrorCode::kInvalidArgument);
  EXPECT_EQ(error({a, dir.file("absent.fab")}), ErrorCode::kNotFound);
  EXPECT_EQ(error({a, b}, {1}), ErrorCode::kInvalidArgument);
  EXPECT_EQ(error({a, b}, {1, -1}), ErrorCode::kInvalidArgument);
  EXPECT_EQ(error({a, b}, {0, 0}), ErrorCode::kInvalidArgument);
  EXPECT_FALSE(std::filesystem::exists(out));

  save_weight_average({a, b}, out);
  EXPECT_EQ(load_bundle(out).metadata.at("licence"), "research only | other terms");
}

}  // namespace
}  // namespace faceage::models
