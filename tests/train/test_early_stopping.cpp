#include "faceage/train/early_stopping.hpp"

#include <gtest/gtest.h>

#include <cmath>

namespace faceage::train {
namespace {

TEST(EarlyStopping, MinModeWithPatienceAndDelta) {
  EarlyStopping s({"min", 2, 0.1});
  EXPECT_FALSE(s.update(5.0, 0));
  EXPECT_TRUE(s.improved());
  EXPECT_FALSE(s.update(4.95, 1));  // not better by more than 0.1
  EXPECT_FALSE(s.improved());
  EXPECT_EQ(s.bad_epochs(), 1);
  EXPECT_FALSE(s.update(4.8, 2));   // better: resets
  EXPECT_TRUE(s.improved());
  EXPECT_EQ(s.best_epoch(), 2);
  EXPECT_FALSE(s.update(4.8, 3));
  EXPECT_TRUE(s.update(std::nan(""), 4));  // NaN is a bad epoch: 2 of 2
  EXPECT_DOUBLE_EQ(s.best(), 4.8);
}

TEST(EarlyStopping, MaxModeAndDisabled) {
  EarlyStopping s({"max", 1, 0.0});
  s.update(0.5, 0);
  EXPECT_FALSE(s.update(0.6, 1));
  EXPECT_TRUE(s.update(0.6, 2));  // equal is not better
  EarlyStopping off({"min", 0, 0.0});
  for (int e = 0; e < 100; ++e) EXPECT_FALSE(off.update(1.0, e));
}

TEST(EarlyStopping, StateRoundTrip) {
  EarlyStopping a({"min", 3, 0.0});
  a.update(2.0, 0);
  a.update(3.0, 1);
  a.update(3.0, 2);
  EarlyStopping b({"min", 3, 0.0});
  b.load_state(nlohmann::json::parse(a.state().dump()));
  EXPECT_EQ(b.bad_epochs(), 2);
  EXPECT_EQ(b.best_epoch(), 0);
  EXPECT_DOUBLE_EQ(b.best(), 2.0);
  EXPECT_TRUE(b.update(2.5, 3));
  // before any metric: best is null in JSON and NaN after loading
  EarlyStopping fresh;
  EarlyStopping c;
  c.load_state(fresh.state());
  EXPECT_FALSE(c.has_best());
  EXPECT_TRUE(std::isnan(c.best()));
  EarlyStopping max({"max", 3, 0.0});
  EXPECT_THROW(max.load_state(fresh.state()), Error);  // mode mismatch
  EXPECT_THROW(c.load_state(nlohmann::json::object()), Error);
}

TEST(EarlyStopping, Config) {
  auto o = EarlyStoppingOptions::from_config(Config::from_string("mode: min\npatience: 4\nmin_delta: 0.01\n"));
  EXPECT_EQ(o.metric, "val_mae");
  EXPECT_EQ(o.mode, "min");
  EXPECT_EQ(o.patience, 4);
  EXPECT_DOUBLE_EQ(o.min_delta, 0.01);
  EXPECT_THROW(EarlyStoppingOptions::from_config(Config::from_string("mode: lowest\n")), Error);
  EXPECT_THROW(EarlyStoppingOptions::from_config(Config::from_string("patience: -1\n")), Error);
  EXPECT_THROW(EarlyStoppingOptions::from_config(Config::from_string("patient: 3\n")), Error);
}

// Gender accuracy improves upwards: without a mode key the mode follows the metric, and a mode
// against the metric's direction (which would keep the worst epoch) is refused.
TEST(EarlyStopping, MetricSetsTheDirection) {
  EXPECT_EQ(EarlyStoppingOptions::from_config(Config::from_string("patience: 0\n")).mode, "min");
  const auto gender = EarlyStoppingOptions::from_config(Config::from_string("metric: gender_acc\n"));
  EXPECT_EQ(gender.metric, "gender_acc");
  EXPECT_EQ(gender.mode, "max");
  EXPECT_EQ(EarlyStoppingOptions::from_config(Config::from_string("metric: gender_acc\nmode: max\n")).mode, "max");
  EXPECT_THROW(EarlyStoppingOptions::from_config(Config::from_string("metric: gender_acc\nmode: min\n")), Error);
  EXPECT_THROW(EarlyStoppingOptions::from_config(Config::from_string("mode: max\n")), Error);
  EXPECT_THROW(EarlyStoppingOptions::from_config(Config::from_string("metric: age\n")), Error);
  EarlyStopping by_gender(gender);
  by_gender.update(0.944, 0);
  by_gender.update(0.947, 1);
  EXPECT_EQ(by_gender.best_epoch(), 1);
}

}  // namespace
}  // namespace faceage::train
