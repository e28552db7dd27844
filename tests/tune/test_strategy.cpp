#include "faceage/tune/strategy.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <set>

#include "faceage/tune/test_functions.hpp"

namespace faceage::tune {
namespace {

TEST(Strategy, RegistryListsBuiltinsAndRejectsUnknownNames) {
  const auto& r = strategy_registry();
  EXPECT_EQ(r.names(), (std::vector<std::string>{"gp-ei", "random"}));
  try {
    r.create("bayes", StrategyOptions{});
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("gp-ei"), std::string::npos);
  }
}

TEST(Strategy, LatinHypercubeIsStratifiedInEveryCoordinate) {
  const auto f = hartmann6_function();
  const int n = 8;
  std::vector<std::set<int>> strata(6);
  for (int i = 0; i < n; ++i) {
    const auto p = latin_hypercube_point(f.space, n, i, 11);
    for (int j = 0; j < 6; ++j) strata[j].insert(static_cast<int>(std::get<double>(p[j]) * n));
  }
  for (const auto& s : strata) EXPECT_EQ(s.size(), static_cast<std::size_t>(n));
}

TEST(Strategy, RandomIsSeededAndDeterministic) {
  const auto f = branin_function();
  auto a = strategy_registry().create("random", {});
  auto b = strategy_registry().create("random", {});
  const auto ta = minimize(f.space, *a, f, 10, 5);
  const auto tb = minimize(f.space, *b, f, 10, 5);
  EXPECT_EQ(ta.values, tb.values);
  const auto tc = minimize(f.space, *b, f, 10, 6);
  EXPECT_NE(ta.values, tc.values);
}

TEST(Strategy, NeverProposesAPendingOrSeenPointAndStopsWhenExhausted) {
  auto space = SearchSpace::from_yaml(YAML::Load("a: {type: int, low: 0, high: 2}\nb: {type: categorical, choices: [x, y]}\n"));
  for (const std::string name : {"random", "gp-ei"}) {
    auto s = strategy_registry().create(name, {});
    std::vector<Observation> observed;
    std::vector<ParamSet> pending, none;
    std::set<std::string> seen;
    for (int t = 0; t < 6; ++t) {
      ProposalContext c{space, observed, pending, none, t, 1};
      auto p = s->propose(c);
      ASSERT_TRUE(p.has_value()) << name << " trial " << t;
      EXPECT_TRUE(seen.insert(space.canonical(*p)).second) << name << " repeated a point at trial " << t;
      // Alternate: half stay pending (parallel workers), half complete.
      if (t % 2) pending.push_back(*p);
      else observed.push_back({*p, static_cast<double>(std::get<std::int64_t>((*p)[0]))});
    }
    ProposalContext c{space, observed, pending, none, 6, 1};
    EXPECT_FALSE(s->propose(c).has_value()) << name;  // all 6 points taken
  }
}

TEST(Strategy, GpEiBeatsRandomOnBraninFast) {
  // 3 seeds, budget 40. gp-ei must reach 1 % relative regret in every seed. At 1 % Branin is easy
  // for random search too (that region is ~6 % of the domain), so "clearly fewer evaluations" is
  // checked at 0.1 % (0.6 % of the domain): gp-ei must need under half of random's evaluations
  // (budget + 1 counted when not reached). Hartmann-6 is compared in the Slow suite and the bench.
  const auto f = branin_function();
  int gp_total = 0, random_total = 0;
  for (std::uint64_t seed : {1, 2, 3}) {
    auto gp = strategy_registry().create("gp-ei", {});
    auto rs = strategy_registry().create("random", {});
    const auto gp_values = minimize(f.space, *gp, f, 40, seed).values;
    EXPECT_LE(evaluations_to_reach(f, gp_values, 0.01), 40) << "seed " << seed;
    gp_total += evaluations_to_reach(f, gp_values, 0.001);
    random_total += evaluations_to_reach(f, minimize(f.space, *rs, f, 40, seed).values, 0.001);
  }
  EXPECT_LT(gp_total * 2, random_total) << "gp-ei " << gp_total << " vs random " << random_total;
}

TEST(StrategySlow, GpEiBeatsRandomOnBraninAndHartmann6) {
  // 10 seeds: median evaluations to 1 % relative regret (budget + 1 when not reached).
  for (const auto& [f, budget] : {std::pair{branin_function(), 60}, std::pair{hartmann6_function(), 100}}) {
    std::vector<int> gp_n, rs_n;
    for (std::uint64_t seed = 1; seed <= 10; ++seed) {
      auto gp = strategy_registry().create("gp-ei", {});
      auto rs = strategy_registry().create("random", {});
      gp_n.push_back(evaluations_to_reach(f, minimize(f.space, *gp, f, budget, seed).values, 0.01));
      rs_n.push_back(evaluations_to_reach(f, minimize(f.space, *rs, f, budget, seed).values, 0.01));
    }
    std::sort(gp_n.begin(), gp_n.end());
    std::sort(rs_n.begin(), rs_n.end());
    const double gp_median = 0.5 * (gp_n[4] + gp_n[5]), rs_median = 0.5 * (rs_n[4] + rs_n[5]);
    const auto reached = [&](const std::vector<int>& n) { return std::count_if(n.begin(), n.end(), [&](int e) { return e <= budget; }); };
    EXPECT_LE(gp_median, budget) << f.name;
    EXPECT_LE(gp_median, rs_median) << f.name;
    if (f.name == "hartmann6") {
      // Random search essentially never gets within 1 % in 100 evaluations; gp-ei does in about
      // half of the seeds (the others sit in the -3.20 local minimum). Recorded in docs/tuning.md.
      EXPECT_GE(reached(gp_n), 4) << f.name;
      EXPECT_GT(reached(gp_n), reached(rs_n) + 2) << f.name;
    }
  }
}

TEST(Strategy, GpEiHandlesMixedSpaces) {
  // Minimum at x = 0.3, n = 4, c = "b": the tuner should find the discrete part.
  auto space = SearchSpace::from_yaml(YAML::Load(
      "x: {type: float, low: 0, high: 1}\nn: {type: int, low: 0, high: 10, step: 2}\nc: {type: categorical, choices: [a, b, c]}\n"));
  auto objective = [](const ParamSet& p) {
    const double x = std::get<double>(p[0]);
    const double n = static_cast<double>(std::get<std::int64_t>(p[1]));
    const std::string& c = std::get<std::string>(p[2]);
    return (x - 0.3) * (x - 0.3) + 0.01 * (n - 4) * (n - 4) + (c == "b" ? 0.0 : 0.5);
  };
  auto gp = strategy_registry().create("gp-ei", {});
  const auto trace = minimize(space, *gp, objective, 25, 4);
  EXPECT_LT(trace.best_so_far.back(), 0.01);
  std::set<std::string> keys;
  for (const auto& p : trace.params) EXPECT_TRUE(keys.insert(space.canonical(p)).second);
}

}  // namespace
}  // namespace faceage::tune
