#include "faceage/tune/strategy.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>
#include <unordered_set>

#include "faceage/core/check.hpp"
#include "faceage/tune/acquisition.hpp"

namespace faceage::tune {
namespace {

std::uint64_t splitmix64(std::uint64_t x) {
  x += 0x9E3779B97F4A7C15ULL;
  x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ULL;
  x = (x ^ (x >> 27)) * 0x94D049BB133111EBULL;
  return x ^ (x >> 31);
}

std::unordered_set<std::string> seen_keys(const ProposalContext& c) {
  std::unordered_set<std::string> seen;
  for (const auto& o : c.observed) seen.insert(c.space.canonical(o.params));
  for (const auto& p : c.pending) seen.insert(c.space.canonical(p));
  for (const auto& p : c.excluded) seen.insert(c.space.canonical(p));
  return seen;
}

// Number of distinct points of an all-discrete space (nullopt when any float is present).
std::optional<double> cardinality(const SearchSpace& space) {
  double total = 1.0;
  for (const auto& p : space.params()) {
    if (p.type == ParamType::kFloat) return std::nullopt;
    total *= p.type == ParamType::kInt ? static_cast<double>(p.levels()) : static_cast<double>(p.choices.size());
  }
  return total;
}

std::optional<ParamSet> random_unseen(const SearchSpace& space, const std::unordered_set<std::string>& seen,
                                      std::mt19937_64& rng) {
  if (auto n = cardinality(space); n && static_cast<double>(seen.size()) >= *n) return std::nullopt;
  for (int attempt = 0; attempt < 10000; ++attempt) {
    ParamSet p = space.sample(rng);
    if (!seen.count(space.canonical(p))) return p;
  }
  return std::nullopt;
}

class RandomStrategy : public Strategy {
 public:
  std::optional<ParamSet> propose(const ProposalContext& c) override {
    std::mt19937_64 rng(trial_seed(c.seed, c.trial_number));
    return random_unseen(c.space, seen_keys(c), rng);
  }
};

class GpEiStrategy : public Strategy {
 public:
  explicit GpEiStrategy(StrategyOptions options) : options_(std::move(options)) {}

