#include "faceage/train/ema.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <sstream>

namespace faceage::train {
namespace {

// One parameter and one buffer.
struct Scalar : torch::nn::Module {
  Scalar() {
    w = register_parameter("w", torch::zeros({1}));
    count = register_buffer("count", torch::zeros({1}, torch::kLong));
  }
  void set(float value) {
    torch::NoGradGuard no_grad;
    w.fill_(value);
  }
  float value() const { return w.item<float>(); }
  torch::Tensor w, count;
};

float ema_w(const ModelEma& ema) { return ema.parameters().at(0).second.item<float>(); }

TEST(Ema, FixedDecayByHand) {
  Scalar model;
  EmaOptions o;
  o.decay = 0.5;
  o.warmup = false;
  ModelEma ema(model, o);
  model.set(1.0f);
  ema.update(model);
  EXPECT_FLOAT_EQ(ema_w(ema), 0.5f);  // 0.5·0 + 0.5·1
  model.set(3.0f);
  model.count.fill_(7);
  ema.update(model);
  EXPECT_FLOAT_EQ(ema_w(ema), 1.75f);  // 0.5·0.5 + 0.5·3
  EXPECT_EQ(ema.updates(), 2);
  auto state = ema.state_dict();
  EXPECT_EQ(state.at("buffer:count").item<int64_t>(), 7);  // buffers are copied, not averaged
}

TEST(Ema, WarmupByHand) {
  Scalar model;
  EmaOptions o;
  o.warmup = true;
  o.warmup_gamma = 1.0;
  o.warmup_power = 1.0;  // d_n = 1 − 1/n: the running mean
  o.decay = 0.9;
  ModelEma ema(model, o);
  for (float v : {2.0f, 4.0f, 9.0f}) {
    model.set(v);
    ema.update(model);
  }
  EXPECT_FLOAT_EQ(ema_w(ema), 5.0f);  // (2 + 4 + 9) / 3
  o.decay = 0.6;  // caps the third decay (2/3) at 0.6: 0.6·3 + 0.4·9
  ModelEma capped(Scalar{}, o);
  for (float v : {2.0f, 4.0f, 9.0f}) {
    model.set(v);
    capped.update(model);
  }
  EXPECT_FLOAT_EQ(ema_w(capped), 5.4f);

  EmaOptions timm;  // default power 2/3: d_1 = 0, d_2 = 1 − 2^(−2/3)
  ModelEma t(model, timm);
  EXPECT_DOUBLE_EQ(t.next_decay(), 0.0);
  t.update(model);
  EXPECT_NEAR(t.next_decay(), 1.0 - std::pow(2.0, -2.0 / 3.0), 1e-15);
}

TEST(Ema, CopySwapAndScopedSwap) {
  Scalar model;
  EmaOptions o;
  o.decay = 0.5;
  o.warmup = false;
  ModelEma ema(model, o);
  model.set(4.0f);
  ema.update(model);  // ema 2, model 4
  {
    ModelEma::ScopedSwap use(ema, model);
    EXPECT_FLOAT_EQ(model.value(), 2.0f);
    EXPECT_FLOAT_EQ(ema_w(ema), 4.0f);
  }
  EXPECT_FLOAT_EQ(model.value(), 4.0f);
  EXPECT_FLOAT_EQ(ema_w(ema), 2.0f);
  ema.copy_to(model);
  EXPECT_FLOAT_EQ(model.value(), 2.0f);
  EXPECT_FALSE(model.w.grad().defined());
  EXPECT_TRUE(model.w.requires_grad());
}

TEST(Ema, StateRoundTripThroughAnArchive) {
  Scalar model;
  EmaOptions o;
  o.warmup = false;
  o.decay = 0.75;
  ModelEma ema(model, o);
  model.set(8.0f);
  ema.update(model);  // 2
  torch::serialize::OutputArchive out;
  ema.save(out);
  std::stringstream bytes;
  out.save_to(bytes);

  Scalar other;
  ModelEma restored(other, o);
  torch::serialize::InputArchive in;
  in.load_from(bytes);
  restored.load(in);
  EXPECT_FLOAT_EQ(ema_w(restored), 2.0f);
  EXPECT_EQ(restored.updates(), 1);
  restored.update(model);
  EXPECT_FLOAT_EQ(ema_w(restored), 0.75f * 2.0f + 0.25f * 8.0f);

  auto state = ema.state_dict();
  state.erase("param:w");
  try {
    restored.load_state_dict(state);
    FAIL();
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::kModel);
  }
  EXPECT_FLOAT_EQ(ema_w(restored), 3.5f);  // unchanged by the failed load
}

TEST(Ema, ModelWithAnotherStructureIsRejected) {
  Scalar model;
  ModelEma ema(model);
  torch::nn::Linear other(2, 2);
  EXPECT_THROW(ema.update(*other), Error);
  EmaOptions bad;
  bad.decay = 1.0;
  EXPECT_THROW((ModelEma{model, bad}), Error);
  EXPECT_THROW(EmaOptions::from_config(Config::from_string("decay: 1.5\n")), Error);
  auto o = EmaOptions::from_config(Config::from_string("enabled: true\ndecay: 0.999\nwarmup: false\n"));
  EXPECT_TRUE(o.enabled);
  EXPECT_DOUBLE_EQ(o.decay, 0.999);
  EXPECT_FALSE(o.warmup);
}

}  // namespace
}  // namespace faceage::train
