// End-to-end latency of one face photo through the Predictor on ONE thread: decode -> the bundle's
// face pipeline (YuNet detection and landmarks for the shipped default; dlib-hog + 68 landmarks for
// older bundles) -> alignment -> model (with and without flip averaging; the mirror
// in the same model call as the face, or, at batch 1, in a second call), with the
// backbone in float32 (bf16=0) and bfloat16 (bf16=1; slower than float32 without native bf16).
// The model is $FACEAGE_BENCH_MODEL, else the shipped models/default.fab.
// Inputs: the public-domain astronaut face crop (tests/fixtures/faces/astronaut_crop.jpg) as a
// UTKFace-sized photo, and the whole 512x512 astronaut photo.
#include <benchmark/benchmark.h>

#include <cstdlib>
#include <string>

#include "faceage/core/context.hpp"
#include "faceage/infer/predictor.hpp"
#include "faceage/models/tensor_io.hpp"

namespace {

using namespace faceage;

std::string bench_model() {
  const char* env = std::getenv("FACEAGE_BENCH_MODEL");
  return env ? env : std::string(FACEAGE_SOURCE_DIR) + "/models/default.fab";
}

void BM_PredictFile(benchmark::State& state, const std::string& image) {
  ContextOptions co;
  co.threads = 1;
  co.log_level = "warn";
  Context context = Context::make(co);
  models::configure_runtime(context);
  infer::PredictorOptions options;
  options.model_paths = {bench_model()};
  options.flip_average = state.range(0) != 0;
  options.precision = state.range(1) != 0 ? models::InferencePrecision::kBFloat16 : models::InferencePrecision::kFloat32;
  options.batch_size = static_cast<int>(state.range(2));
  infer::Predictor predictor(options, context);
  const std::string path = std::string(FACEAGE_SOURCE_DIR) + "/tests/fixtures/" + image;
  for (int i = 0; i < 3; ++i) predictor.predict_file(path);  // warm caches
  std::size_t faces = 0;
  for (auto _ : state) {
    auto prediction = predictor.predict_file(path);
    if (!prediction.ok()) {
      state.SkipWithError(prediction.error->message.c_str());
      break;
    }
    faces += prediction.faces.size();
  }
  state.counters["faces"] = benchmark::Counter(static_cast<double>(faces), benchmark::Counter::kAvgIterations);
}
// batch 1 with flip: the face and its mirror in two model calls; batch 32: in one (the default).
BENCHMARK_CAPTURE(BM_PredictFile, crop200, std::string("faces/astronaut_crop.jpg"))
    ->ArgNames({"flip", "bf16", "batch"})->ArgsProduct({{0, 1}, {0, 1}, {32}})->Args({1, 0, 1})->Args({1, 1, 1})->Unit(benchmark::kMillisecond)->Repetitions(5)
    ->ReportAggregatesOnly(true);
BENCHMARK_CAPTURE(BM_PredictFile, photo512, std::string("astronaut.png"))
    ->ArgNames({"flip", "bf16", "batch"})->ArgsProduct({{0, 1}, {0, 1}, {32}})->Unit(benchmark::kMillisecond)->Repetitions(5)
    ->ReportAggregatesOnly(true);

}  // namespace

BENCHMARK_MAIN();
