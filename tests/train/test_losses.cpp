#include "faceage/train/losses.hpp"

#include <gtest/gtest.h>

#include <cmath>

namespace faceage::train {
namespace {

// Reference numbers from Debian's torch 1.13 (tests/train/gen_reference.py, losses()).
const std::vector<double> kLogits = {-2.310411800234176, -0.3732508612577643, -1.0608166785462863, 0.99950935478117608, -0.88402500458326527, -1.2755469302148053, -0.62322457986607904, -0.86644160191257724, -1.2956271403277857, 1.52363162310635, 0.32366056649837383, 2.0177260314861085, 1.1357423400213507, -1.2268813390010831, 0.071388471205116932, 0.3380174030507378, 0.15351883531544036, -0.63327460886750964, -1.2609246557194385, -0.72695106206541105, -0.019964750907762653, 0.2102998901016947, 0.17718935139366584, -0.83051005100844899, 1.0111892074660187, -0.2426793824588577, -0.77301127729581809, -1.5951814880783068, 0.4604689979691664, 1.117443076566861, 0.36904473680395194, -0.18720219329758869, -3.1452962731231335, -0.11373127757597257, 1.6962024805143952, -0.66520348053816658, 1.1546962275824659, -0.086075136687378706, -1.96124168414333, 0.22092437177232177, -1.3809366518587674, -2.0547510174380235, 0.047576553850240309, -0.3855687975933702};
const std::vector<double> kGenderLogits = {-0.28490930246326751, -0.13344174287389568, 1.8929104298879018, 3.111044261837153, -0.45839580027070409, -0.33598807300564981, -1.5699861127268284, 1.2315003988210944};
constexpr double kLoss_l1 = 3.4624999999999995;
constexpr double kLoss_mse = 18.865624999999994;
constexpr double kLoss_smooth_l1_b2 = 2.5406249999999995;
constexpr double kLoss_l1_weighted = 4.1749999999999989;
constexpr double kLoss_dldl = 6.3511563047859196;          // sigma 2, expectation_weight 0.7
constexpr double kLoss_mean_variance = 6.0736540342116907; // mean_weight 0.2, variance_weight 0.05
constexpr double kLoss_gender_ce = 0.36326926247422309;
constexpr double kLoss_gender_ce_ls = 0.42773847553935318;  // label_smoothing 0.1

torch::Tensor dvec(std::vector<double> v) { return torch::tensor(v, torch::kDouble); }

struct Fixture {
  models::ModelOutput out;
  Targets targets;
  LossOptions options;
  Fixture() {
    out.age = dvec({25.5, 31.0, 19.0, 22.25}).requires_grad_();
    out.age_logits = dvec(kLogits).reshape({4, 11}).requires_grad_();
    out.gender_logits = dvec(kGenderLogits).reshape({4, 2}).requires_grad_();
    targets.age = dvec({24.0, 27.3, 20.0, 29.9});
    targets.gender = torch::tensor(std::vector<int64_t>{0, 1, -1, 1});
    options.min_age = 20;
    options.max_age = 30;
  }
  double age_loss(const std::string& name) {
    options.age = name;
    return (*make_age_loss(options))(out, targets).item<double>();
  }
};

TEST(Losses, RegressionLossesMatchTorch) {
  Fixture f;
  EXPECT_NEAR(f.age_loss("l1"), kLoss_l1, 1e-12);
  EXPECT_NEAR(f.age_loss("mse"), kLoss_mse, 1e-12);
  f.options.beta = 2.0;
  EXPECT_NEAR(f.age_loss("smooth_l1"), kLoss_smooth_l1_b2, 1e-12);
  f.targets.weight = dvec({1.0, 2.0, 0.5, 1.5});
  EXPECT_NEAR(f.age_loss("l1"), kLoss_l1_weighted, 1e-12);
}

TEST(Losses, L1ByHand) {
  models::ModelOutput out;
  out.age = torch::tensor({10.0f, 20.0f});
  Targets t;
  t.age = torch::tensor({13.0f, 19.0f});
  LossOptions o;
  EXPECT_FLOAT_EQ((*make_age_loss(o))(out, t).item<float>(), 2.0f);  // (3 + 1) / 2
}

TEST(Losses, DistributionLossesMatchTorch) {
  Fixture f;
  f.options.sigma = 2.0;
  f.options.expectation_weight = 0.7;
  EXPECT_NEAR(f.age_loss("dldl"), kLoss_dldl, 1e-10);
  f.options.mean_weight = 0.2;
  f.options.variance_weight = 0.05;
  EXPECT_NEAR(f.age_loss("mean_variance"), kLoss_mean_variance, 1e-10);
}

TEST(Losses, GaussianSoftLabelsAreNormalisedAndCentred) {
  auto soft = gaussian_soft_labels(torch::tensor({3.0, 0.0, 10.0}, torch::kDouble), 7, 0, 1.0);
  ASSERT_EQ(soft.sizes(), (torch::IntArrayRef{3, 7}));
  EXPECT_TRUE(torch::allclose(soft.sum(1), torch::ones({3}, torch::kDouble)));
  // centred on 3: symmetric around bin 3, peak there
  EXPECT_EQ(soft[0].argmax().item<int64_t>(), 3);
  EXPECT_NEAR(soft[0][2].item<double>(), soft[0][4].item<double>(), 1e-15);
  // by hand: exp(-1/2) / exp(0) between neighbour and peak
  EXPECT_NEAR(soft[0][2].item<double>() / soft[0][3].item<double>(), std::exp(-0.5), 1e-12);
  // an age outside the bins is clamped to the last bin
  EXPECT_EQ(soft[2].argmax().item<int64_t>(), 6);
  // a very narrow Gaussian stays finite (one-hot)
  auto narrow = gaussian_soft_labels(torch::tensor({2.0f}), 5, 0, 1e-3);
  EXPECT_FLOAT_EQ(narrow[0][2].item<float>(), 1.0f);
}

TEST(Losses, DistributionLossOnRegressionHeadIsConfigError) {
  LossOptions o;
  o.age = "dldl";
  models::ModelOutput out;
  out.age = torch::zeros({2});
  Targets t;
  t.age = torch::ones({2});
  try {
    (*make_age_loss(o))(out, t);
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::kConfig);
    EXPECT_NE(e.full_message().find("model.age_head=distribution"), std::string::npos) << e.full_message();
  }
  models::ModelOptions model;
  model.age_head = models::AgeHeadKind::kRegression;
  MultiTaskLoss loss(o);
  EXPECT_THROW(loss.check_model(model), Error);
  model.age_head = models::AgeHeadKind::kDistribution;
  EXPECT_NO_THROW(loss.check_model(model));
  model.gender_head = false;
  EXPECT_THROW(loss.check_model(model), Error);  // gender_weight 0.5 without a gender head
}

TEST(Losses, WrongBinCountIsConfigError) {
  Fixture f;
  f.options.max_age = 40;  // 21 bins, logits have 11
  f.options.age = "dldl";
  EXPECT_THROW((*make_age_loss(f.options))(f.out, f.targets), Error);
}

TEST(Losses, GenderIgnoresUnknownAndMatchesTorch) {
  Fixture f;
  EXPECT_NEAR(gender_loss(f.out.gender_logits, f.targets).item<double>(), kLoss_gender_ce, 1e-12);
  EXPECT_NEAR(gender_loss(f.out.gender_logits, f.targets, 0.1).item<double>(), kLoss_gender_ce_ls, 1e-12);
  // the ignored sample gets no gradient
  auto loss = gender_loss(f.out.gender_logits, f.targets);
  loss.backward();
  auto g = f.out.gender_logits.grad();
  EXPECT_EQ(g[2].abs().sum().item<double>(), 0.0);
  EXPECT_GT(g[0].abs().sum().item<double>(), 0.0);
}

TEST(Losses, AllUnknownGivesZeroWithAGraph) {
  auto logits = torch::randn({3, 2}).requires_grad_();
  Targets t;
  t.gender = torch::full({3}, -1, torch::kLong);
  auto loss = gender_loss(logits, t);
  EXPECT_EQ(loss.item<float>(), 0.0f);
  loss.backward();
  EXPECT_EQ(logits.grad().abs().sum().item<float>(), 0.0f);
}

TEST(Losses, NanAgesAreLeftOut) {
  models::ModelOutput out;
  out.age = torch::tensor({10.0f, 20.0f, 30.0f}).requires_grad_();
  Targets t;
  t.age = torch::tensor({12.0f, std::nanf(""), 27.0f});
  auto loss = (*make_age_loss(LossOptions{}))(out, t);
  EXPECT_FLOAT_EQ(loss.item<float>(), 2.5f);  // (2 + 3) / 2
  loss.backward();
  EXPECT_TRUE(torch::isfinite(out.age.grad()).all().item<bool>());
  EXPECT_EQ(out.age.grad()[1].item<float>(), 0.0f);
}

TEST(Losses, EveryAgeLossHasFiniteGradients) {
  for (const auto& name : builtin_age_losses().names()) {
    torch::manual_seed(1);
    models::ModelOutput out;
    out.age_logits = (torch::randn({5, 101}) * 3).requires_grad_();
    out.age = (torch::rand({5}) * 100).requires_grad_();
    Targets t;
    t.age = torch::tensor({0.0f, 100.0f, 37.4f, 120.0f, 5.5f});  // 120: outside the bins
    LossOptions o;
    o.age = name;
    auto loss = (*make_age_loss(o))(out, t);
    loss.backward();
    EXPECT_TRUE(std::isfinite(loss.item<float>())) << name;
    auto& grad = make_age_loss(o)->needs_distribution() ? out.age_logits.grad() : out.age.grad();
    ASSERT_TRUE(grad.defined()) << name;
    EXPECT_TRUE(torch::isfinite(grad).all().item<bool>()) << name;
    EXPECT_GT(grad.abs().sum().item<float>(), 0.0f) << name;
  }
}

TEST(Losses, MultiTaskCombinesAndReportsComponents) {
  Fixture f;
  f.options.age = "l1";
  f.options.age_weight = 2.0;
  f.options.gender_weight = 0.5;
  MultiTaskLoss loss(f.options);
  auto r = loss(f.out, f.targets);
  EXPECT_NEAR(r.age_value, kLoss_l1, 1e-12);
  EXPECT_NEAR(r.gender_value, kLoss_gender_ce, 1e-12);
  EXPECT_NEAR(r.total_value, 2.0 * kLoss_l1 + 0.5 * kLoss_gender_ce, 1e-12);
  EXPECT_NEAR(r.total.item<double>(), r.total_value, 1e-12);
  r.total.backward();
  EXPECT_TRUE(f.out.age.grad().defined());
  EXPECT_TRUE(f.out.gender_logits.grad().defined());

  auto quiet = loss(f.out, f.targets, /*values=*/false);
  EXPECT_EQ(quiet.total_value, 0.0);

  f.options.gender_weight = 0.0;
  models::ModelOutput no_gender = f.out;
  no_gender.gender_logits = torch::Tensor();
  auto age_only = MultiTaskLoss(f.options)(no_gender, f.targets);
  EXPECT_NEAR(age_only.total_value, 2.0 * kLoss_l1, 1e-12);
  EXPECT_EQ(age_only.gender_value, 0.0);
}

TEST(Losses, FromConfigReadsKeysAndRejectsUnknownOnes) {
  auto c = Config::from_string("loss:\n  age: dldl\n  sigma: 3.0\n  expectation_weight: 0.5\n  gender_weight: 0.25\n");
  auto o = LossOptions::from_config(c.sub("loss"));
  EXPECT_EQ(o.age, "dldl");
  EXPECT_DOUBLE_EQ(o.sigma, 3.0);
  EXPECT_DOUBLE_EQ(o.expectation_weight, 0.5);
  EXPECT_DOUBLE_EQ(o.gender_weight, 0.25);
  EXPECT_DOUBLE_EQ(o.age_weight, 1.0);

  try {
    LossOptions::from_config(Config::from_string("sigmaa: 3\n"));
    FAIL();
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::kConfig);
    EXPECT_NE(std::string(e.what()).find("loss.sigmaa"), std::string::npos);
  }
  try {
    LossOptions::from_config(Config::from_string("sigma: -1\n"));
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("loss.sigma"), std::string::npos);
  }
  EXPECT_THROW(LossOptions::from_config(Config::from_string("sigma: abc\n")), Error);
  LossOptions bad;
  bad.age = "l3";
  try {
    make_age_loss(bad);
    FAIL();
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::kConfig);
    EXPECT_NE(e.full_message().find("dldl, l1, mean_variance, mse, smooth_l1"), std::string::npos) << e.full_message();
  }
}

TEST(Losses, BadTargetShapesAreInvalidArgument) {
  models::ModelOutput out;
  out.age = torch::zeros({3});
  Targets t;
  t.age = torch::zeros({2});
  try {
    (*make_age_loss(LossOptions{}))(out, t);
    FAIL();
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::kInvalidArgument);
  }
}

}  // namespace
}  // namespace faceage::train
