#pragma once
// Learning-rate schedules by name from the `schedule:` config sub-tree. LibTorch 1.13 ships only
// StepLR, so these are our own implementations of PyTorch's documented formulas (CyclicLR,
// ReduceLROnPlateau, OneCycleLR, CosineAnnealingLR, StepLR), tested against torch 1.13's numbers.
//
// The trainer drives every kind the same way and each kind ignores the call it does not use:
//
//   auto schedule = train::make_schedule(train::ScheduleOptions::from_config(config.sub("schedule")),
//                                        {optimizer_options.lr, steps_per_epoch, epochs});
//   schedule->attach(*optimizer);                    // captures each group's base lr, sets lr(0)
//   for (epoch...) {
//     for (batch...) { ...; optimizer->step(); schedule->on_step(++global_step); }
//     schedule->on_epoch_end(epoch, val_mae);        // plateau needs the metric
//   }
//   checkpoint["schedule"] = schedule->state();      // load_state() continues exactly
//
// A schedule computes the *reference lr* (the lr of a group whose base lr is ScheduleContext::base_lr,
// i.e. OptimizerOptions::lr, the head group). Every optimizer group g gets base_lr(g) × lr / base_lr,
// so layer-wise ratios (backbone_lr_factor) hold throughout. Absolute values in the options
// (cyclic base_lr/max_lr, onecycle max_lr, min_lr) therefore refer to the head group.
#include <torch/torch.h>

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "faceage/core/config.hpp"
#include "faceage/core/registry.hpp"

namespace faceage::train {

// CyclicLR (Smith 2017), per step.
struct CyclicOptions {
  double base_lr = 0.0;          // lower bound; 0: the optimizer lr
  double max_lr = 0.0;           // upper bound; required (> base_lr)
  int64_t step_size_up = 2000;   // steps from base_lr to max_lr
  int64_t step_size_down = 0;    // steps back down; 0: same as step_size_up
  std::string mode = "triangular";  // triangular | triangular2 | exp_range
  double gamma = 1.0;            // exp_range: amplitude × gamma^step
};

// ReduceLROnPlateau, per epoch on a validation metric; PyTorch's semantics exactly.
struct PlateauOptions {
  std::string mode = "min";            // min | max
  double factor = 0.1;                 // new lr = lr × factor, in (0, 1)
  int64_t patience = 10;               // bad epochs tolerated before reducing
  double threshold = 1e-4;             // what counts as better
  std::string threshold_mode = "rel";  // rel | abs
  int64_t cooldown = 0;                // epochs after a reduction in which bad epochs are not counted
  double min_lr = 0.0;                 // lower bound of the reference lr
  double eps = 1e-8;                   // a reduction smaller than eps is skipped
};

// OneCycleLR (Smith & Topin 2018), per step. Momentum is not cycled.
struct OneCycleOptions {
  double max_lr = 0.0;          // peak; 0: the optimizer lr
  int64_t total_steps = 0;      // 0: epochs × steps_per_epoch
  double pct_start = 0.3;       // share of steps spent rising
  std::string anneal = "cos";   // cos | linear
  double div_factor = 25.0;     // initial lr = max_lr / div_factor
  double final_div_factor = 1e4;  // final lr = initial lr / final_div_factor
  bool three_phase = false;     // rise, symmetric fall to initial lr, then anneal to final lr
};

// Linear warm-up then cosine annealing to min_lr (CosineAnnealingLR's curve when warm-up is 0).
struct CosineOptions {
  std::string interval = "step";   // step | epoch: what t counts
  double warmup_epochs = 0.0;      // warm-up length in epochs (fractions allowed with interval step)
  int64_t warmup_steps = 0;        // > 0 overrides warmup_epochs (interval step only)
  double warmup_start_factor = 0.01;  // warm-up starts at base_lr × this
  double min_lr = 0.0;             // lr at the end (eta_min)
  int64_t total = 0;               // length in `interval` units; 0: from the context
};

// StepLR, per epoch.
struct StepOptions {
  int64_t step_size = 30;  // epochs between decays
  double gamma = 0.1;
};

struct ScheduleOptions {
  std::string name = "cosine";  // constant | cyclic | plateau | onecycle | cosine | step
  CyclicOptions cyclic;
  PlateauOptions plateau;
  OneCycleOptions onecycle;
  CosineOptions cosine;
  StepOptions step;

  // `schedule:` holds `name` and the flat keys of that kind (e.g. name: plateau, patience: 3);
  // a key that the chosen kind does not have is kConfig listing the ones it has.
  static ScheduleOptions from_config(const Config& schedule, const std::string& prefix = "schedule");
};

// What the trainer knows: the optimizer lr (the reference), the length of the run.
struct ScheduleContext {
  double base_lr = 1e-3;
  int64_t steps_per_epoch = 0;
  int64_t epochs = 0;
};

class LrSchedule {
 public:
  virtual ~LrSchedule() = default;
  virtual std::string name() const = 0;
  // True when on_step moves the lr, false when on_epoch_end does.
  virtual bool per_step() const = 0;
  virtual bool needs_metric() const { return false; }

  double base_lr() const { return base_lr_; }
  double lr() const { return lr_; }                       // reference lr now
  double multiplier() const { return lr_ / base_lr_; }  // lr() / base_lr()

  // Captures the optimizer groups' current lrs as their base lrs (call right after
  // make_optimizer) and applies lr(). The optimizer must outlive the schedule or be re-attached.
  void attach(torch::optim::Optimizer& optimizer);
  // Base lr of every attached group (restored by load_state).
  const std::vector<double>& group_base_lrs() const { return group_base_lrs_; }

  // After optimizer step number `steps_done` (1 after the first step): sets the lr for the next.
  void on_step(int64_t steps_done);
  // After epoch `epoch` (0-based) ends: sets the lr for the next epoch. `metric` is the
  // validation metric; a schedule with needs_metric() throws kInvalidArgument without one.
  void on_epoch_end(int64_t epoch, std::optional<double> metric = std::nullopt);

  // Everything needed to continue exactly: {"name", "lr", "base_lr", "group_base_lrs", "last_step",
  // "last_epoch", ...kind counters}. load_state of another kind's state is kConfig.
  nlohmann::json state() const;
  void load_state(const nlohmann::json& state);

 protected:
  explicit LrSchedule(double base_lr);
  virtual void step_impl(int64_t steps_done) {}
  virtual void epoch_impl(int64_t epoch, std::optional<double> metric) {}
  virtual void save_extra(nlohmann::json& state) const {}
  virtual void load_extra(const nlohmann::json& state) {}
  void set_lr(double lr) { lr_ = lr; }

 private:
  void apply();

  double base_lr_;
  double lr_;
  torch::optim::Optimizer* optimizer_ = nullptr;  // non-owning, see attach()
  std::vector<double> group_base_lrs_;
  int64_t last_step_ = 0;
  int64_t last_epoch_ = -1;
};

using ScheduleRegistry = Registry<std::unique_ptr<LrSchedule>(const ScheduleOptions&, const ScheduleContext&)>;
void register_builtin_schedules(ScheduleRegistry& registry);
const ScheduleRegistry& builtin_schedules();  // built once, never changed
// An unknown name is kConfig listing the available ones; bad options are kConfig naming the key.
std::unique_ptr<LrSchedule> make_schedule(const ScheduleOptions& options, const ScheduleContext& context);

}  // namespace faceage::train
