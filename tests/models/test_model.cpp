#include "faceage/models/model.hpp"

#include <gtest/gtest.h>

#include <map>

#include "faceage/models/bundle.hpp"
#include "support/temp_dir.hpp"

namespace faceage::models {
namespace {

int64_t count_parameters(torch::nn::Module& module) {
  int64_t n = 0;
  for (const auto& p : module.parameters()) n += p.numel();
  return n;
}

double max_abs_diff(const torch::Tensor& a, const torch::Tensor& b) { return (a - b).abs().max().item<double>(); }

// Every registered backbone x both age heads (timm's test_model_forward over list_models()).
struct Case {
  std::string arch;
  AgeHeadKind head;
};

void PrintTo(const Case& c, std::ostream* os) { *os << c.arch << "/" << age_head_name(c.head); }

std::vector<Case> all_cases() {
  std::vector<Case> cases;
  for (const auto& name : builtin_backbones().names()) {
    cases.push_back({name, AgeHeadKind::kDistribution});
    cases.push_back({name, AgeHeadKind::kRegression});
  }
  return cases;
}

class RegistryModel : public ::testing::TestWithParam<Case> {};

TEST_P(RegistryModel, ForwardBackwardAndBundleRoundTrip) {
  const auto& param = GetParam();
  torch::manual_seed(7);
  ModelOptions options;
  options.arch = param.arch;
  options.age_head = param.head;
  auto model = create_model(options);
  const int64_t channels = model->backbone()->num_features();
  auto images = torch::randn({2, 3, 112, 112});

  // Training-mode forward and backward: shapes, finite values, a finite gradient everywhere.
  model->train();
  auto out = model->forward(images);
  ASSERT_EQ(out.age.sizes(), (std::vector<int64_t>{2}));
  ASSERT_EQ(out.features.sizes(), (std::vector<int64_t>{2, channels}));
  ASSERT_EQ(out.gender_logits.sizes(), (std::vector<int64_t>{2, 2}));
  if (param.head == AgeHeadKind::kDistribution) {
    ASSERT_EQ(out.age_logits.sizes(), (std::vector<int64_t>{2, 101}));
    ASSERT_EQ(out.age_std.sizes(), (std::vector<int64_t>{2}));
    EXPECT_TRUE((out.age >= 0).all().item<bool>() && (out.age <= 100).all().item<bool>());
  } else {
    EXPECT_FALSE(out.age_logits.defined());
  }
  EXPECT_TRUE(torch::isfinite(out.age).all().item<bool>());
  EXPECT_TRUE(torch::isfinite(out.features).all().item<bool>());
  auto loss = out.age.mean() + out.gender_logits.pow(2).mean();
  loss.backward();
  for (const auto& item : model->named_parameters()) {
    if (!item.value().requires_grad()) continue;
    ASSERT_TRUE(item.value().grad().defined()) << item.key() << " got no gradient";
    ASSERT_TRUE(torch::isfinite(item.value().grad()).all().item<bool>()) << item.key();
  }

  // Eval outputs survive save -> load bit for bit; fp16 storage stays close. Once per backbone
  // (with the distribution head): the regression head's bundle path is covered in test_bundle.
  if (param.head != AgeHeadKind::kDistribution) return;
  model->eval();
  torch::NoGradGuard no_grad;
  auto expected = model->forward(images);
  testing::TempDir dir;
  Bundle bundle;
  bundle.model = model;
  save_bundle(bundle, dir.file("m.faceage"));
  auto loaded = load_bundle(dir.file("m.faceage"));
  EXPECT_FALSE(loaded.model->is_training());
  auto got = loaded.model->forward(images);
  EXPECT_LE(max_abs_diff(got.features, expected.features), 1e-6);
  EXPECT_LE(max_abs_diff(got.age, expected.age), 1e-6);
  EXPECT_LE(max_abs_diff(got.gender_logits, expected.gender_logits), 1e-6);

  save_bundle(bundle, dir.file("h.faceage"), SaveOptions{true});
  auto half = load_bundle(dir.file("h.faceage"));
  auto got_half = half.model->forward(images);
  const double scale = expected.features.abs().max().item<double>() + 1e-6;
  EXPECT_LE(max_abs_diff(got_half.features, expected.features) / scale, 2e-2) << param.arch;
  EXPECT_LT(std::filesystem::file_size(dir.file("h.faceage")), std::filesystem::file_size(dir.file("m.faceage")) * 0.6);
}

INSTANTIATE_TEST_SUITE_P(AllBackbones, RegistryModel, ::testing::ValuesIn(all_cases()),
                         [](const ::testing::TestParamInfo<Case>& info) {
                           return info.param.arch + "_" + age_head_name(info.param.head);
                         });

TEST(Registry, HoldsTheTorchvisionFamiliesAndDlibResNet) {
  EXPECT_EQ(builtin_backbones().names(),
            (std::vector<std::string>{"dlib_resnet", "efficientnet_b0", "efficientnet_b1", "efficientnet_b2", "efficientnet_b3",
                                      "efficientnet_b4", "mobilenet_v2", "resnet18", "resnet34", "resnet50"}));
}

TEST(Registry, ParameterCountsMatchTorchvision) {
  // torchvision's documented parameter counts (with the 1000-class classifier).
  const std::map<std::string, int64_t> expected{
      {"resnet18", 11689512},        {"resnet34", 21797672},        {"mobilenet_v2", 3504872},
      {"efficientnet_b0", 5288548},  {"efficientnet_b1", 7794184},  {"efficientnet_b2", 9109994},
  };
  BackboneOptions options;
  options.imagenet_classes = 1000;
  for (const auto& [name, count] : expected) {
    auto backbone = builtin_backbones().create(name, options);
    EXPECT_EQ(count_parameters(*backbone), count) << name;
  }
}

TEST(Registry, FeatureWidths) {
  const std::map<std::string, int64_t> expected{{"resnet18", 512}, {"mobilenet_v2", 1280}, {"efficientnet_b0", 1280},
                                                {"efficientnet_b2", 1408}, {"dlib_resnet", 256}};
  for (const auto& [name, width] : expected) {
    EXPECT_EQ(builtin_backbones().create(name, {})->num_features(), width) << name;
  }
}

TEST(Registry, UnknownArchListsChoices) {
  ModelOptions options;
  options.arch = "resnet81";
  try {
    create_model(options);
    FAIL();
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::kNotFound);
    EXPECT_NE(std::string(e.what()).find("resnet18"), std::string::npos);
  }
}

TEST(ModelOptions, ValidationNamesTheKey) {
  ModelOptions options;
  options.max_age = options.min_age;
  try {
    validate(options);
    FAIL();
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::kInvalidArgument);
    EXPECT_NE(std::string(e.what()).find("model.max_age"), std::string::npos);
  }
  options = {};
  options.head_dropout = 1.0;
  EXPECT_THROW(validate(options), Error);
  EXPECT_EQ(parse_age_head("regression"), AgeHeadKind::kRegression);
  EXPECT_THROW(parse_age_head("ordinal"), Error);
}

