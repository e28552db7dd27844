#include "faceage/train/schedule.hpp"

#include <gtest/gtest.h>

#include <cmath>

#include "faceage/train/optim.hpp"

namespace faceage::train {
namespace {

// Learning rates from Debian's torch 1.13 (tests/train/gen_reference.py, schedules()): the lr of
// optimizer step i (read before the i-th scheduler.step()), or for the plateau cases the lr after
// each epoch's step(metric).
const std::vector<double> kCyclic_triangular = {0.01, 0.032500000000000022, 0.055, 0.077500000000000013, 0.099999999999999992, 0.085000000000000006, 0.069999999999999993, 0.055000000000000014, 0.039999999999999994, 0.025000000000000015, 0.01, 0.032500000000000022, 0.055000000000000049, 0.077499999999999958, 0.099999999999999992, 0.085000000000000006, 0.069999999999999993, 0.054999999999999979, 0.040000000000000029, 0.025000000000000015, 0.01, 0.032500000000000022, 0.055000000000000049, 0.077499999999999958, 0.099999999999999992, 0.085000000000000006, 0.069999999999999993, 0.054999999999999979, 0.040000000000000029, 0.025000000000000015, 0.01, 0.032499999999999925, 0.055000000000000049, 0.077499999999999958, 0.09999999999999995, 0.085000000000000006, 0.070000000000000062, 0.054999999999999979, 0.040000000000000029, 0.024999999999999949};
const std::vector<double> kCyclic_triangular2 = {0.01, 0.032500000000000022, 0.055, 0.077500000000000013, 0.099999999999999992, 0.085000000000000006, 0.069999999999999993, 0.055000000000000014, 0.039999999999999994, 0.025000000000000015, 0.01, 0.021250000000000012, 0.032500000000000022, 0.043749999999999983, 0.055, 0.047500000000000007, 0.039999999999999994, 0.032499999999999987, 0.025000000000000015, 0.017500000000000009, 0.01, 0.015625000000000007, 0.021250000000000012, 0.026874999999999989, 0.032500000000000001, 0.028750000000000005, 0.024999999999999998, 0.021249999999999995, 0.017500000000000009, 0.013750000000000004, 0.01, 0.012812499999999991, 0.015625000000000007, 0.018437499999999996, 0.021249999999999995, 0.019375000000000003, 0.017500000000000009, 0.015624999999999997, 0.013750000000000004, 0.011874999999999993};
const std::vector<double> kCyclic_exp_range = {0.01, 0.03182500000000002, 0.052340499999999998, 0.071605427500000013, 0.089676352899999992, 0.074405051927499993, 0.059978320295739983, 0.046359228015150855, 0.033512300783130874, 0.021403465879818485, 0.01, 0.02609428156948182, 0.04122290624479473, 0.05542932858617626, 0.068755264971454663, 0.057493839185259195, 0.046855219207761124, 0.03681217197364621, 0.027338537876291237, 0.01840919087000125, 0.01, 0.021868311534376267, 0.033024524376689957, 0.043500682968083827, 0.053327549972055105, 0.045023102894077884, 0.037177927845804426, 0.02977194250782271, 0.022785856155058709, 0.016201140235203471, 0.01, 0.018751979270954382, 0.026978839785651576, 0.034704211888123004, 0.041950780708639085, 0.035826881072816612, 0.030041659712505706, 0.024580307440847878, 0.019428598811748309, 0.014572870423697908};
const std::vector<double> kCyclic_symmetric = {0.001, 0.0020000000000000009, 0.0029999999999999996, 0.0040000000000000001, 0.0049999999999999992, 0.0060000000000000001, 0.0049999999999999992, 0.0040000000000000001, 0.0029999999999999996, 0.0020000000000000009, 0.001, 0.0020000000000000009, 0.0030000000000000018, 0.0039999999999999983, 0.0049999999999999992, 0.0060000000000000001, 0.0049999999999999992, 0.0039999999999999983, 0.0030000000000000018, 0.0020000000000000009, 0.001, 0.0020000000000000009, 0.0030000000000000018};
const std::vector<double> kOneCycle_cos = {0.0020000000000000018, 0.0031516854192144839, 0.0064962100681219964, 0.011712587257360019, 0.018300181524431178, 0.025626756513911577, 0.03298915309345405, 0.039680774197130786, 0.045059399620274089, 0.048608822323279739, 0.049988390775007718, 0.049851179705267007, 0.049339013498230201, 0.048469188537270565, 0.047254486843725664, 0.045712758380131134, 0.043866658746179885, 0.041743316256155329, 0.039373933290113926, 0.036793327776935808, 0.034039421547119954, 0.031152683073946735, 0.028175532791889994, 0.025151719731086139, 0.022125678628176201, 0.019141876960735327, 0.016244161500576382, 0.013475113988284397, 0.010875425397302857, 0.0084832979827203087, 0.0063338839016117464, 0.0044587686543722223, 0.0028855069378388924, 0.0016372177308096607, 0.00073224456215051478, 0.00018388595382956902, 1.9999999999999999e-07};
const std::vector<double> kOneCycle_linear = {0.002, 0.0067524752475247533, 0.011504950495049506, 0.016257425742574258, 0.021009900990099015, 0.025762376237623764, 0.030514851485148514, 0.035267326732673271, 0.040019801980198028, 0.044772277227722777, 0.049524752475247527, 0.048262555212355215, 0.046332061003861003, 0.044401566795366797, 0.042471072586872591, 0.040540578378378378, 0.038610084169884172, 0.036679589961389966, 0.034749095752895753, 0.032818601544401541, 0.030888107335907338, 0.028957613127413125, 0.027027118918918919, 0.025096624710424707, 0.023166130501930501, 0.021235636293436291, 0.019305142084942085, 0.017374647876447873, 0.015444153667953674, 0.013513659459459461, 0.011583165250965248, 0.0096526710424710421, 0.0077221768339768362, 0.0057916826254826234, 0.0038611884169884106, 0.0019306942084942116, 1.9999999999881224e-07};
const std::vector<double> kOneCycle_three_phase = {0.0020000000000000018, 0.0034473771011381965, 0.00761493336514453, 0.013999999999999999, 0.021832443735993669, 0.030167556264006329, 0.037999999999999999, 0.044385066634855475, 0.048552622898861801, 0.050000000000000003, 0.048552622898861808, 0.044385066634855475, 0.038000000000000006, 0.030167556264006336, 0.021832443735993676, 0.014000000000000005, 0.0076149333651445309, 0.0034473771011382004, 0.002, 0.0019888319431425059, 0.0019555772485055621, 0.0019009787710156287, 0.0018262561504385631, 0.0017330785666426431, 0.0016235274528785476, 0.00150005, 0.0013654044902639585, 0.0012225986818629186, 0.0010748226205770657, 0.00092537737942293438, 0.00077760131813708129, 0.00063479550973604163, 0.0005001500000000002, 0.00037667254712145241, 0.00026712143335735688, 0.0001739438495614369, 9.9221228984371209e-05, 4.4622751494437819e-05, 1.1368056857493989e-05, 1.9999999999999999e-07};
const std::vector<double> kCosineAnnealing = {0.10000000000000001, 0.09939057285945932, 0.097577297556610113, 0.09460482294732421, 0.090546341221559912, 0.085501785668734107, 0.079595369988477424, 0.072972529737107564, 0.065796341221559904, 0.058243506019491437, 0.050500000000000003, 0.042756493980508591, 0.03520365877844011, 0.028027470262892439, 0.021404630011522589, 0.015498214331265903, 0.010453658778440109, 0.0063951770526757953, 0.0034227024433899004, 0.0016094271405406859, 0.001};
const std::vector<double> kStepLR = {0.10000000000000001, 0.10000000000000001, 0.10000000000000001, 0.050000000000000003, 0.050000000000000003, 0.050000000000000003, 0.025000000000000001, 0.025000000000000001, 0.025000000000000001, 0.012500000000000001};
const std::vector<double> kPlateauMetrics = {1, 0.90000000000000002, 0.94999999999999996, 0.90000000000000002, 0.91000000000000003, 0.92000000000000004, 0.89990000000000003, 0.93000000000000005, 0.84999999999999998, 0.85999999999999999, 0.87, 0.88, 0.89000000000000001, 0.84899999999999998, 0.90000000000000002, 0.90000000000000002, 0.90000000000000002, 0.90000000000000002, 0.90000000000000002, 0.90000000000000002, 0.90000000000000002, 0.90000000000000002, 0.90000000000000002, 0.90000000000000002};
const std::vector<double> kPlateau_min_rel = {0.10000000000000001, 0.10000000000000001, 0.10000000000000001, 0.10000000000000001, 0.050000000000000003, 0.050000000000000003, 0.050000000000000003, 0.050000000000000003, 0.050000000000000003, 0.050000000000000003, 0.050000000000000003, 0.025000000000000001, 0.025000000000000001, 0.025000000000000001, 0.025000000000000001, 0.025000000000000001, 0.012500000000000001, 0.012500000000000001, 0.012500000000000001, 0.012500000000000001, 0.0062500000000000003, 0.0062500000000000003, 0.0062500000000000003, 0.0062500000000000003};
const std::vector<double> kPlateau_min_abs = {0.10000000000000001, 0.10000000000000001, 0.10000000000000001, 0.029999999999999999, 0.029999999999999999, 0.029999999999999999, 0.029999999999999999, 0.0089999999999999993, 0.0089999999999999993, 0.0089999999999999993, 0.0089999999999999993, 0.0026999999999999997, 0.0026999999999999997, 0.0026999999999999997, 0.0026999999999999997, 0.00080999999999999985, 0.00080999999999999985, 0.00080999999999999985, 0.00080999999999999985, 0.00024299999999999994, 0.00024299999999999994, 0.00024299999999999994, 0.00024299999999999994, 7.2899999999999983e-05};
const std::vector<double> kPlateau_max_rel = {0.10000000000000001, 0.050000000000000003, 0.025000000000000001, 0.012500000000000001, 0.0062500000000000003, 0.0031250000000000002, 0.0015625000000000001, 0.00078125000000000004, 0.00039062500000000002, 0.00019531250000000001, 9.7656250000000005e-05, 4.8828125000000003e-05, 2.4414062500000001e-05, 1.2207031250000001e-05, 6.1035156250000003e-06, 3.0517578125000002e-06, 1.5258789062500001e-06, 7.6293945312500004e-07, 3.8146972656250002e-07, 1.9073486328125001e-07, 9.5367431640625005e-08, 4.7683715820312503e-08, 2.3841857910156251e-08, 1.1920928955078126e-08};

void expect_curve(const std::vector<double>& got, const std::vector<double>& want, const std::string& what) {
  ASSERT_EQ(got.size(), want.size()) << what;
  for (size_t i = 0; i < want.size(); ++i) {
    EXPECT_NEAR(got[i], want[i], 1e-9 * std::abs(want[i])) << what << " at " << i;
  }
}

// lr used by steps 0..n-1 of a per-step schedule.
std::vector<double> per_step(LrSchedule& s, int64_t n, int64_t first = 0) {
  std::vector<double> out;
  for (int64_t i = first; i < first + n; ++i) {
    out.push_back(s.lr());
    s.on_step(i + 1);
  }
  return out;
}

// lr used by epochs 0..n-1 of a per-epoch schedule.
std::vector<double> per_epoch(LrSchedule& s, int64_t n, int64_t first = 0) {
  std::vector<double> out;
  for (int64_t e = first; e < first + n; ++e) {
    out.push_back(s.lr());
    s.on_epoch_end(e);
  }
  return out;
}

ScheduleOptions named(const std::string& name) {
  ScheduleOptions o;
  o.name = name;
  return o;
}

TEST(Schedule, CyclicMatchesTorchInAllModes) {
  for (auto [mode, want] : {std::pair{"triangular", &kCyclic_triangular}, std::pair{"triangular2", &kCyclic_triangular2},
                            std::pair{"exp_range", &kCyclic_exp_range}}) {
    auto o = named("cyclic");
    o.cyclic = {0.01, 0.1, 4, 6, mode, 0.97};
    auto s = make_schedule(o, {0.1, 0, 0});
    EXPECT_TRUE(s->per_step());
    expect_curve(per_step(*s, 40), *want, mode);
  }
  auto o = named("cyclic");
  o.cyclic.base_lr = 0.0;  // the optimizer lr
  o.cyclic.max_lr = 0.006;
  o.cyclic.step_size_up = 5;
  auto s = make_schedule(o, {0.001, 0, 0});
  expect_curve(per_step(*s, 23), kCyclic_symmetric, "symmetric");
}

TEST(Schedule, OneCycleMatchesTorch) {
  for (auto [anneal, want] : {std::pair{"cos", &kOneCycle_cos}, std::pair{"linear", &kOneCycle_linear}}) {
    auto o = named("onecycle");
    o.onecycle.max_lr = 0.05;
    o.onecycle.total_steps = 37;
    o.onecycle.anneal = anneal;
    auto s = make_schedule(o, {0.1, 0, 0});
    expect_curve(per_step(*s, 37), *want, anneal);
    EXPECT_NEAR(s->lr(), want->back(), 1e-12);  // past the end: the final lr stays
  }
  auto o = named("onecycle");
  o.onecycle.pct_start = 0.25;
  o.onecycle.three_phase = true;
  auto s = make_schedule(o, {0.05, 8, 5});  // max_lr: the optimizer lr; total: 8 × 5 steps
  expect_curve(per_step(*s, 40), kOneCycle_three_phase, "three_phase");
}

TEST(Schedule, CosineWithoutWarmupIsCosineAnnealingLR) {
  auto o = named("cosine");
  o.cosine.min_lr = 0.001;
  o.cosine.total = 20;
  auto steps = make_schedule(o, {0.1, 0, 0});
  expect_curve(per_step(*steps, 21), kCosineAnnealing, "step interval");
  o.cosine.total = 0;
  o.cosine.interval = "epoch";
  auto epochs = make_schedule(o, {0.1, 100, 20});
  EXPECT_FALSE(epochs->per_step());
  epochs->on_step(5);  // ignored by an epoch schedule
  expect_curve(per_epoch(*epochs, 21), kCosineAnnealing, "epoch interval");
}

TEST(Schedule, CosineWarmupByHand) {
  auto o = named("cosine");
  o.cosine.warmup_steps = 4;
  o.cosine.warmup_start_factor = 0.0;
  auto s = make_schedule(o, {1.0, 4, 2});  // 8 steps: 4 warm-up, 4 cosine
  auto lrs = per_step(*s, 10);
  const std::vector<double> want = {0.0, 0.25, 0.5, 0.75, 1.0, (1 + std::cos(M_PI / 4)) / 2, 0.5,
                                    (1 + std::cos(3 * M_PI / 4)) / 2, 0.0, 0.0};
  for (size_t i = 0; i < want.size(); ++i) EXPECT_NEAR(lrs[i], want[i], 1e-12) << i;
  // warmup_epochs: 0.5 epoch of 4 steps = 2 steps, from 0.01
  o.cosine.warmup_steps = 0;
  o.cosine.warmup_epochs = 0.5;
  o.cosine.warmup_start_factor = 0.01;
  auto half = make_schedule(o, {1.0, 4, 2});
  auto lrs2 = per_step(*half, 3);
  EXPECT_NEAR(lrs2[0], 0.01, 1e-12);
  EXPECT_NEAR(lrs2[1], 0.505, 1e-12);
  EXPECT_NEAR(lrs2[2], 1.0, 1e-12);
}

TEST(Schedule, StepAndConstant) {
  auto o = named("step");
  o.step = {3, 0.5};
  auto s = make_schedule(o, {0.1, 0, 0});
  expect_curve(per_epoch(*s, 10), kStepLR, "step");
  auto c = make_schedule(named("constant"), {0.3, 0, 0});
  c->on_step(100);
  c->on_epoch_end(3, 1.0);
  EXPECT_EQ(c->lr(), 0.3);
}

std::vector<double> run_plateau(LrSchedule& s, size_t from, size_t to) {
  std::vector<double> out;
  for (size_t e = from; e < to; ++e) {
    s.on_epoch_end(static_cast<int64_t>(e), kPlateauMetrics[e]);
    out.push_back(s.lr());
  }
  return out;
}

PlateauOptions plateau(std::string mode, double factor, int64_t patience, double threshold, std::string threshold_mode,
                       int64_t cooldown, double min_lr) {
  PlateauOptions p;
  p.mode = mode;
  p.factor = factor;
  p.patience = patience;
  p.threshold = threshold;
  p.threshold_mode = threshold_mode;
  p.cooldown = cooldown;
  p.min_lr = min_lr;
  return p;
}

TEST(Schedule, PlateauMatchesTorch) {
  struct Case {
    PlateauOptions options;
    const std::vector<double>* want;
  };
  const Case cases[] = {{plateau("min", 0.5, 2, 1e-3, "rel", 1, 0.004), &kPlateau_min_rel},
                        {plateau("min", 0.3, 1, 0.01, "abs", 2, 0.0), &kPlateau_min_abs},
                        {plateau("max", 0.5, 0, 1e-4, "rel", 0, 0.0), &kPlateau_max_rel}};
  for (const auto& c : cases) {
    auto o = named("plateau");
    o.plateau = c.options;
    auto s = make_schedule(o, {0.1, 0, 0});
    EXPECT_TRUE(s->needs_metric());
    expect_curve(run_plateau(*s, 0, kPlateauMetrics.size()), *c.want, c.options.mode + c.options.threshold_mode);
  }
}

TEST(Schedule, PlateauMinLrAndMissingMetric) {
  auto o = named("plateau");
  o.plateau = plateau("min", 0.1, 0, 0.0, "rel", 0, 0.05);
  auto s = make_schedule(o, {1.0, 0, 0});
  s->on_epoch_end(0, 1.0);
  for (int e = 1; e < 5; ++e) s->on_epoch_end(e, 2.0);
  EXPECT_DOUBLE_EQ(s->lr(), 0.05);  // 1 -> 0.1 -> 0.05 (floor), then unchanged
  EXPECT_THROW(s->on_epoch_end(5), Error);
}

TEST(Schedule, StateRoundTripContinuesExactly) {
  std::vector<ScheduleOptions> all;
  auto cyc = named("cyclic");
  cyc.cyclic = {0.01, 0.1, 4, 6, "triangular2", 1.0};
  all.push_back(cyc);
  all.push_back(named("onecycle"));
  auto cos = named("cosine");
  cos.cosine.warmup_epochs = 1;
  all.push_back(cos);
  auto st = named("step");
  st.step.step_size = 2;
  all.push_back(st);
  auto pl = named("plateau");
  pl.plateau = plateau("min", 0.5, 2, 1e-3, "rel", 1, 0.004);
  all.push_back(pl);
  const ScheduleContext ctx{0.1, 5, 8};
  for (const auto& o : all) {
    auto drive = [&](LrSchedule& s, int64_t e0, int64_t e1) {
      std::vector<double> lrs;
      for (int64_t e = e0; e < e1; ++e) {
        for (int64_t i = 0; i < ctx.steps_per_epoch; ++i) {
          lrs.push_back(s.lr());
          s.on_step(e * ctx.steps_per_epoch + i + 1);
        }
        s.on_epoch_end(e, kPlateauMetrics[static_cast<size_t>(e)]);
      }
      return lrs;
    };
    auto whole = make_schedule(o, ctx);
    auto full = drive(*whole, 0, 8);
    auto first = make_schedule(o, ctx);
    drive(*first, 0, 3);
    const std::string saved = first->state().dump();  // through text, as in a checkpoint
    auto resumed = make_schedule(o, ctx);
    resumed->load_state(nlohmann::json::parse(saved));
    auto rest = drive(*resumed, 3, 8);
    ASSERT_EQ(rest.size(), full.size() - 15);
    for (size_t i = 0; i < rest.size(); ++i) EXPECT_EQ(rest[i], full[15 + i]) << o.name << " " << i;
  }
  // plateau state holds its counters; an infinite best survives JSON
  auto fresh = make_schedule(pl, ctx);
  auto s = fresh->state();
  EXPECT_TRUE(s["best"].is_null());
  EXPECT_EQ(s["num_bad_epochs"], 0);
  auto other = make_schedule(named("constant"), ctx);
  EXPECT_THROW(other->load_state(s), Error);  // another kind
  EXPECT_THROW(fresh->load_state(nlohmann::json{{"name", "plateau"}}), Error);  // malformed
}

TEST(Schedule, SetsEveryGroupKeepingLayerwiseRatios) {
  auto backbone = torch::zeros({3, 3}, torch::requires_grad());
  auto head = torch::zeros({2, 3}, torch::requires_grad());
  OptimizerOptions opt;
  opt.name = "sgd";
  opt.lr = 0.05;
  opt.backbone_lr_factor = 0.1;
  auto optimizer = make_optimizer(opt, backbone_head_groups({backbone}, {head}, opt));
  auto o = named("onecycle");
  o.onecycle.total_steps = 37;
  o.onecycle.anneal = "linear";
  auto s = make_schedule(o, {opt.lr, 0, 0});
  s->attach(*optimizer);
  ASSERT_EQ(s->group_base_lrs().size(), 2u);
  for (int64_t i = 0; i < 37; ++i) {
    auto lrs = group_lrs(*optimizer);
    EXPECT_NEAR(lrs[1], kOneCycle_linear[static_cast<size_t>(i)], 1e-12) << i;  // heads: the reference lr
    EXPECT_NEAR(lrs[0], 0.1 * kOneCycle_linear[static_cast<size_t>(i)], 1e-12) << i;
    s->on_step(i + 1);
  }
}

TEST(Schedule, FromConfigReadsTheKindsKeys) {
  auto c = Config::from_string(
      "schedule:\n  name: plateau\n  patience: 3\n  factor: 0.5\n  threshold_mode: abs\n  min_lr: 1.0e-6\n");
  auto o = ScheduleOptions::from_config(c.sub("schedule"));
  EXPECT_EQ(o.name, "plateau");
  EXPECT_EQ(o.plateau.patience, 3);
  EXPECT_DOUBLE_EQ(o.plateau.factor, 0.5);
  EXPECT_EQ(o.plateau.threshold_mode, "abs");
  EXPECT_DOUBLE_EQ(o.plateau.min_lr, 1e-6);
  try {
    ScheduleOptions::from_config(Config::from_string("name: plateau\npct_start: 0.3\n"));
    FAIL();
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::kConfig);
    EXPECT_NE(std::string(e.what()).find("schedule.pct_start"), std::string::npos);
    EXPECT_NE(e.hint().find("patience"), std::string::npos);
  }
  try {
    ScheduleOptions::from_config(Config::from_string("name: warmup_cosine\n"));
    FAIL();
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::kConfig);
    EXPECT_NE(e.hint().find("constant, cosine, cyclic, onecycle, plateau, step"), std::string::npos) << e.hint();
  }
  auto bad = named("cyclic");  // max_lr missing
  EXPECT_THROW(make_schedule(bad, {0.1, 0, 0}), Error);
  auto mode = named("plateau");
  mode.plateau.mode = "minimum";
  EXPECT_THROW(make_schedule(mode, {0.1, 0, 0}), Error);
  EXPECT_THROW(make_schedule(named("cosine"), {0.1, 0, 0}), Error);  // no length known
}

}  // namespace
}  // namespace faceage::train
