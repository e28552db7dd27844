#include "faceage/lifecycle/retrain.hpp"

#include <gtest/gtest.h>

#include <fstream>

#include "support/error_code.hpp"
#include "support/temp_dir.hpp"

namespace faceage::lifecycle {
namespace {

using faceage::testing::error_of;

// Metrics with an overall MAE, per-band MAEs (bands 3 "18-29" and 4 "30-39" populated), per-gender
// MAEs and a gender accuracy, as eval::compute_metrics fills them.
eval::EvalMetrics metrics(double mae, double band18, double band30, double female, double male, double accuracy,
                          std::int64_t count = 20) {
  eval::EvalMetrics m;
  m.age.count = 2 * count;
  m.age.mae = mae;
  for (int b = 0; b < eval::kNumAgeBands; ++b) m.by_band.push_back({eval::age_band_label(b), 0, eval::kNaN, eval::kNaN});
  m.by_band[3] = {"18-29", count, band18, 0};
  m.by_band[4] = {"30-39", count, band30, 0};
  m.by_gender = {{"female", count, female, 0}, {"male", count, male, 0}};
  m.gender.count = 2 * count;
  m.gender.accuracy = accuracy;
  return m;
}

TEST(ChallengerWins, PromotesOnlyWhenBetterByTheMarginWithNoGroupMuchWorse) {
  const auto champion = metrics(6.0, 5.0, 7.0, 6.0, 6.0, 0.90);
  std::vector<std::string> reasons;
  EXPECT_TRUE(challenger_wins(champion, metrics(5.0, 4.5, 5.5, 5.0, 5.0, 0.91), {}, reasons));
  ASSERT_FALSE(reasons.empty());
  for (const auto& r : reasons) EXPECT_EQ(r.rfind("yes: ", 0), 0u) << r;

  PromotionRules rules;
  rules.margin = 1.5;  // better, but not by enough
  reasons.clear();
  EXPECT_FALSE(challenger_wins(champion, metrics(5.0, 4.5, 5.5, 5.0, 5.0, 0.91), rules, reasons));
  EXPECT_EQ(reasons.front().rfind("no: MAE", 0), 0u) << reasons.front();

  // Better on the whole but one band 1.5 years worse (tolerance 1): refused, naming the band.
  reasons.clear();
  EXPECT_FALSE(challenger_wins(champion, metrics(5.0, 6.5, 3.5, 5.0, 5.0, 0.91), {}, reasons));
  bool named = false;
  for (const auto& r : reasons) named = named || (r.rfind("no: age band 18-29", 0) == 0);
  EXPECT_TRUE(named);

  // A gender group worse beyond the tolerance, or the gender accuracy dropping: refused.
  reasons.clear();
  EXPECT_FALSE(challenger_wins(champion, metrics(5.0, 4.5, 5.5, 7.5, 3.0, 0.91), {}, reasons));
  reasons.clear();
  EXPECT_FALSE(challenger_wins(champion, metrics(5.0, 4.5, 5.5, 5.0, 5.0, 0.85), {}, reasons));

  // A band with too few faces to judge is not held against the challenger.
  auto small = metrics(5.0, 9.0, 5.5, 5.0, 5.0, 0.91);
  auto small_champion = champion;
  small.by_band[3].count = small_champion.by_band[3].count = 3;
  reasons.clear();
  EXPECT_TRUE(challenger_wins(small_champion, small, {}, reasons));
}

TEST(Retrain, RefusesWithoutARegistryOrProductionVersion) {
  faceage::testing::TempDir tmp;
  RetrainOptions options;
  options.registry_dir = tmp.file("no-registry");
  options.new_data = tmp.file("new.csv");
  EXPECT_EQ(error_of([&] { retrain(options, Context{}); }), ErrorCode::kNotFound);  // no manifest
  {
    std::ofstream(options.new_data) << "file,age,gender\n";
  }
  EXPECT_EQ(error_of([&] { retrain(options, Context{}); }), ErrorCode::kNotFound);  // no registry
  { monitor::ModelRegistry registry(options.registry_dir); }
  EXPECT_EQ(error_of([&] { retrain(options, Context{}); }), ErrorCode::kNotFound);  // no production version
  options.rules.margin = -1;
  EXPECT_EQ(error_of([&] { retrain(options, Context{}); }), ErrorCode::kInvalidArgument);
}

}  // namespace
}  // namespace faceage::lifecycle