TEST(AgeGenderModel, HeadsStartNearATypicalAge) {
  torch::manual_seed(3);
  auto images = torch::randn({4, 3, 64, 64});
  for (auto head : {AgeHeadKind::kRegression, AgeHeadKind::kDistribution}) {
    ModelOptions options;
    options.arch = "mobilenet_v2";
    options.age_head = head;
    auto model = create_model(options);
    model->eval();
    torch::NoGradGuard no_grad;
    auto out = model->forward(images);
    EXPECT_NEAR(out.age.mean().item<double>(), 33.0, 4.0) << age_head_name(head);
  }
}

TEST(AgeGenderModel, DistributionHeadDecodesExpectationAndStd) {
  ModelOptions options;
  options.arch = "mobilenet_v2";
  options.min_age = 10;
  options.max_age = 12;  // bins 10, 11, 12
  auto model = create_model(options);
  model->eval();
  torch::NoGradGuard no_grad;
  // Zero the head's weights: the logits are then the bias, whatever the features.
  model->named_parameters()["age_head.weight"].zero_();
  model->named_parameters()["age_head.bias"].copy_(torch::tensor({0.0f, std::log(2.0f), 0.0f}));
  auto out = model->forward(torch::randn({1, 3, 64, 64}));
  // p = {0.25, 0.5, 0.25}: mean 11, variance 0.5.
  EXPECT_NEAR(out.age.item<double>(), 11.0, 1e-5);
  EXPECT_NEAR(out.age_std.item<double>(), std::sqrt(0.5), 1e-5);
}

TEST(AgeGenderModel, GenderHeadOptionalAndParameterGroupsCoverEverything) {
  ModelOptions options;
  options.arch = "resnet18";
  options.gender_head = false;
  auto model = create_model(options);
  model->eval();
  torch::NoGradGuard no_grad;
  EXPECT_FALSE(model->forward(torch::randn({1, 3, 64, 64})).gender_logits.defined());
  int64_t grouped = 0;
  for (auto& p : model->backbone_parameters()) grouped += p.numel();
  for (auto& p : model->head_parameters()) grouped += p.numel();
  EXPECT_EQ(grouped, count_parameters(*model));
  EXPECT_THROW(model->forward(torch::randn({1, 1, 64, 64})), Error);
}

