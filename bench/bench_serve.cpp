// Serving overheads that are not the model: base64, metrics, the batcher's round trip.
#include <benchmark/benchmark.h>

#include <random>
#include <thread>

#include "faceage/serve/batcher.hpp"
#include "faceage/serve/http_util.hpp"
#include "faceage/serve/metrics.hpp"

namespace {
using namespace faceage::serve;

std::string random_bytes(std::size_t n) {
  std::mt19937 rng(1);
  std::string s(n, '\0');
  for (auto& c : s) c = static_cast<char>(rng());
  return s;
}

void BM_Base64Decode(benchmark::State& state) {
  const auto encoded = base64_encode(random_bytes(static_cast<std::size_t>(state.range(0))));
  for (auto _ : state) benchmark::DoNotOptimize(base64_decode(encoded));
  state.SetBytesProcessed(state.iterations() * static_cast<std::int64_t>(encoded.size()));
}
BENCHMARK(BM_Base64Decode)->Arg(100 << 10)->Arg(1 << 20);

void BM_Base64Encode(benchmark::State& state) {
  const auto bytes = random_bytes(static_cast<std::size_t>(state.range(0)));
  for (auto _ : state) benchmark::DoNotOptimize(base64_encode(bytes));
  state.SetBytesProcessed(state.iterations() * state.range(0));
}
BENCHMARK(BM_Base64Encode)->Arg(100 << 10);

void BM_HistogramObserve(benchmark::State& state) {
  Histogram h(exponential_buckets(0.001, 2, 15));
  double v = 0.0001;
  for (auto _ : state) {
    h.observe(v);
    v = v * 1.7 > 20 ? 0.0001 : v * 1.7;
  }
}
BENCHMARK(BM_HistogramObserve)->Threads(1)->Threads(2);

// The per-request metric lookups the server does (counter by labels + histogram by route).
void BM_LabelledCounterLookup(benchmark::State& state) {
  MetricsRegistry registry;
  for (auto _ : state) {
    registry.counter("faceage_http_requests_total", "x", {{"route", "/v1/predict"}, {"method", "POST"}, {"status", "200"}}).inc();
  }
}
BENCHMARK(BM_LabelledCounterLookup);

void BM_MetricsRender(benchmark::State& state) {
  MetricsRegistry registry;
  for (const char* route : {"/v1/predict", "/invocations", "/v2/models/{name}/infer", "/ping", "/metrics"}) {
    for (const char* status : {"200", "400", "422"}) {
      registry.counter("faceage_http_requests_total", "x", {{"route", route}, {"status", status}}).inc();
    }
    registry.histogram("faceage_http_request_duration_seconds", "x", exponential_buckets(0.001, 2, 15), {{"route", route}})
        .observe(0.01);
  }
  for (auto _ : state) benchmark::DoNotOptimize(registry.render());
}
BENCHMARK(BM_MetricsRender);

// Submit -> batcher thread -> answer, with a model that does nothing: the batching overhead a
// request pays on top of the model call.
void BM_BatcherRoundTrip(benchmark::State& state) {
  DynamicBatcher batcher({16, 5.0}, [](const std::vector<cv::Mat>& crops) {
    return std::vector<faceage::infer::CropAnswer>(crops.size());
  });
  const cv::Mat crop(8, 8, CV_8UC3, cv::Scalar(1, 2, 3));
  for (auto _ : state) {
    auto ticket = batcher.announce();
    benchmark::DoNotOptimize(batcher.run({crop}, ticket));
  }
}
BENCHMARK(BM_BatcherRoundTrip)->UseRealTime();

}  // namespace

BENCHMARK_MAIN();
