// Benchmarks of the tune module.
//   bench_tune                       Google Benchmark: GP fit, GP predict, one gp-ei proposal
//   bench_tune --compare [--seeds N] [--out DIR]
//                                    gp-ei vs random on Branin (budget 60) and Hartmann-6 (budget 100):
//                                    median evaluations to reach 1 % (and 0.1 %) relative regret,
//                                    written as a table, DIR/tune_compare.csv and best-so-far PNGs.
#include <benchmark/benchmark.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "faceage/tune/plot.hpp"
#include "faceage/tune/strategy.hpp"
#include "faceage/tune/test_functions.hpp"

using namespace faceage::tune;

namespace {

Eigen::MatrixXd random_points(int n, int d, std::uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::uniform_real_distribution<double> u(0, 1);
  Eigen::MatrixXd X(n, d);
  for (int i = 0; i < n; ++i)
    for (int j = 0; j < d; ++j) X(i, j) = u(rng);
  return X;
}

Eigen::VectorXd hartmann_values(const Eigen::MatrixXd& X) {
  Eigen::VectorXd y(X.rows());
  for (Eigen::Index i = 0; i < X.rows(); ++i) {
    std::vector<double> x(X.cols());
    for (Eigen::Index j = 0; j < X.cols(); ++j) x[j] = X(i, j);
    y[i] = hartmann6(x);
  }
  return y;
}

void BM_GpFitHyperparameters(benchmark::State& state) {
  const int n = static_cast<int>(state.range(0));
  const auto X = random_points(n, 6, 1);
  const auto y = hartmann_values(X);
  for (auto _ : state) {
    std::mt19937_64 rng(2);
    GaussianProcess gp;
    gp.fit_hyperparameters(X, y, GpFitOptions{}, rng);
    benchmark::DoNotOptimize(gp.log_marginal_likelihood());
  }
}
BENCHMARK(BM_GpFitHyperparameters)->Arg(20)->Arg(50)->Arg(100)->Unit(benchmark::kMillisecond);

void BM_GpPredict(benchmark::State& state) {
  const int n = static_cast<int>(state.range(0));
  const auto X = random_points(n, 6, 1);
  const auto y = hartmann_values(X);
  GpHyperparameters h;
  h.lengthscales = Eigen::VectorXd::Constant(6, 0.4);
  GaussianProcess gp;
  gp.fit(X, y, h);
  const auto Xs = random_points(1024, 6, 3);
  for (auto _ : state) benchmark::DoNotOptimize(gp.predict(Xs).mean.data());
  state.SetItemsProcessed(state.iterations() * 1024);
}
BENCHMARK(BM_GpPredict)->Arg(50)->Arg(100)->Unit(benchmark::kMicrosecond);

void BM_GpEiPropose(benchmark::State& state) {
  const auto f = hartmann6_function();
  const int n = static_cast<int>(state.range(0));
  auto random = strategy_registry().create("random", {});
  const auto trace = minimize(f.space, *random, f, n, 9);
  std::vector<Observation> observed;
  for (int i = 0; i < n; ++i) observed.push_back({trace.params[i], trace.values[i]});
  const std::vector<ParamSet> none;
  auto gp = strategy_registry().create("gp-ei", {});
  for (auto _ : state) {
    ProposalContext c{f.space, observed, none, none, n, 9};
    benchmark::DoNotOptimize(gp->propose(c));
  }
}
BENCHMARK(BM_GpEiPropose)->Arg(20)->Arg(50)->Arg(100)->Unit(benchmark::kMillisecond);

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  const std::size_t n = v.size();
  return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

int compare(int seeds, const std::string& out_dir) {
  std::filesystem::create_directories(out_dir);
  std::ofstream csv(out_dir + "/tune_compare.csv");
  csv << "function,strategy,seed,budget,evals_to_1pct,evals_to_0.1pct,final_regret,seconds\n";
  std::printf("%-10s %-7s %6s %7s %16s %18s %14s %10s\n", "function", "strategy", "seeds", "budget",
              "median_evals_1%", "median_evals_0.1%", "reached_1%", "s/run");
  for (const auto& [f, budget] : {std::pair{branin_function(), 60}, std::pair{hartmann6_function(), 100}}) {
    std::vector<PlotSeries> curves;
    for (const std::string name : {"random", "gp-ei"}) {
      std::vector<double> e1, e01, seconds;
      std::vector<std::vector<double>> regrets;
      int reached = 0;
      for (int seed = 1; seed <= seeds; ++seed) {
        auto s = strategy_registry().create(name, {});
        const auto t0 = std::chrono::steady_clock::now();
        const auto trace = minimize(f.space, *s, f, budget, static_cast<std::uint64_t>(seed));
        const double sec = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
        const int a = evaluations_to_reach(f, trace.values, 0.01), b = evaluations_to_reach(f, trace.values, 0.001);
        reached += a <= budget;
        e1.push_back(a);
        e01.push_back(b);
        seconds.push_back(sec);
        std::vector<double> r;
        for (double v : trace.best_so_far) r.push_back(std::max(f.relative_regret(v), 1e-6));
        regrets.push_back(r);
        csv << f.name << ',' << name << ',' << seed << ',' << budget << ',' << a << ',' << b << ','
            << f.relative_regret(trace.best_so_far.back()) << ',' << sec << '\n';
      }
      std::printf("%-10s %-7s %6d %7d %16.1f %18.1f %11d/%-2d %10.2f\n", f.name.c_str(), name.c_str(), seeds, budget,
                  median(e1), median(e01), reached, seeds, median(seconds));
      PlotSeries series{name + " (median of " + std::to_string(seeds) + " seeds)", {}, {}};
      for (int i = 0; i < budget; ++i) {
        std::vector<double> at;
        for (const auto& r : regrets) at.push_back(r[static_cast<std::size_t>(i)]);
        series.x.push_back(i + 1);
        series.y.push_back(median(at));
      }
      curves.push_back(series);
    }
    PlotOptions po;
    po.title = f.name + ": best-so-far relative regret";
    po.x_label = "evaluations";
    po.y_label = "relative regret (log10)";
    po.log_y = true;
    po.hline = 0.01;
    write_line_plot(out_dir + "/tune_compare_" + f.name + ".png", curves, po);
  }
  std::printf("wrote %s/tune_compare.csv and tune_compare_*.png\n", out_dir.c_str());
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  bool do_compare = false;
  int seeds = 10;
  std::string out = "bench/results";
  for (int i = 1; i < argc; ++i) {
    if (!std::strcmp(argv[i], "--compare")) do_compare = true;
    else if (!std::strcmp(argv[i], "--seeds") && i + 1 < argc) seeds = std::atoi(argv[++i]);
    else if (!std::strcmp(argv[i], "--out") && i + 1 < argc) out = argv[++i];
  }
  if (do_compare) return compare(seeds, out);
  benchmark::Initialize(&argc, argv);
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