  std::optional<ParamSet> propose(const ProposalContext& c) override {
    const auto& space = c.space;
    const auto seen = seen_keys(c);
    std::mt19937_64 rng(trial_seed(c.seed, c.trial_number, 1));
    const int n_init = options_.initial_points > 0 ? options_.initial_points
                                                   : std::max(5, static_cast<int>(space.size()) + 1);
    if (c.trial_number < n_init || c.observed.size() < 2) {
      if (c.trial_number < n_init) {
        ParamSet p = latin_hypercube_point(space, n_init, c.trial_number, c.seed);
        if (!seen.count(space.canonical(p))) return p;
      }
      return random_unseen(space, seen, rng);
    }

    // Observations, plus pending points with the constant liar y = min(observed).
    const Eigen::Index n_obs = static_cast<Eigen::Index>(c.observed.size());
    const Eigen::Index n = n_obs + static_cast<Eigen::Index>(c.pending.size());
    Eigen::MatrixXd X(n, space.dims());
    Eigen::VectorXd y(n);
    for (Eigen::Index i = 0; i < n_obs; ++i) {
      X.row(i) = space.encode(c.observed[i].params).transpose();
      y[i] = c.observed[i].value;
    }
    const double best = y.head(n_obs).minCoeff();
    for (Eigen::Index i = n_obs; i < n; ++i) {
      X.row(i) = space.encode(c.pending[static_cast<std::size_t>(i - n_obs)]).transpose();
      y[i] = best;
    }
    GaussianProcess gp;
    try {
      gp.fit_hyperparameters(X, y, options_.gp, rng);
    } catch (const Error&) {
      return random_unseen(space, seen, rng);  // a degenerate history: explore instead
    }
    const double y_sd = std::sqrt((y.head(n_obs).array() - y.head(n_obs).mean()).square().mean());
    const double xi = options_.xi * (y_sd > 0 ? y_sd : 1.0);
    auto score = [&](const Eigen::MatrixXd& U) {
      const auto pred = gp.predict(U);
      return expected_improvement(pred.mean, pred.variance, best, xi);
    };

    // 1. Random candidates plus perturbations of the best observations, all projected.
    const int d = space.dims();
    const int n_random = std::max(16, options_.candidates);
    const int n_local = n_random / 4;
    Eigen::MatrixXd U(n_random + n_local, d);
    std::uniform_real_distribution<double> unit(0.0, 1.0);
    std::normal_distribution<double> normal(0.0, 1.0);
    for (int i = 0; i < n_random; ++i) U.row(i) = space.encode(space.sample(rng)).transpose();
    std::vector<Eigen::Index> order(static_cast<std::size_t>(n_obs));
    std::iota(order.begin(), order.end(), 0);
    std::sort(order.begin(), order.end(), [&](auto a, auto b) { return y[a] < y[b]; });
    const std::size_t top = std::min<std::size_t>(5, order.size());
    for (int i = 0; i < n_local; ++i) {
      Eigen::VectorXd u = X.row(order[static_cast<std::size_t>(i) % top]).transpose();
      const double scale = i % 2 ? 0.02 : 0.1;
      for (int k = 0; k < d; ++k) u[k] += scale * normal(rng);
      U.row(n_random + i) = space.project(u).transpose();
    }
    Eigen::VectorXd ei = score(U);

    // 2. Compass search from the best few distinct candidates.
    std::vector<Eigen::Index> ranked(static_cast<std::size_t>(U.rows()));
    std::iota(ranked.begin(), ranked.end(), 0);
    std::sort(ranked.begin(), ranked.end(), [&](auto a, auto b) { return ei[a] > ei[b]; });
    std::vector<std::pair<double, Eigen::VectorXd>> pool;
    std::unordered_set<std::string> started;
    for (auto idx : ranked) {
      if (static_cast<int>(started.size()) >= options_.local_starts) break;
      Eigen::VectorXd u = U.row(idx).transpose();
      if (!started.insert(space.canonical(space.decode(u))).second) continue;
      double value = ei[idx];
      compass_search(space, score, u, value);
      pool.emplace_back(value, u);
    }
    for (auto idx : ranked) pool.emplace_back(ei[idx], U.row(idx).transpose());
    std::stable_sort(pool.begin(), pool.end(), [](const auto& a, const auto& b) { return a.first > b.first; });
    for (const auto& [value, u] : pool) {
      ParamSet p = space.decode(u);
      if (!seen.count(space.canonical(p))) return p;
    }
    return random_unseen(space, seen, rng);
  }

 private:
  // Moves one parameter at a time: floats by +-step, integers by at least one grid level,
  // categoricals to every other choice. Halves the step when nothing improves.
  template <class Score>
  static void compass_search(const SearchSpace& space, const Score& score, Eigen::VectorXd& u, double& value) {
    double step = 0.2;
    bool any_float = false;
    for (const auto& p : space.params()) any_float |= p.type == ParamType::kFloat;
    for (int round = 0; round < 40 && step > 1e-3; ++round) {
      std::vector<Eigen::VectorXd> moves;
      for (std::size_t i = 0; i < space.size(); ++i) {
        const auto& p = space.params()[i];
        const int o = space.offset(i);
        if (p.type == ParamType::kCategorical) {
          for (int k = 0; k < p.dims(); ++k) {
            Eigen::VectorXd v = u;
            v.segment(o, p.dims()).setZero();
            v[o + k] = 1.0;
            if (v != u) moves.push_back(v);
          }
        } else {
          double s = step;
          if (p.type == ParamType::kInt && p.levels() > 1) s = std::max(step, 1.0 / static_cast<double>(p.levels() - 1));
          for (double sign : {-1.0, 1.0}) {
            Eigen::VectorXd v = u;
            v[o] = std::clamp(v[o] + sign * s, 0.0, 1.0);
            v = space.project(v);
            if (v != u) moves.push_back(v);
          }
        }
      }
      if (moves.empty()) break;
      Eigen::MatrixXd M(static_cast<Eigen::Index>(moves.size()), u.size());
      for (std::size_t i = 0; i < moves.size(); ++i) M.row(static_cast<Eigen::Index>(i)) = moves[i].transpose();
      const Eigen::VectorXd s = score(M);
      Eigen::Index best = 0;
      const double top = s.maxCoeff(&best);
      if (top > value * (1 + 1e-9) + 1e-300) {
        value = top;
        u = moves[static_cast<std::size_t>(best)];
      } else if (any_float) {
        step *= 0.5;
      } else {
        break;
      }
    }
  }

