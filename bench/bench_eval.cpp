// Benchmarks of the eval module: metrics, predictions CSV parsing and matching, the scatter plot.
#include <benchmark/benchmark.h>

#include <filesystem>
#include <random>
#include <string>
#include <vector>

#include "faceage/eval/metrics.hpp"
#include "faceage/eval/plots.hpp"
#include "faceage/eval/predictions.hpp"

namespace {

using namespace faceage::eval;

std::vector<EvalRecord> make_records(int n) {
  std::mt19937 rng(1);
  std::uniform_real_distribution<double> age(0, 90), unit(0, 1);
  std::normal_distribution<double> noise(0, 5);
  std::vector<EvalRecord> out(static_cast<size_t>(n));
  for (int i = 0; i < n; ++i) {
    EvalRecord& r = out[static_cast<size_t>(i)];
    r.file = "img/" + std::to_string(i) + ".jpg";
    r.true_age = age(rng);
    r.pred_age = r.true_age + noise(rng);
    r.age_low = r.pred_age - 5;
    r.age_high = r.pred_age + 5;
    r.true_gender = unit(rng) < 0.5 ? "female" : "male";
    r.female_prob = unit(rng);
    r.pred_gender = r.female_prob >= 0.5 ? "female" : "male";
    r.race = i % 5;
  }
  return out;
}

void BM_ComputeMetrics(benchmark::State& state) {
  const auto records = make_records(static_cast<int>(state.range(0)));
  for (auto _ : state) benchmark::DoNotOptimize(compute_metrics(records));
  state.SetItemsProcessed(state.iterations() * state.range(0));
}
BENCHMARK(BM_ComputeMetrics)->Arg(10000)->Arg(100000)->Unit(benchmark::kMillisecond);

std::string make_csv(int n) {
  std::string csv = "file,face,x,y,w,h,age,age_low,age_high,gender,gender_prob,error\n";
  for (int i = 0; i < n; ++i) {
    csv += "img/" + std::to_string(i) + ".jpg,0,10,12,80,80,34.5,29.1,40.2,female,0.93,\n";
  }
  return csv;
}

void BM_ParseAndSelect(benchmark::State& state) {
  const std::string csv = make_csv(static_cast<int>(state.range(0)));
  for (auto _ : state) benchmark::DoNotOptimize(select_faces(parse_predictions_csv(csv)));
  state.SetItemsProcessed(state.iterations() * state.range(0));
  state.SetBytesProcessed(state.iterations() * static_cast<int64_t>(csv.size()));
}
BENCHMARK(BM_ParseAndSelect)->Arg(100000)->Unit(benchmark::kMillisecond);

void BM_Match(benchmark::State& state) {
  const int n = static_cast<int>(state.range(0));
  const auto files = select_faces(parse_predictions_csv(make_csv(n)));
  std::vector<GroundTruth> truth(static_cast<size_t>(n));
  for (int i = 0; i < n; ++i) {
    truth[static_cast<size_t>(i)].file = "img/" + std::to_string(i) + ".jpg";
    truth[static_cast<size_t>(i)].age = 30;
  }
  for (auto _ : state) benchmark::DoNotOptimize(match_predictions(files, truth));
  state.SetItemsProcessed(state.iterations() * n);
}
BENCHMARK(BM_Match)->Arg(100000)->Unit(benchmark::kMillisecond);

void BM_ScatterPlot(benchmark::State& state) {
  const auto records = make_records(static_cast<int>(state.range(0)));
  const std::string png = (std::filesystem::temp_directory_path() / "faceage-bench-scatter.png").string();
  for (auto _ : state) plot_age_scatter(records, png);
  std::filesystem::remove(png);
}
BENCHMARK(BM_ScatterPlot)->Arg(20000)->Unit(benchmark::kMillisecond);

}  // namespace

BENCHMARK_MAIN();
