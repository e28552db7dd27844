#include "faceage/train/optim.hpp"

#include <gtest/gtest.h>

namespace faceage::train {
namespace {

struct TinyNet : torch::nn::Module {
  TinyNet() {
    fc = register_module("fc", torch::nn::Linear(3, 2));
    bn = register_module("bn", torch::nn::BatchNorm1d(2));
  }
  torch::nn::Linear fc{nullptr};
  torch::nn::BatchNorm1d bn{nullptr};
};

TEST(Optim, SplitsDecayAndLayerwiseGroups) {
  auto backbone = std::make_shared<TinyNet>();
  auto head = torch::nn::Linear(2, 1);
  OptimizerOptions o;
  o.lr = 0.01;
  o.weight_decay = 0.1;
  o.backbone_lr_factor = 0.1;
  auto specs = backbone_head_groups(backbone->parameters(), head->parameters(), o);
  auto groups = describe_groups(o, specs);
  ASSERT_EQ(groups.size(), 4u);
  EXPECT_EQ(groups[0].name, "backbone.decay");
  EXPECT_EQ(groups[0].tensors, 1);  // fc.weight
  EXPECT_EQ(groups[0].elements, 6);
  EXPECT_NEAR(groups[0].lr, 0.001, 1e-15);
  EXPECT_EQ(groups[0].weight_decay, 0.1);
  EXPECT_EQ(groups[1].name, "backbone.no_decay");
  EXPECT_EQ(groups[1].tensors, 3);  // fc.bias, bn.weight, bn.bias
  EXPECT_EQ(groups[1].weight_decay, 0.0);
  EXPECT_EQ(groups[2].name, "heads.decay");
  EXPECT_EQ(groups[2].lr, 0.01);
  EXPECT_EQ(groups[3].name, "heads.no_decay");

  auto optimizer = make_optimizer(o, specs);
  ASSERT_EQ(optimizer->param_groups().size(), 4u);
  auto lrs = group_lrs(*optimizer);
  EXPECT_NEAR(lrs[0], 0.001, 1e-15);
  EXPECT_EQ(lrs[3], 0.01);
  auto& wd = static_cast<torch::optim::AdamWOptions&>(optimizer->param_groups()[1].options());
  EXPECT_EQ(wd.weight_decay(), 0.0);

  o.decay_norm_and_bias = true;
  EXPECT_EQ(describe_groups(o, specs).size(), 2u);
  // frozen tensors are left out
  head->weight.set_requires_grad(false);
  o.decay_norm_and_bias = false;
  EXPECT_EQ(describe_groups(o, backbone_head_groups({}, head->parameters(), o)).size(), 1u);
}

TEST(Optim, AdamWDecayIsDecoupledAndSkipsBiases) {
  auto w = torch::full({2, 2}, 2.0, torch::requires_grad());
  auto b = torch::full({2}, 2.0, torch::requires_grad());
  OptimizerOptions o;
  o.name = "adamw";
  o.lr = 0.1;
  o.weight_decay = 0.5;
  auto optimizer = make_optimizer(o, {ParamGroupSpec{"all", {w, b}, 1.0}});
  w.mutable_grad() = torch::zeros_like(w);  // a zero gradient: only the decay moves w
  b.mutable_grad() = torch::zeros_like(b);
  optimizer->step();
  EXPECT_NEAR(w[0][0].item<float>(), 2.0f * (1.0f - 0.1f * 0.5f), 1e-6);
  EXPECT_EQ(b[0].item<float>(), 2.0f);
}

double weight_decay_of(const std::string& optimizer, const torch::optim::OptimizerOptions& options) {
  if (optimizer == "adam") return static_cast<const torch::optim::AdamOptions&>(options).weight_decay();
  if (optimizer == "adamw") return static_cast<const torch::optim::AdamWOptions&>(options).weight_decay();
  return static_cast<const torch::optim::SGDOptions&>(options).weight_decay();
}

// Newer LibTorch merges group options with the optimizer's defaults where a group value equals
// the options' constructor default (weight_decay 0 for adam/sgd, lr 1e-3): the groups must still
// come out as describe_groups() says.
TEST(Optim, GroupsKeepTheirOwnLrAndDecay) {
  auto backbone = std::make_shared<TinyNet>();
  auto head = torch::nn::Linear(2, 1);
  for (const std::string name : {"adam", "adamw", "sgd"}) {
    OptimizerOptions o;
    o.name = name;
    o.lr = 0.002;
    o.weight_decay = 0.05;
    o.backbone_lr_factor = 0.5;  // backbone lr 1e-3, the options' default lr
    auto specs = backbone_head_groups(backbone->parameters(), head->parameters(), o);
    const auto expected = describe_groups(o, specs);
    auto optimizer = make_optimizer(o, specs);
    ASSERT_EQ(optimizer->param_groups().size(), expected.size()) << name;
    for (size_t i = 0; i < expected.size(); ++i) {
      const auto& options = optimizer->param_groups()[i].options();
      EXPECT_EQ(options.get_lr(), expected[i].lr) << name << " " << expected[i].name;
      EXPECT_EQ(weight_decay_of(name, options), expected[i].weight_decay) << name << " " << expected[i].name;
    }
  }
}

TEST(Optim, SgdNesterovByHand) {
  auto p = torch::ones({1}, torch::requires_grad());
  OptimizerOptions o;
  o.name = "sgd";
  o.lr = 0.1;
  o.momentum = 0.9;
  o.nesterov = true;
  o.weight_decay = 0.0;
  auto optimizer = make_optimizer(o, {ParamGroupSpec{"p", {p}, 1.0}});
  p.mutable_grad() = torch::full({1}, 2.0);
  optimizer->step();  // buf = g; d = g + m·buf = 3.8 -> p = 1 − 0.38
  EXPECT_NEAR(p.item<float>(), 0.62f, 1e-6);
  optimizer->step();  // buf = m·g + g = 3.8; d = g + m·buf = 5.42 -> p = 0.62 − 0.542
  EXPECT_NEAR(p.item<float>(), 0.078f, 1e-6);
}

TEST(Optim, SetGroupLrsAndClipping) {
  auto a = torch::zeros({2}, torch::requires_grad());
  auto c = torch::zeros({2, 1}, torch::requires_grad());
  OptimizerOptions o;
  o.name = "adam";
  o.lr = 0.2;
  auto optimizer = make_optimizer(o, {ParamGroupSpec{"x", {a, c}, 1.0}});
  auto base = group_lrs(*optimizer);
  set_group_lrs(*optimizer, base, 0.5);
  for (double lr : group_lrs(*optimizer)) EXPECT_DOUBLE_EQ(lr, 0.1);
  EXPECT_THROW(set_group_lrs(*optimizer, {1.0}, 1.0), Error);

  a.mutable_grad() = torch::tensor({3.0f, 0.0f});
  c.mutable_grad() = torch::tensor({{0.0f}, {4.0f}});
  EXPECT_NEAR(clip_grad_norm(*optimizer, 1.0), 5.0, 1e-6);
  EXPECT_NEAR(a.grad()[0].item<float>(), 0.6f, 1e-5);
  EXPECT_NEAR(c.grad()[1][0].item<float>(), 0.8f, 1e-5);
  EXPECT_NEAR(clip_grad_norm(*optimizer, 10.0), 1.0, 1e-5);  // already small: unchanged
  EXPECT_NEAR(a.grad()[0].item<float>(), 0.6f, 1e-5);
}

TEST(Optim, ConfigAndErrors) {
  auto c = Config::from_string(
      "optimizer:\n  name: sgd\n  lr: 0.05\n  momentum: 0.8\n  nesterov: true\n  betas: [0.8, 0.99]\n"
      "  backbone_lr_factor: 0.1\n  grad_clip_norm: 5.0\n");
  auto o = OptimizerOptions::from_config(c.sub("optimizer"));
  EXPECT_EQ(o.name, "sgd");
  EXPECT_DOUBLE_EQ(o.lr, 0.05);
  EXPECT_DOUBLE_EQ(o.momentum, 0.8);
  EXPECT_TRUE(o.nesterov);
  EXPECT_DOUBLE_EQ(o.beta1, 0.8);
  EXPECT_DOUBLE_EQ(o.beta2, 0.99);
  EXPECT_DOUBLE_EQ(o.backbone_lr_factor, 0.1);
  EXPECT_DOUBLE_EQ(o.grad_clip_norm, 5.0);

  EXPECT_THROW(OptimizerOptions::from_config(Config::from_string("lr: -1\n")), Error);
  EXPECT_THROW(OptimizerOptions::from_config(Config::from_string("betas: [0.9]\n")), Error);
  EXPECT_THROW(OptimizerOptions::from_config(Config::from_string("learning_rate: 0.1\n")), Error);

  auto p = torch::zeros({1}, torch::requires_grad());
  OptimizerOptions bad;
  bad.name = "lamb";
  try {
    make_optimizer(bad, {ParamGroupSpec{"p", {p}, 1.0}});
    FAIL();
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::kConfig);
    EXPECT_NE(e.hint().find("adam, adamw, sgd"), std::string::npos) << e.hint();
  }
  auto frozen = torch::zeros({1});
  EXPECT_THROW(make_optimizer(OptimizerOptions{}, {ParamGroupSpec{"p", {frozen}, 1.0}}), Error);
}

}  // namespace
}  // namespace faceage::train