  StrategyOptions options_;
};

}  // namespace

std::uint64_t trial_seed(std::uint64_t study_seed, int trial_number, std::uint64_t salt) {
  return splitmix64(splitmix64(study_seed ^ (salt * 0xD1B54A32D192ED03ULL)) + static_cast<std::uint64_t>(trial_number));
}

ParamSet latin_hypercube_point(const SearchSpace& space, int count, int index, std::uint64_t seed) {
  FACEAGE_CHECK(count > 0 && index >= 0 && index < count, ErrorCode::kInvalidArgument,
                "Latin hypercube index " << index << " outside [0, " << count << ")");
  std::mt19937_64 design(trial_seed(seed, -1, 3));
  std::mt19937_64 jitter(trial_seed(seed, index, 2));
  std::uniform_real_distribution<double> unit(0.0, 1.0);
  Eigen::VectorXd u = Eigen::VectorXd::Zero(space.dims());
  for (std::size_t i = 0; i < space.size(); ++i) {
    std::vector<int> strata(static_cast<std::size_t>(count));
    std::iota(strata.begin(), strata.end(), 0);
    std::shuffle(strata.begin(), strata.end(), design);
    const int stratum = strata[static_cast<std::size_t>(index)];
    const auto& p = space.params()[i];
    if (p.type == ParamType::kCategorical) {
      u[space.offset(i) + stratum % p.dims()] = 1.0;  // balanced choices
    } else {
      u[space.offset(i)] = (stratum + unit(jitter)) / count;
    }
  }
  return space.decode(u);
}

void register_strategies(StrategyRegistry& registry) {
  registry.add("random", [](const StrategyOptions&) { return std::make_unique<RandomStrategy>(); },
               "uniform random search (seeded)");
  registry.add("gp-ei", [](const StrategyOptions& o) { return std::make_unique<GpEiStrategy>(o); },
               "Gaussian process (Matern 5/2 ARD) + expected improvement");
}

const StrategyRegistry& strategy_registry() {
  static const StrategyRegistry registry = [] {
    StrategyRegistry r("strategy");
    register_strategies(r);
    return r;
  }();
  return registry;
}

OptimizationTrace minimize(const SearchSpace& space, Strategy& strategy,
                           const std::function<double(const ParamSet&)>& objective, int budget, std::uint64_t seed) {
  OptimizationTrace trace;
  std::vector<Observation> observed;
  const std::vector<ParamSet> none;
  double best = std::numeric_limits<double>::infinity();
  for (int t = 0; t < budget; ++t) {
    ProposalContext context{space, observed, none, none, t, seed};
    auto params = strategy.propose(context);
    if (!params) break;
    const double value = objective(*params);
    observed.push_back({*params, value});
    best = std::min(best, value);
    trace.params.push_back(std::move(*params));
    trace.values.push_back(value);
    trace.best_so_far.push_back(best);
  }
  return trace;
}

}  // namespace faceage::tune
