#include "faceage/train/distill.hpp"

#include <gtest/gtest.h>
#include <torch/torch.h>

#include <cmath>

#include "faceage/core/error.hpp"
#include "support/error_code.hpp"
#include "support/temp_dir.hpp"

namespace faceage::train {
namespace {

TEST(SoftTargetLoss, IsTheKullbackLeiblerDivergenceByHand) {
  // Student logits log(0.5), log(0.5) -> (0.5, 0.5); teacher (0.8, 0.2):
  // KL = 0.8 ln(0.8/0.5) + 0.2 ln(0.2/0.5).
  const auto student = torch::log(torch::tensor({{0.5f, 0.5f}}));
  const auto teacher = torch::tensor({{0.8f, 0.2f}});
  const double expected = 0.8 * std::log(0.8 / 0.5) + 0.2 * std::log(0.2 / 0.5);
  EXPECT_NEAR(soft_target_loss(student, teacher).item<double>(), expected, 1e-6);
  // The same distribution: zero, and a teacher zero is not NaN.
  EXPECT_NEAR(soft_target_loss(torch::log(torch::tensor({{0.3f, 0.7f}})), torch::tensor({{0.3f, 0.7f}})).item<double>(),
              0.0, 1e-6);
  EXPECT_TRUE(std::isfinite(
      soft_target_loss(torch::tensor({{0.0f, 1.0f}}), torch::tensor({{0.0f, 1.0f}})).item<double>()));
}

class DistillerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    options_.arch = "mobilenet_v2";
    bundle_ = models::untrained_bundle(options_, 32);
    models::save_bundle(bundle_, dir_.file("teacher.fab"));
    distill_.teacher = dir_.file("teacher.fab");
  }
  testing::TempDir dir_;
  models::ModelOptions options_;
  models::Bundle bundle_;
  DistillOptions distill_;
};

TEST_F(DistillerTest, AStudentThatAnswersAsTheTeacherHasNoLossAndAnotherHasSome) {
  Distiller distiller(distill_, options_, bundle_.preprocess, "cpu");
  torch::manual_seed(3);
  const auto images = torch::randn({4, 3, 32, 32});
  bundle_.model->eval();
  const auto same = bundle_.model->forward(images);
  EXPECT_NEAR(distiller(same, images).item<double>(), 0.0, 1e-5);
  // A student whose logits are shifted away from the teacher's pays for it, in age and gender.
  auto other = same;
  other.age_logits = same.age_logits + torch::linspace(0, 5, same.age_logits.size(1));
  other.gender_logits = same.gender_logits + torch::tensor({2.0f, -2.0f});
  EXPECT_GT(distiller(other, images).item<double>(), 0.01);
  // The loss reaches the student's logits, never the teacher.
  auto logits = other.age_logits.detach().requires_grad_(true);
  other.age_logits = logits;
  distiller(other, images).backward();
  EXPECT_TRUE(logits.grad().defined());
  EXPECT_GT(logits.grad().abs().sum().item<double>(), 0.0);
}

TEST_F(DistillerTest, ATeacherThatDoesNotFitTheStudentIsAConfigError) {
  auto other_bins = options_;
  other_bins.max_age = 80;
  EXPECT_EQ(testing::error_of([&] { Distiller(distill_, other_bins, bundle_.preprocess, "cpu"); }), ErrorCode::kConfig);
  auto other_size = bundle_.preprocess;
  other_size.input_size = 64;
  EXPECT_EQ(testing::error_of([&] { Distiller(distill_, options_, other_size, "cpu"); }), ErrorCode::kConfig);
  auto no_gender = options_;
  no_gender.gender_head = false;
  EXPECT_EQ(testing::error_of([&] { Distiller(distill_, no_gender, bundle_.preprocess, "cpu"); }), ErrorCode::kConfig);
  distill_.gender_weight = 0.0;  // age only: a student without a gender head is fine
  EXPECT_NO_THROW(Distiller(distill_, no_gender, bundle_.preprocess, "cpu"));
}

TEST(DistillOptions, KeysAndValuesAreChecked) {
  Config config = Config::from_string("teacher: t.fab\nweight: 0.5\ntemperature: 2\n");
  const auto o = DistillOptions::from_config(config);
  EXPECT_EQ(o.teacher, "t.fab");
  EXPECT_DOUBLE_EQ(o.weight, 0.5);
  EXPECT_DOUBLE_EQ(o.temperature, 2.0);
  EXPECT_EQ(testing::error_of([] { DistillOptions::from_config(Config::from_string("teachr: t.fab\n")); }),
            ErrorCode::kConfig);
  EXPECT_EQ(testing::error_of([] { DistillOptions::from_config(Config::from_string("weight: 0\n")); }),
            ErrorCode::kConfig);
  EXPECT_FALSE(DistillOptions{}.enabled());
}

}  // namespace
}  // namespace faceage::train
