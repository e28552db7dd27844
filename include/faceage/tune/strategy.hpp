#pragma once
// Search strategies: given what has been observed (and what is still running), propose the next
// point. Created by name from strategy_registry() ("random", "gp-ei").
//
// Contract of propose():
//   - values are minimised (a study with mode: max negates them before they get here);
//   - the result is never the canonical duplicate of an observed, pending or excluded point;
//   - std::nullopt means the space has no unseen point left (all-discrete spaces only);
//   - deterministic for a given context (the randomness comes from ProposalContext::seed).
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "faceage/core/registry.hpp"
#include "faceage/tune/gaussian_process.hpp"
#include "faceage/tune/search_space.hpp"

namespace faceage::tune {

struct Observation {
  ParamSet params;
  double value = 0.0;  // to minimise
};

struct ProposalContext {
  const SearchSpace& space;
  const std::vector<Observation>& observed;  // complete and pruned trials
  const std::vector<ParamSet>& pending;      // running trials (constant liar)
  const std::vector<ParamSet>& excluded;     // failed trials: never proposed again
  int trial_number = 0;                      // 0-based index of the trial being proposed
  std::uint64_t seed = 0;                    // study seed
};

struct StrategyOptions {
  int initial_points = 0;     // gp-ei: Latin-hypercube design size (0: max(5, params + 1))
  double xi = 0.01;           // gp-ei: EI exploration margin, in standardised output units
  int candidates = 1024;      // gp-ei: random candidates scored before local search
  int local_starts = 5;       // gp-ei: best candidates refined by compass search
  GpFitOptions gp;
};

class Strategy {
 public:
  virtual ~Strategy() = default;
  virtual std::optional<ParamSet> propose(const ProposalContext& context) = 0;
};

using StrategyRegistry = Registry<std::unique_ptr<Strategy>(const StrategyOptions&)>;
void register_strategies(StrategyRegistry& registry);
// The built-in strategies, built once.
const StrategyRegistry& strategy_registry();

// Independent stream per (study seed, trial number) (splitmix64), so proposals do not depend on
// how often a study was resumed.
std::uint64_t trial_seed(std::uint64_t study_seed, int trial_number, std::uint64_t salt = 0);

// A point of the Latin hypercube of `count` points made from `seed` (index < count): stratified
// in every unit-cube coordinate, then projected onto the space.
ParamSet latin_hypercube_point(const SearchSpace& space, int count, int index, std::uint64_t seed);

// In-process sequential optimisation (benchmarks, tests): `budget` evaluations of `objective`.
struct OptimizationTrace {
  std::vector<ParamSet> params;
  std::vector<double> values;
  std::vector<double> best_so_far;
};
OptimizationTrace minimize(const SearchSpace& space, Strategy& strategy,
                           const std::function<double(const ParamSet&)>& objective, int budget, std::uint64_t seed);

}  // namespace faceage::tune
