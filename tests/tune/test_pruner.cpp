#include "faceage/tune/pruner.hpp"

#include <gtest/gtest.h>

namespace faceage::tune {
namespace {

PrunerOptions median(int warmup, int min_trials) {
  PrunerOptions o;
  o.kind = "median";
  o.warmup_epochs = warmup;
  o.min_trials = min_trials;
  return o;
}

TEST(Pruner, MedianRuleComparesBestSoFarAtTheSameEpoch) {
  const std::vector<std::vector<double>> complete{{5, 4, 3}, {6, 5, 4}, {4, 3, 2}};
  // Step 2: others' best-so-far are 4, 5, 3 -> median 4.
  EXPECT_TRUE(should_prune(median(1, 3), {6, 4.5}, complete, {}));
  EXPECT_FALSE(should_prune(median(1, 3), {6, 4.0}, complete, {}));  // equal is not worse
  EXPECT_FALSE(should_prune(median(2, 3), {6, 4.5}, complete, {}));  // still warming up
  EXPECT_FALSE(should_prune(median(1, 4), {6, 4.5}, complete, {}));  // too few complete trials
  // Complete trials shorter than the step do not count.
  EXPECT_FALSE(should_prune(median(1, 3), {9, 9, 9, 9}, complete, {}));
}

TEST(Pruner, SuccessiveHalvingKeepsTheTopThirdAtEachRung) {
  PrunerOptions o;
  o.kind = "successive_halving";
  o.eta = 3;
  o.min_resource = 1;  // rungs at 1, 3, 9 epochs
  const std::vector<std::vector<double>> others{{1.0}, {2.0}, {3.0}, {4.0}, {5.0}};
  EXPECT_FALSE(should_prune(o, {1.5}, {}, others));  // 6 at the rung, keep 2: 1.0 and 1.5
  EXPECT_TRUE(should_prune(o, {2.5}, {}, others));
  EXPECT_FALSE(should_prune(o, {9.0}, {}, {}));      // the first at a rung always continues
  EXPECT_FALSE(should_prune(o, {9.0, 9.0}, {}, others));  // step 2 is not a rung
}

TEST(Pruner, NoneNeverPrunesAndOptionsAreValidated) {
  EXPECT_FALSE(should_prune(PrunerOptions{}, {100, 100, 100}, {{1, 1, 1}}, {{1, 1, 1}}));
  EXPECT_THROW(PrunerOptions::from_yaml(YAML::Load("{kind: hyperband}")), Error);
  EXPECT_THROW(PrunerOptions::from_yaml(YAML::Load("{kind: successive_halving, eta: 1}")), Error);
  try {
    PrunerOptions::from_yaml(YAML::Load("{kind: median, warmup: 2}"));
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("pruner.warmup"), std::string::npos);
  }
  const auto o = PrunerOptions::from_yaml(YAML::Load("{kind: median, warmup_epochs: 2, min_trials: 3}"));
  EXPECT_EQ(o.kind, "median");
  EXPECT_EQ(o.warmup_epochs, 2);
  EXPECT_EQ(o.min_trials, 3);
}

}  // namespace
}  // namespace faceage::tune
