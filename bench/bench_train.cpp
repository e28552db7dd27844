// Per-step costs of the train module's pieces on the CPU: the loss forward+backward for a batch,
// an EMA update over a MobileNetV2-sized parameter set, and a schedule step.
#include <benchmark/benchmark.h>

#include <torch/torch.h>
#include <torch/version.h>

#include "faceage/models/model.hpp"
#include "faceage/train/ema.hpp"
#include "faceage/train/losses.hpp"
#include "faceage/train/optim.hpp"
#include "faceage/train/schedule.hpp"

namespace {

using namespace faceage;

void BM_MultiTaskLoss(benchmark::State& state, const std::string& age_loss) {
  torch::manual_seed(0);
  const int64_t batch = state.range(0);
  models::ModelOutput out;
  out.age_logits = torch::randn({batch, 101}).requires_grad_();
  out.age = (torch::rand({batch}) * 100).requires_grad_();
  out.gender_logits = torch::randn({batch, 2}).requires_grad_();
  train::Targets targets;
  targets.age = torch::rand({batch}) * 90;
  targets.gender = torch::randint(-1, 2, {batch}, torch::kLong);
  train::LossOptions options;
  options.age = age_loss;
  train::MultiTaskLoss loss(options);
  for (auto _ : state) {
    auto r = loss(out, targets);
    r.total.backward();
    benchmark::DoNotOptimize(r.total_value);
  }
  state.SetItemsProcessed(state.iterations() * batch);
}
BENCHMARK_CAPTURE(BM_MultiTaskLoss, l1, std::string("l1"))->Arg(64)->Arg(256);
BENCHMARK_CAPTURE(BM_MultiTaskLoss, dldl, std::string("dldl"))->Arg(64)->Arg(256);
BENCHMARK_CAPTURE(BM_MultiTaskLoss, mean_variance, std::string("mean_variance"))->Arg(64)->Arg(256);

// ~3.5 M parameters in 156 tensors, as mobilenet_v2 with its heads.
struct ManyTensors : torch::nn::Module {
  ManyTensors() {
    for (int i = 0; i < 52; ++i) {
      register_parameter("conv" + std::to_string(i), torch::randn({64, 1050}));
      register_parameter("bn_w" + std::to_string(i), torch::randn({64}));
      register_parameter("bn_b" + std::to_string(i), torch::randn({64}));
      register_buffer("bn_mean" + std::to_string(i), torch::randn({64}));
    }
  }
};

void BM_EmaUpdate(benchmark::State& state) {
  ManyTensors model;
  train::ModelEma ema(model);
  int64_t elements = 0;
  for (const auto& p : model.parameters()) elements += p.numel();
  for (auto _ : state) ema.update(model);
  state.SetItemsProcessed(state.iterations() * elements);
}
BENCHMARK(BM_EmaUpdate)->Unit(benchmark::kMicrosecond);

void BM_ScheduleStep(benchmark::State& state) {
  auto p = torch::zeros({1}, torch::requires_grad());
  train::OptimizerOptions o;
  auto optimizer = train::make_optimizer(o, train::backbone_head_groups({p}, {torch::zeros({2, 2}, torch::requires_grad())}, o));
  train::ScheduleOptions s;
  s.name = "onecycle";
  auto schedule = train::make_schedule(s, {o.lr, 1000, 100});
  schedule->attach(*optimizer);
  int64_t step = 0;
  for (auto _ : state) schedule->on_step(++step % 100000);
}
BENCHMARK(BM_ScheduleStep);

// One optimiser step of MobileNetV2 with both heads: forward, loss, backward, AdamW step.
// Args: batch, input size, channels-last (0/1), torch threads. Compare with bench/train_step_torch.py.
void BM_TrainStep(benchmark::State& state) {
  torch::manual_seed(0);
  const int64_t batch = state.range(0), size = state.range(1);
  const bool channels_last = state.range(2) != 0;
  torch::set_num_threads(static_cast<int>(state.range(3)));
  models::ModelOptions mo;
  auto model = models::create_model(mo);
  model->train();
  auto memory_format = channels_last ? torch::MemoryFormat::ChannelsLast : torch::MemoryFormat::Contiguous;
  for (auto& p : model->parameters())
    if (p.dim() == 4) p.set_data(p.data().contiguous(memory_format));
  train::OptimizerOptions o;
  o.name = "adamw";
  auto optimizer = train::make_optimizer(o, train::backbone_head_groups(model->backbone_parameters(), model->head_parameters(), o));
  train::LossOptions lo;
  lo.age = "dldl";
  train::MultiTaskLoss loss(lo);
  auto images = torch::randn({batch, 3, size, size}).contiguous(memory_format);
  train::Targets targets;
  targets.age = torch::rand({batch}) * 90;
  targets.gender = torch::randint(0, 2, {batch}, torch::kLong);
  for (auto _ : state) {
#if TORCH_VERSION_MAJOR >= 2
    optimizer->zero_grad(/*set_to_none=*/false);  // as the trainer does: zeroed, as in LibTorch 1.13
#else
    optimizer->zero_grad();
#endif
    auto r = loss(model->forward(images), targets);
    r.total.backward();
    optimizer->step();
  }
  state.SetItemsProcessed(state.iterations() * batch);
}
BENCHMARK(BM_TrainStep)
    ->Args({64, 112, 1, 2})
    ->Args({64, 112, 0, 2})
    ->Unit(benchmark::kMillisecond)
    ->Iterations(3)
    ->Repetitions(3)
    ->ReportAggregatesOnly(true);

}  // namespace

BENCHMARK_MAIN();
