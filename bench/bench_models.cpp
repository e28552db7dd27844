// Model forward latency (eval, inference mode) and preprocessing throughput.
//   bench_models --benchmark_filter=Forward
// Args: {batch, input size, intra-op threads}. Medians: --benchmark_repetitions=5
//   --benchmark_report_aggregates_only=true.
#include <benchmark/benchmark.h>

#include "faceage/models/batchnorm.hpp"
#include "faceage/models/model.hpp"
#include "faceage/models/tensor_io.hpp"

namespace {

using faceage::models::AgeGenderModel;

AgeGenderModel make(const std::string& arch) {
  faceage::models::ModelOptions options;
  options.arch = arch;
  auto model = faceage::models::create_model(options);
  model->eval();
  return model;
}

enum class Mode { kInferenceMode, kNoGrad, kFused, kChannelsLast, kFusedChannelsLast, kFlushDenormal, kOptimizedBf16 };

void run_forward(benchmark::State& state, const std::string& arch, Mode mode) {
  const int64_t batch = state.range(0), size = state.range(1);
  torch::set_num_threads(static_cast<int>(state.range(2)));
  auto model = make(arch);
  if (mode == Mode::kFused) faceage::models::fuse_batchnorm_for_inference(model);
  at::globalContext().setFlushDenormal(mode == Mode::kFlushDenormal);
  auto x = torch::randn({batch, 3, size, size});
  if (mode == Mode::kFusedChannelsLast) {
    faceage::models::optimize_for_inference(model);
  } else if (mode == Mode::kOptimizedBf16) {
    faceage::models::optimize_for_inference(model, faceage::models::InferencePrecision::kBFloat16);
  } else if (mode == Mode::kChannelsLast) {
    for (auto& p : model->parameters()) {
      if (p.dim() == 4) p.set_data(p.contiguous(torch::MemoryFormat::ChannelsLast));
    }
    x = x.contiguous(torch::MemoryFormat::ChannelsLast);
  }
  auto step = [&] {
    if (mode == Mode::kNoGrad) {
      torch::NoGradGuard guard;
      benchmark::DoNotOptimize(model->forward(x).age);
    } else {
      c10::InferenceMode guard;
      benchmark::DoNotOptimize(model->forward(x).age);
    }
  };
  step();  // warm-up: first-call allocations and kernel selection
  for (auto _ : state) step();
  state.SetItemsProcessed(state.iterations() * batch);
  state.counters["ms_per_batch"] =
      benchmark::Counter(static_cast<double>(state.iterations()) * 1e3, benchmark::Counter::kIsRate | benchmark::Counter::kInvert);
}

void grid(benchmark::internal::Benchmark* b) {
  for (int64_t threads : {1, 2})
    for (int64_t size : {112, 224})
      for (int64_t batch : {1, 32}) b->Args({batch, size, threads});
  b->Unit(benchmark::kMillisecond)->UseRealTime();
}

void target(benchmark::internal::Benchmark* b) {
  b->Args({1, 128, 1})->Args({1, 112, 1})->Unit(benchmark::kMillisecond)->UseRealTime();
}

void BM_Forward_MobileNetV2(benchmark::State& s) { run_forward(s, "mobilenet_v2", Mode::kInferenceMode); }
void BM_Forward_ResNet18(benchmark::State& s) { run_forward(s, "resnet18", Mode::kInferenceMode); }
void BM_Forward_MobileNetV2_NoGrad(benchmark::State& s) { run_forward(s, "mobilenet_v2", Mode::kNoGrad); }
void BM_Forward_MobileNetV2_FusedBN(benchmark::State& s) { run_forward(s, "mobilenet_v2", Mode::kFused); }
void BM_Forward_MobileNetV2_ChannelsLast(benchmark::State& s) { run_forward(s, "mobilenet_v2", Mode::kChannelsLast); }
void BM_Forward_MobileNetV2_FlushDenormal(benchmark::State& s) { run_forward(s, "mobilenet_v2", Mode::kFlushDenormal); }
void BM_Forward_ResNet18_FusedBN(benchmark::State& s) { run_forward(s, "resnet18", Mode::kFused); }
// optimize_for_inference(): fused BN + channels-last weights, NCHW input converted in forward.
void BM_Forward_MobileNetV2_Optimized(benchmark::State& s) { run_forward(s, "mobilenet_v2", Mode::kFusedChannelsLast); }
void BM_Forward_ResNet18_Optimized(benchmark::State& s) { run_forward(s, "resnet18", Mode::kFusedChannelsLast); }
// The same with the backbone in bfloat16 (fast only on CPUs with native bf16: AVX512_BF16 / AMX).
void BM_Forward_MobileNetV2_OptimizedBf16(benchmark::State& s) { run_forward(s, "mobilenet_v2", Mode::kOptimizedBf16); }
// dlib's face-recognition ResNet at its own 150 px (scale layers folded like BN) against MobileNetV2 at 112.
void BM_Forward_DlibResNet_Optimized(benchmark::State& s) { run_forward(s, "dlib_resnet", Mode::kFusedChannelsLast); }

BENCHMARK(BM_Forward_MobileNetV2)->Apply(grid)->Apply(target);
BENCHMARK(BM_Forward_ResNet18)->Apply(grid);
BENCHMARK(BM_Forward_MobileNetV2_NoGrad)->Apply(target);
BENCHMARK(BM_Forward_MobileNetV2_FusedBN)->Apply(target)->Args({32, 112, 2});
BENCHMARK(BM_Forward_MobileNetV2_ChannelsLast)->Apply(target);
// Batch 2: a face and its mirror in one call (the Predictor's flip averaging) against 2x batch 1.
BENCHMARK(BM_Forward_MobileNetV2_Optimized)->Apply(grid)->Apply(target)->Args({2, 112, 1});
BENCHMARK(BM_Forward_ResNet18_Optimized)->Apply(grid);
BENCHMARK(BM_Forward_MobileNetV2_OptimizedBf16)->Apply(grid)->Apply(target)->Args({2, 112, 1});
BENCHMARK(BM_Forward_MobileNetV2_FlushDenormal)->Apply(target);
BENCHMARK(BM_Forward_DlibResNet_Optimized)->Args({1, 150, 1})->Args({2, 150, 1})->Args({1, 112, 1})->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(BM_Forward_ResNet18_FusedBN)->Args({1, 112, 1})->Args({32, 112, 2})->Unit(benchmark::kMillisecond)->UseRealTime();

void BM_ImagesToTensor(benchmark::State& state) {
  const int64_t batch = state.range(0);
  faceage::models::PreprocessSpec spec;
  spec.input_size = 112;
  std::vector<cv::Mat> crops(static_cast<size_t>(batch), cv::Mat(200, 200, CV_8UC3, cv::Scalar(90, 120, 200)));
  for (auto _ : state) benchmark::DoNotOptimize(faceage::models::images_to_tensor(crops, spec));
  state.SetItemsProcessed(state.iterations() * batch);
}
BENCHMARK(BM_ImagesToTensor)->Arg(1)->Arg(32)->Unit(benchmark::kMicrosecond);

}  // namespace

BENCHMARK_MAIN();
