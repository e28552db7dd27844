#include "faceage/eval/metrics.hpp"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <cmath>

#include "faceage/core/error.hpp"

namespace faceage::eval {
namespace {

EvalRecord rec(double t, double p, std::string tg = "", int race = -1, double lo = kNaN, double hi = kNaN) {
  EvalRecord r;
  r.true_age = t;
  r.pred_age = p;
  r.true_gender = std::move(tg);
  r.race = race;
  r.age_low = lo;
  r.age_high = hi;
  return r;
}

// Six scored records plus one without a prediction. Hand-computed:
//   errors (pred - true): +2, -3, 0, +10, +3, -10; |e| = 2,3,0,10,3,10
//   MAE 28/6, bias 2/6, RMSE sqrt(222/6) = sqrt(37), median |e| of {0,2,3,3,10,10} = 3
//   CS@1 1/6 ({0}), CS@3 4/6, CS@5 4/6, CS@10 6/6
std::vector<EvalRecord> age_fixture() {
  return {rec(10, 12, "female", 0, 9, 15),   // band 10-17 -> 10-17
          rec(20, 17, "male", 0, 18, 22),    // 18-29 -> 10-17 (false minor)
          rec(30, 30, "female", 2),          // 30-39 -> 30-39
          rec(40, 50, "male", -1, 45, 55),   // 40-49 -> 50-59
          rec(16, 19, "", 1),                // 10-17 -> 18-29 (false adult)
          rec(25, 15, "female", 2, 25, 25),  // 18-29 -> 10-17 (false minor)
          rec(50, kNaN, "male", 0)};         // no prediction: not scored
}

TEST(Metrics, AgeBands) {
  EXPECT_EQ(age_band_index(-1), 0);
  EXPECT_EQ(age_band_index(2.99), 0);
  EXPECT_EQ(age_band_index(3), 1);
  EXPECT_EQ(age_band_index(17.6), 2);  // a minor, as for the gate
  EXPECT_EQ(age_band_index(18), 3);
  EXPECT_EQ(age_band_index(69.9), 7);
  EXPECT_EQ(age_band_index(70), 8);
  EXPECT_EQ(age_band_index(kNaN), -1);
  EXPECT_EQ(age_band_label(2), "10-17");
  EXPECT_EQ(age_band_label(8), "70+");
  EXPECT_EQ(race_label(3), "Indian");
  EXPECT_EQ(race_label(-1), "unknown");
}

TEST(Metrics, AgeSummary) {
  const EvalMetrics m = compute_metrics(age_fixture());
  EXPECT_EQ(m.records, 7);
  EXPECT_EQ(m.age.count, 6);
  EXPECT_NEAR(m.age.mae, 28.0 / 6, 1e-12);
  EXPECT_NEAR(m.age.bias, 2.0 / 6, 1e-12);
  EXPECT_NEAR(m.age.rmse, std::sqrt(37.0), 1e-12);
  EXPECT_DOUBLE_EQ(m.age.median_ae, 3.0);
  EXPECT_NEAR(m.age.cs1, 1.0 / 6, 1e-12);
  EXPECT_NEAR(m.age.cs3, 4.0 / 6, 1e-12);
  EXPECT_NEAR(m.age.cs5, 4.0 / 6, 1e-12);
  EXPECT_DOUBLE_EQ(m.age.cs10, 1.0);
}

TEST(Metrics, MedianOfOddCount) {
  // |e| = 1, 5, 2 -> median 2.
  const EvalMetrics m = compute_metrics({rec(10, 11, ""), rec(10, 15, ""), rec(10, 8, "")});
  EXPECT_DOUBLE_EQ(m.age.median_ae, 2.0);
}

TEST(Metrics, GroupsAndCells) {
  const EvalMetrics m = compute_metrics(age_fixture());
  ASSERT_EQ(m.by_band.size(), 9u);
  // 10-17: +2, +3
  EXPECT_EQ(m.by_band[2].count, 2);
  EXPECT_DOUBLE_EQ(m.by_band[2].mae, 2.5);
  EXPECT_DOUBLE_EQ(m.by_band[2].bias, 2.5);
  // 18-29: -3, -10
  EXPECT_EQ(m.by_band[3].count, 2);
  EXPECT_DOUBLE_EQ(m.by_band[3].mae, 6.5);
  EXPECT_DOUBLE_EQ(m.by_band[3].bias, -6.5);
  EXPECT_EQ(m.by_band[5].count, 1);
  EXPECT_DOUBLE_EQ(m.by_band[5].bias, 10.0);
  EXPECT_EQ(m.by_band[0].count, 0);
  EXPECT_TRUE(std::isnan(m.by_band[0].mae));
  // female: +2, 0, -10; male: -3, +10 (the unknown-gender record is in neither)
  ASSERT_EQ(m.by_gender.size(), 2u);
  EXPECT_EQ(m.by_gender[0].name, "female");
  EXPECT_EQ(m.by_gender[0].count, 3);
  EXPECT_DOUBLE_EQ(m.by_gender[0].mae, 4.0);
  EXPECT_NEAR(m.by_gender[0].bias, -8.0 / 3, 1e-12);
  EXPECT_EQ(m.by_gender[1].count, 2);
  EXPECT_DOUBLE_EQ(m.by_gender[1].mae, 6.5);
  EXPECT_DOUBLE_EQ(m.by_gender[1].bias, 3.5);
  // White: +2, -3; Black: +3; Asian: 0, -10
  ASSERT_EQ(m.by_race.size(), 5u);
  EXPECT_EQ(m.by_race[0].count, 2);
  EXPECT_DOUBLE_EQ(m.by_race[0].mae, 2.5);
  EXPECT_DOUBLE_EQ(m.by_race[0].bias, -0.5);
  EXPECT_EQ(m.by_race[1].count, 1);
  EXPECT_EQ(m.by_race[2].count, 2);
  EXPECT_DOUBLE_EQ(m.by_race[2].mae, 5.0);
  EXPECT_EQ(m.by_race[3].count, 0);
  // Cells need both gender and race: (10-17,f,White) +2, (18-29,f,Asian) -10, (18-29,m,White) -3, (30-39,f,Asian) 0
  ASSERT_EQ(m.cells.size(), 4u);
  EXPECT_EQ(m.cells[0].band, 2);
  EXPECT_EQ(m.cells[0].gender, "female");
  EXPECT_EQ(m.cells[0].race, 0);
  EXPECT_DOUBLE_EQ(m.cells[0].bias, 2.0);
  EXPECT_EQ(m.cells[1].band, 3);
  EXPECT_EQ(m.cells[1].gender, "female");
  EXPECT_EQ(m.cells[1].race, 2);
  EXPECT_DOUBLE_EQ(m.cells[1].mae, 10.0);
  EXPECT_EQ(m.cells[2].gender, "male");
  EXPECT_DOUBLE_EQ(m.cells[2].bias, -3.0);
  EXPECT_EQ(m.cells[3].band, 4);
  EXPECT_DOUBLE_EQ(m.cells[3].mae, 0.0);
}

TEST(Metrics, GateRates) {
  const EvalMetrics m = compute_metrics(age_fixture());
  // minors: 10 (->12), 16 (->19 false adult); adults: 20 (->17), 30, 40, 25 (->15): two false minors
  EXPECT_EQ(m.gate.minors, 2);
  EXPECT_EQ(m.gate.false_adult, 1);
  EXPECT_DOUBLE_EQ(m.gate.false_adult_rate, 0.5);
  EXPECT_EQ(m.gate.adults, 4);
  EXPECT_EQ(m.gate.false_minor, 2);
  EXPECT_DOUBLE_EQ(m.gate.false_minor_rate, 0.5);
  // 17.99 is still a minor prediction, 18 an adult one.
  const EvalMetrics edge = compute_metrics({rec(17, 18, ""), rec(18, 17.99, ""), rec(30, 18, "")});
  EXPECT_EQ(edge.gate.false_adult, 1);
  EXPECT_EQ(edge.gate.false_minor, 1);
  EXPECT_DOUBLE_EQ(edge.gate.false_minor_rate, 0.5);
}

TEST(Metrics, ConfusionMatrix) {
  const EvalMetrics m = compute_metrics(age_fixture());
  std::int64_t total = 0;
  for (const auto& row : m.confusion) {
    for (auto c : row) total += c;
  }
  EXPECT_EQ(total, 6);
  EXPECT_EQ(m.confusion[2][2], 1);  // 10 -> 12
  EXPECT_EQ(m.confusion[2][3], 1);  // 16 -> 19
  EXPECT_EQ(m.confusion[3][2], 2);  // 20 -> 17, 25 -> 15
  EXPECT_EQ(m.confusion[4][4], 1);  // 30 -> 30
  EXPECT_EQ(m.confusion[5][6], 1);  // 40 -> 50
}

TEST(Metrics, IntervalCoverage) {
  const EvalMetrics m = compute_metrics(age_fixture());
  // [9,15]∋10 (w 6), [18,22]∋20 (w 4), [45,55]∌40 (w 10), [25,25]∋25 (w 0, inclusive)
  EXPECT_EQ(m.interval.count, 4);
  EXPECT_EQ(m.interval.covered, 3);
  EXPECT_DOUBLE_EQ(m.interval.coverage, 0.75);
  EXPECT_DOUBLE_EQ(m.interval.mean_width, 5.0);
  ASSERT_EQ(m.interval_by_band.size(), 9u);
  EXPECT_EQ(m.interval_by_band[2].count, 1);
  EXPECT_DOUBLE_EQ(m.interval_by_band[2].coverage, 1.0);
  EXPECT_DOUBLE_EQ(m.interval_by_band[3].mean_width, 2.0);
  EXPECT_DOUBLE_EQ(m.interval_by_band[5].coverage, 0.0);
  EXPECT_TRUE(std::isnan(m.interval_by_band[0].coverage));
}

TEST(Metrics, AucWithTies) {
  // positives 0.9, 0.6, 0.4; negatives 0.6, 0.2, 0.4. Pairs won: 3 + (0.5+1+1) + (0+1+0.5) = 7 of 9.
  EXPECT_NEAR(roc_auc({0.9, 0.6, 0.4, 0.6, 0.2, 0.4}, {1, 1, 1, 0, 0, 0}), 7.0 / 9, 1e-12);
  EXPECT_DOUBLE_EQ(roc_auc({0.5, 0.5, 0.5, 0.5}, {1, 0, 1, 0}), 0.5);
  EXPECT_DOUBLE_EQ(roc_auc({0.1, 0.2, 0.8, 0.9}, {0, 0, 1, 1}), 1.0);
  EXPECT_DOUBLE_EQ(roc_auc({0.1, 0.2, 0.8, 0.9}, {1, 1, 0, 0}), 0.0);
  EXPECT_TRUE(std::isnan(roc_auc({0.1, 0.2}, {1, 1})));
  EXPECT_THROW(roc_auc({0.1}, {1, 0}), Error);
}

// Five records, pred_gender consistent with female_prob. Confidence of the predicted class and bin:
//   f p=.95 -> f .95 bin 9 ok | m p=.92 -> f .92 bin 9 wrong | m p=.28 -> m .72 bin 7 ok
//   f p=.35 -> m .65 bin 6 wrong | m p=.12 -> m .88 bin 8 ok
// ECE = (2*|.5-.935| + |1-.88| + |1-.72| + |0-.65|)/5 = 1.92/5 = 0.384; accuracy 3/5.
// AUC: female .95, .35 vs male .92, .28, .12: 3 + 2 = 5 of 6 pairs.
std::vector<EvalRecord> gender_fixture() {
  struct G {
    const char* t;
    const char* p;
    double prob;
  };
  std::vector<EvalRecord> out;
  for (const G& g : {G{"female", "female", .95}, G{"male", "female", .92}, G{"male", "male", .28},
                     G{"female", "male", .35}, G{"male", "male", .12}}) {
    EvalRecord r = rec(30, 30, g.t);
    r.pred_gender = g.p;
    r.female_prob = g.prob;
    out.push_back(r);
  }
  return out;
}

TEST(Metrics, GenderAccuracyAucEce) {
  const EvalMetrics m = compute_metrics(gender_fixture());
  EXPECT_EQ(m.gender.count, 5);
  EXPECT_EQ(m.gender.correct, 3);
  EXPECT_DOUBLE_EQ(m.gender.accuracy, 0.6);
  EXPECT_EQ(m.gender.auc_female, 2);
  EXPECT_EQ(m.gender.auc_male, 3);
  EXPECT_NEAR(m.gender.auc, 5.0 / 6, 1e-12);
  EXPECT_EQ(m.gender.ece_count, 5);
  EXPECT_NEAR(m.gender.ece, 0.384, 1e-12);
  EXPECT_EQ(m.gender.bins[9].count, 2);
  EXPECT_NEAR(m.gender.bins[9].mean_confidence, 0.935, 1e-12);
  EXPECT_DOUBLE_EQ(m.gender.bins[9].accuracy, 0.5);
  EXPECT_EQ(m.gender.bins[6].count, 1);
  EXPECT_DOUBLE_EQ(m.gender.bins[6].accuracy, 0.0);
  EXPECT_EQ(m.gender.bins[0].count, 0);
  EXPECT_TRUE(std::isnan(m.gender.bins[0].accuracy));
}

TEST(Metrics, EceUsesThePredictedClassConfidence) {
  // The system says "male" although P(female) = .75: its confidence in "male" is .25 (bin 2), and
  // it is wrong, so ECE = |0 - .25|.
  EvalRecord r = rec(30, 30, "female");
  r.pred_gender = "male";
  r.female_prob = 0.75;
  const EvalMetrics m = compute_metrics({r});
  EXPECT_EQ(m.gender.bins[2].count, 1);
  EXPECT_NEAR(m.gender.ece, 0.25, 1e-12);
  EXPECT_TRUE(std::isnan(m.gender.auc));  // one class only
}

TEST(Metrics, EmptyInputGivesNaNsNotZeros) {
  const EvalMetrics m = compute_metrics({});
  EXPECT_EQ(m.age.count, 0);
  EXPECT_TRUE(std::isnan(m.age.mae));
  EXPECT_TRUE(std::isnan(m.gate.false_adult_rate));
  EXPECT_TRUE(std::isnan(m.gender.ece));
  const nlohmann::json j = to_json(m);
  EXPECT_TRUE(j["age"]["mae"].is_null());
}

TEST(Metrics, JsonHasEverySection) {
  const nlohmann::json j = to_json(compute_metrics(age_fixture()));
  EXPECT_NEAR(j["age"]["mae"].get<double>(), 28.0 / 6, 1e-12);
  EXPECT_EQ(j["by_band"].size(), 9u);
  EXPECT_EQ(j["by_band"][2]["name"], "10-17");
  EXPECT_EQ(j["gate"]["false_minor"], 2);
  EXPECT_EQ(j["confusion"]["rows_true_cols_pred"][3][2], 2);
  EXPECT_EQ(j["cells"].size(), 4u);
  EXPECT_EQ(j["cells"][1]["race"], "Asian");
  EXPECT_EQ(j["interval"]["covered"], 3);
  EXPECT_EQ(j["gender"]["calibration_bins"].size(), 10u);
}

// p_minor against the truth: reliability/ECE, the gate's errors at thresholds 0.5 and 0.2, and
// MAE of flagged vs unflagged faces.
TEST(Metrics, MinorProbabilityAndQualityFlag) {
  std::vector<EvalRecord> records;
  auto add = [&](double true_age, double pred, double p_minor, int unreliable) {
    auto r = rec(true_age, pred);
    r.p_minor = p_minor;
    r.unreliable = unreliable;
    records.push_back(r);
  };
  add(10, 12, 0.95, 0);  // minor, confidently minor
  add(16, 20, 0.3, 1);   // minor, called adult at 0.5 but minor at 0.2 (a false adult only at 0.5)
  add(30, 31, 0.05, 0);  // adult
  add(19, 16, 0.6, 1);   // adult called minor at both thresholds
  const auto m = compute_metrics(records);
  EXPECT_EQ(m.minor.count, 4);
  // Bins: 0.0-0.1 {0.05: 0 of 1}, 0.3-0.4 {0.3: 1 of 1}, 0.6-0.7 {0.6: 0 of 1}, 0.9-1.0 {0.95: 1 of 1}.
  EXPECT_NEAR(m.minor.ece, (0.05 + 0.7 + 0.6 + 0.05) / 4, 1e-12);
  EXPECT_EQ(m.minor.bins[3].count, 1);
  EXPECT_DOUBLE_EQ(m.minor.bins[3].accuracy, 1.0);
  const auto& at_half = m.minor.at_threshold[0];
  EXPECT_EQ(at_half.false_adult, 1);
  EXPECT_EQ(at_half.false_minor, 1);
  EXPECT_DOUBLE_EQ(at_half.false_adult_rate, 0.5);
  const auto& cautious = m.minor.at_threshold[1];
  EXPECT_EQ(cautious.false_adult, 0);
  EXPECT_EQ(cautious.false_minor, 1);
  EXPECT_EQ(m.flagged.count, 2);
  EXPECT_DOUBLE_EQ(m.flagged.mae, 3.5);
  EXPECT_DOUBLE_EQ(m.unflagged.mae, 1.5);
  const auto j = to_json(m);
  EXPECT_EQ(j["p_minor"]["gate_at_threshold"].size(), 2u);
  EXPECT_EQ(j["quality_flag"]["unreliable"]["count"], 2);
}

}  // namespace
}  // namespace faceage::eval