// model.gender_hidden: a hidden ReLU layer before the gender logits, grouped with the heads (so a
// gender-head step trains it), named apart from the linear head so old bundles load unchanged.
TEST(AgeGenderModel, GenderHiddenLayerIsAHeadAndRoundTrips) {
  ModelOptions options;
  options.gender_hidden = 16;
  torch::manual_seed(5);
  auto model = create_model(options);
  model->eval();
  const auto params = model->named_parameters();
  ASSERT_NE(params.find("gender_hidden.weight"), nullptr);
  EXPECT_EQ(params["gender_hidden.weight"].sizes(), (std::vector<int64_t>{16, model->backbone()->num_features()}));
  EXPECT_EQ(params["gender_head.weight"].sizes(), (std::vector<int64_t>{2, 16}));
  int64_t in_heads = 0;
  for (auto& p : model->head_parameters()) in_heads += p.numel();
  EXPECT_EQ(in_heads, params["gender_hidden.weight"].numel() + 16 + 2 * 16 + 2 + params["age_head.weight"].numel() +
                          params["age_head.bias"].numel());
  torch::NoGradGuard no_grad;
  const auto images = torch::randn({2, 3, 64, 64});
  const auto out = model->forward(images);
  EXPECT_EQ(out.gender_logits.sizes(), (std::vector<int64_t>{2, 2}));
  // By hand: relu(W1 f + b1) -> W2 h + b2 on the pooled features.
  const auto hidden = torch::relu(torch::nn::functional::linear(out.features, params["gender_hidden.weight"],
                                                                params["gender_hidden.bias"]));
  EXPECT_TRUE(torch::allclose(out.gender_logits,
                              torch::nn::functional::linear(hidden, params["gender_head.weight"], params["gender_head.bias"]),
                              1e-5, 1e-6));
  EXPECT_EQ(model_options_from_json(to_json(options)).gender_hidden, 16);
  EXPECT_EQ(model_options_from_json(nlohmann::json{{"arch", "mobilenet_v2"}}).gender_hidden, 0)
      << "bundles written before the key have a linear gender head";

  options.gender_hidden = -1;
  EXPECT_THROW(validate(options), Error);
  options.gender_hidden = 8;
  options.gender_head = false;
  EXPECT_THROW(validate(options), Error);
}

TEST(AgeGenderModel, ImagenetClassifierUsesTorchvisionNames) {
  ModelOptions options;
  options.arch = "mobilenet_v2";
  options.imagenet_classes = 1000;
  auto model = create_model(options);
  auto params = model->named_parameters();
  EXPECT_TRUE(params.contains("backbone.classifier.1.weight"));
  EXPECT_TRUE(params.contains("backbone.features.0.0.weight"));
  EXPECT_TRUE(model->named_buffers().contains("backbone.features.18.1.running_var"));
  options.arch = "resnet18";
  auto resnet = create_model(options);
  EXPECT_TRUE(resnet->named_parameters().contains("backbone.layer2.0.downsample.0.weight"));
  EXPECT_TRUE(resnet->named_parameters().contains("backbone.fc.bias"));
  options.arch = "efficientnet_b0";
  auto effnet = create_model(options);
  EXPECT_TRUE(effnet->named_parameters().contains("backbone.features.1.0.block.1.fc1.weight"));
  EXPECT_TRUE(effnet->named_parameters().contains("backbone.features.8.0.weight"));
  auto no_classifier = builtin_backbones().create("resnet18", {});
  EXPECT_THROW(no_classifier->forward_classifier(torch::zeros({1, 512})), Error);
}

// Larger inputs on the heavier backbones: shapes only.
TEST(RegistryModelSlow, HeavyBackbonesAtNativeSizes) {
  const std::vector<std::pair<std::string, int64_t>> cases{
      {"resnet50", 224}, {"efficientnet_b3", 300}, {"efficientnet_b4", 380}};
  for (const auto& [arch, size] : cases) {
    ModelOptions options;
    options.arch = arch;
    auto model = create_model(options);
    model->eval();
    torch::NoGradGuard no_grad;
    auto out = model->forward(torch::randn({2, 3, size, size}));
    EXPECT_EQ(out.features.size(1), model->backbone()->num_features()) << arch;
    EXPECT_TRUE(torch::isfinite(out.age).all().item<bool>()) << arch;
  }
  const std::map<std::string, int64_t> counts{
      {"resnet50", 25557032}, {"efficientnet_b3", 12233232}, {"efficientnet_b4", 19341616}};
  BackboneOptions with_classifier;
  with_classifier.imagenet_classes = 1000;
  for (const auto& [name, count] : counts) {
    EXPECT_EQ(count_parameters(*builtin_backbones().create(name, with_classifier)), count) << name;
  }
}

}  // namespace
}  // namespace faceage::models
