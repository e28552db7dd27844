#include "faceage/train/schedule.hpp"

#include <algorithm>
#include <cmath>
#include <limits>

#include "faceage/core/check.hpp"
#include "train/config_keys.hpp"

namespace faceage::train {

using nlohmann::json;

namespace {

constexpr double kPi = 3.14159265358979323846;

std::string key_of(const std::string& prefix, const char* key) { return detail::full_key(prefix, key); }

void check_choice(const std::string& value, const std::vector<std::string>& choices, const std::string& key) {
  if (std::find(choices.begin(), choices.end(), value) == choices.end()) {
    throw Error(ErrorCode::kConfig, "config key '" + key + "' has the unknown value '" + value + "'",
                "choose one of: " + join(choices, ", "));
  }
}

// JSON has no infinity: an infinite double is stored as null.
json number_or_null(double v) { return std::isfinite(v) ? json(v) : json(nullptr); }
double number_or(const json& j, double fallback) { return j.is_number() ? j.get<double>() : fallback; }

// ------------------------------------------------------------------ constant

class ConstantSchedule final : public LrSchedule {
 public:
  explicit ConstantSchedule(const ScheduleContext& c) : LrSchedule(c.base_lr) {}
  std::string name() const override { return "constant"; }
  bool per_step() const override { return false; }
};

// ------------------------------------------------------------------ cyclic (torch CyclicLR)

class CyclicSchedule final : public LrSchedule {
 public:
  CyclicSchedule(const CyclicOptions& o, const ScheduleContext& c) : LrSchedule(c.base_lr), o_(o) {
    low_ = o.base_lr > 0.0 ? o.base_lr : c.base_lr;
    FACEAGE_CHECK(o.max_lr > low_, ErrorCode::kConfig,
                  "config key 'schedule.max_lr' (" << o.max_lr << ") must be > base_lr (" << low_
                                                   << ") for schedule 'cyclic'");
    FACEAGE_CHECK(o.step_size_up > 0 && o.step_size_down >= 0, ErrorCode::kConfig,
                  "config keys 'schedule.step_size_up' (> 0) and 'schedule.step_size_down' (>= 0) are out of range");
    check_choice(o.mode, {"triangular", "triangular2", "exp_range"}, "schedule.mode");
    FACEAGE_CHECK(o.gamma > 0.0 && o.gamma <= 1.0, ErrorCode::kConfig,
                  "config key 'schedule.gamma' must be in (0, 1], got " << o.gamma);
    const double up = static_cast<double>(o.step_size_up);
    const double down = o.step_size_down > 0 ? static_cast<double>(o.step_size_down) : up;
    total_size_ = up + down;
    step_ratio_ = up / total_size_;
    set_lr(lr_at(0));
  }
  std::string name() const override { return "cyclic"; }
  bool per_step() const override { return true; }

  // torch.optim.lr_scheduler.CyclicLR.get_lr, for one group.
  double lr_at(int64_t t) const {
    const double step = static_cast<double>(t);
    const double cycle = std::floor(1.0 + step / total_size_);
    const double x = 1.0 + step / total_size_ - cycle;
    const double scale = x <= step_ratio_ ? x / step_ratio_ : (x - 1.0) / (step_ratio_ - 1.0);
    const double height = (o_.max_lr - low_) * scale;
    double amplitude = 1.0;
    if (o_.mode == "triangular2") {
      amplitude = 1.0 / std::pow(2.0, cycle - 1.0);
    } else if (o_.mode == "exp_range") {
      amplitude = std::pow(o_.gamma, step);  // scale_mode 'iterations'
    }
    return low_ + height * amplitude;
  }

 protected:
  void step_impl(int64_t steps_done) override { set_lr(lr_at(steps_done)); }

 private:
  CyclicOptions o_;
  double low_ = 0.0;
  double total_size_ = 1.0;
  double step_ratio_ = 0.5;
};

// ------------------------------------------------------------------ plateau (torch ReduceLROnPlateau)

class PlateauSchedule final : public LrSchedule {
 public:
  PlateauSchedule(const PlateauOptions& o, const ScheduleContext& c) : LrSchedule(c.base_lr), o_(o) {
    check_choice(o.mode, {"min", "max"}, "schedule.mode");
    check_choice(o.threshold_mode, {"rel", "abs"}, "schedule.threshold_mode");
    FACEAGE_CHECK(o.factor > 0.0 && o.factor < 1.0, ErrorCode::kConfig,
                  "config key 'schedule.factor' must be in (0, 1), got " << o.factor);
    FACEAGE_CHECK(o.patience >= 0 && o.cooldown >= 0, ErrorCode::kConfig,
                  "config keys 'schedule.patience' and 'schedule.cooldown' must be >= 0");
    FACEAGE_CHECK(o.threshold >= 0.0 && o.min_lr >= 0.0 && o.eps >= 0.0, ErrorCode::kConfig,
                  "config keys 'schedule.threshold', 'schedule.min_lr' and 'schedule.eps' must be >= 0");
    best_ = worse();
  }
  std::string name() const override { return "plateau"; }
  bool per_step() const override { return false; }
  bool needs_metric() const override { return true; }

 protected:
  void epoch_impl(int64_t epoch, std::optional<double> metric) override {
    FACEAGE_CHECK(metric.has_value(), ErrorCode::kInvalidArgument,
                  "schedule 'plateau' needs the validation metric at the end of every epoch");
    const double current = *metric;
    if (is_better(current, best_)) {
      best_ = current;
      num_bad_epochs_ = 0;
    } else {
      ++num_bad_epochs_;
    }
    if (cooldown_counter_ > 0) {
      --cooldown_counter_;
      num_bad_epochs_ = 0;  // bad epochs in cooldown do not count
    }
    if (num_bad_epochs_ > o_.patience) {
      const double old_lr = lr();
      const double new_lr = std::max(old_lr * o_.factor, o_.min_lr);
      if (old_lr - new_lr > o_.eps) set_lr(new_lr);
      cooldown_counter_ = o_.cooldown;
      num_bad_epochs_ = 0;
    }
  }
  void save_extra(json& s) const override {
    s["best"] = number_or_null(best_);
    s["num_bad_epochs"] = num_bad_epochs_;
    s["cooldown_counter"] = cooldown_counter_;
  }
  void load_extra(const json& s) override {
    best_ = number_or(s.at("best"), worse());
    num_bad_epochs_ = s.at("num_bad_epochs").get<int64_t>();
    cooldown_counter_ = s.at("cooldown_counter").get<int64_t>();
  }

 private:
  double worse() const {
    return o_.mode == "min" ? std::numeric_limits<double>::infinity() : -std::numeric_limits<double>::infinity();
  }
  bool is_better(double a, double best) const {
    const bool rel = o_.threshold_mode == "rel";
    if (o_.mode == "min") return rel ? a < best * (1.0 - o_.threshold) : a < best - o_.threshold;
    return rel ? a > best * (o_.threshold + 1.0) : a > best + o_.threshold;
  }

  PlateauOptions o_;
  double best_;
  int64_t num_bad_epochs_ = 0;
  int64_t cooldown_counter_ = 0;
};

// ------------------------------------------------------------------ onecycle (torch OneCycleLR)

class OneCycleSchedule final : public LrSchedule {
 public:
  OneCycleSchedule(const OneCycleOptions& o, const ScheduleContext& c) : LrSchedule(c.base_lr), o_(o) {
    total_ = o.total_steps > 0 ? o.total_steps : c.epochs * c.steps_per_epoch;
    FACEAGE_CHECK(total_ > 1, ErrorCode::kConfig,
                  "schedule 'onecycle' needs the number of steps: set schedule.total_steps or give the trainer "
                  "epochs and steps per epoch (got "
                      << total_ << ")");
    FACEAGE_CHECK(o.pct_start > 0.0 && o.pct_start < 1.0, ErrorCode::kConfig,
                  "config key 'schedule.pct_start' must be in (0, 1), got " << o.pct_start);
    FACEAGE_CHECK(o.div_factor > 0.0 && o.final_div_factor > 0.0, ErrorCode::kConfig,
                  "config keys 'schedule.div_factor' and 'schedule.final_div_factor' must be > 0");
    check_choice(o.anneal, {"cos", "linear"}, "schedule.anneal");
    const double max_lr = o.max_lr > 0.0 ? o.max_lr : c.base_lr;
    const double initial = max_lr / o.div_factor;
    const double min_lr = initial / o.final_div_factor;
    const double T = static_cast<double>(total_);
    if (o.three_phase) {
      phases_ = {{o.pct_start * T - 1.0, initial, max_lr},
                 {2.0 * o.pct_start * T - 2.0, max_lr, initial},
                 {T - 1.0, initial, min_lr}};
    } else {
      phases_ = {{o.pct_start * T - 1.0, initial, max_lr}, {T - 1.0, max_lr, min_lr}};
    }
    set_lr(lr_at(0));
  }
  std::string name() const override { return "onecycle"; }
  bool per_step() const override { return true; }

  // torch.optim.lr_scheduler.OneCycleLR.get_lr; steps past the end keep the final lr.
  double lr_at(int64_t t) const {
    const double step = static_cast<double>(std::min<int64_t>(t, total_ - 1));
    double start_step = 0.0;
    for (size_t i = 0; i < phases_.size(); ++i) {
      const auto& p = phases_[i];
      if (step <= p.end_step || i + 1 == phases_.size()) {
        const double pct = (step - start_step) / (p.end_step - start_step);
        return anneal(p.start_lr, p.end_lr, pct);
      }
      start_step = p.end_step;
    }
    return phases_.back().end_lr;
  }

 protected:
  void step_impl(int64_t steps_done) override { set_lr(lr_at(steps_done)); }

 private:
  struct Phase {
    double end_step, start_lr, end_lr;
  };
  double anneal(double start, double end, double pct) const {
    if (o_.anneal == "cos") return end + (start - end) / 2.0 * (std::cos(kPi * pct) + 1.0);
    return (end - start) * pct + start;
  }

  OneCycleOptions o_;
  int64_t total_ = 0;
  std::vector<Phase> phases_;
};

// ------------------------------------------------------------------ cosine with warm-up

class CosineSchedule final : public LrSchedule {
 public:
  CosineSchedule(const CosineOptions& o, const ScheduleContext& c) : LrSchedule(c.base_lr), o_(o) {
    check_choice(o.interval, {"step", "epoch"}, "schedule.interval");
    per_step_ = o.interval == "step";
    if (per_step_) {
      total_ = o.total > 0 ? o.total : c.epochs * c.steps_per_epoch;
      warmup_ = o.warmup_steps > 0 ? o.warmup_steps
                                   : static_cast<int64_t>(std::llround(o.warmup_epochs * static_cast<double>(c.steps_per_epoch)));
    } else {
      FACEAGE_CHECK(o.warmup_steps == 0, ErrorCode::kConfig,
                    "config key 'schedule.warmup_steps' needs schedule.interval=step; use warmup_epochs");
      total_ = o.total > 0 ? o.total : c.epochs;
      warmup_ = static_cast<int64_t>(std::llround(o.warmup_epochs));
    }
    FACEAGE_CHECK(total_ > 0, ErrorCode::kConfig,
                  "schedule 'cosine' needs its length: set schedule.total or give the trainer epochs"
                      << (per_step_ ? " and steps per epoch" : ""));
    FACEAGE_CHECK(o.warmup_epochs >= 0.0 && warmup_ >= 0 && warmup_ < total_, ErrorCode::kConfig,
                  "the warm-up (" << warmup_ << " " << o.interval << "s) must be shorter than the schedule ("
                                  << total_ << ")");
    FACEAGE_CHECK(o.warmup_start_factor >= 0.0 && o.warmup_start_factor <= 1.0, ErrorCode::kConfig,
                  "config key 'schedule.warmup_start_factor' must be in [0, 1], got " << o.warmup_start_factor);
    FACEAGE_CHECK(o.min_lr >= 0.0, ErrorCode::kConfig, "config key 'schedule.min_lr' must be >= 0");
    set_lr(lr_at(0));
  }
  std::string name() const override { return "cosine"; }
  bool per_step() const override { return per_step_; }

  double lr_at(int64_t t) const {
    const double base = base_lr();
    if (t < warmup_) {
      const double f = o_.warmup_start_factor +
                       (1.0 - o_.warmup_start_factor) * static_cast<double>(t) / static_cast<double>(warmup_);
      return base * f;
    }
    if (t >= total_) return o_.min_lr;
    const double progress = static_cast<double>(t - warmup_) / static_cast<double>(total_ - warmup_);
    return o_.min_lr + (base - o_.min_lr) * (1.0 + std::cos(kPi * progress)) / 2.0;
  }

 protected:
  void step_impl(int64_t steps_done) override {
    if (per_step_) set_lr(lr_at(steps_done));
  }
  void epoch_impl(int64_t epoch, std::optional<double>) override {
    if (!per_step_) set_lr(lr_at(epoch + 1));
  }

 private:
  CosineOptions o_;
  bool per_step_ = true;
  int64_t total_ = 0;
  int64_t warmup_ = 0;
};

// ------------------------------------------------------------------ step (torch StepLR)

class StepSchedule final : public LrSchedule {
 public:
  StepSchedule(const StepOptions& o, const ScheduleContext& c) : LrSchedule(c.base_lr), o_(o) {
    FACEAGE_CHECK(o.step_size > 0, ErrorCode::kConfig, "config key 'schedule.step_size' must be > 0");
    FACEAGE_CHECK(o.gamma > 0.0, ErrorCode::kConfig, "config key 'schedule.gamma' must be > 0");
  }
  std::string name() const override { return "step"; }
  bool per_step() const override { return false; }

 protected:
  void epoch_impl(int64_t epoch, std::optional<double>) override {
    set_lr(base_lr() * std::pow(o_.gamma, static_cast<double>((epoch + 1) / o_.step_size)));
  }

 private:
  StepOptions o_;
};

}  // namespace

// ------------------------------------------------------------------ options

ScheduleOptions ScheduleOptions::from_config(const Config& c, const std::string& prefix) {
  ScheduleOptions o;
  detail::read(c, prefix, "name", o.name);
  auto known = [&](std::vector<std::string> keys) {
    keys.push_back("name");
    detail::check_known_keys(c, prefix, keys);
  };
  if (o.name == "constant") {
    known({});
  } else if (o.name == "cyclic") {
    auto& x = o.cyclic;
    known({"base_lr", "max_lr", "step_size_up", "step_size_down", "mode", "gamma"});
    detail::read(c, prefix, "base_lr", x.base_lr);
    detail::read(c, prefix, "max_lr", x.max_lr);
    detail::read(c, prefix, "step_size_up", x.step_size_up);
    detail::read(c, prefix, "step_size_down", x.step_size_down);
    detail::read(c, prefix, "mode", x.mode);
    detail::read(c, prefix, "gamma", x.gamma);
  } else if (o.name == "plateau") {
    auto& x = o.plateau;
    known({"mode", "factor", "patience", "threshold", "threshold_mode", "cooldown", "min_lr", "eps"});
    detail::read(c, prefix, "mode", x.mode);
    detail::read(c, prefix, "factor", x.factor);
    detail::read(c, prefix, "patience", x.patience);
    detail::read(c, prefix, "threshold", x.threshold);
    detail::read(c, prefix, "threshold_mode", x.threshold_mode);
    detail::read(c, prefix, "cooldown", x.cooldown);
    detail::read(c, prefix, "min_lr", x.min_lr);
    detail::read(c, prefix, "eps", x.eps);
  } else if (o.name == "onecycle") {
    auto& x = o.onecycle;
    known({"max_lr", "total_steps", "pct_start", "anneal", "div_factor", "final_div_factor", "three_phase"});
    detail::read(c, prefix, "max_lr", x.max_lr);
    detail::read(c, prefix, "total_steps", x.total_steps);
    detail::read(c, prefix, "pct_start", x.pct_start);
    detail::read(c, prefix, "anneal", x.anneal);
    detail::read(c, prefix, "div_factor", x.div_factor);
    detail::read(c, prefix, "final_div_factor", x.final_div_factor);
    detail::read(c, prefix, "three_phase", x.three_phase);
  } else if (o.name == "cosine") {
    auto& x = o.cosine;
    known({"interval", "warmup_epochs", "warmup_steps", "warmup_start_factor", "min_lr", "total"});
    detail::read(c, prefix, "interval", x.interval);
    detail::read(c, prefix, "warmup_epochs", x.warmup_epochs);
    detail::read(c, prefix, "warmup_steps", x.warmup_steps);
    detail::read(c, prefix, "warmup_start_factor", x.warmup_start_factor);
    detail::read(c, prefix, "min_lr", x.min_lr);
    detail::read(c, prefix, "total", x.total);
  } else if (o.name == "step") {
    auto& x = o.step;
    known({"step_size", "gamma"});
    detail::read(c, prefix, "step_size", x.step_size);
    detail::read(c, prefix, "gamma", x.gamma);
  } else {
    throw Error(ErrorCode::kConfig, "unknown schedule '" + o.name + "' (config key '" + key_of(prefix, "name") + "')",
                "available: " + join(builtin_schedules().names(), ", "));
  }
  return o;
}

// ------------------------------------------------------------------ base class

LrSchedule::LrSchedule(double base_lr) : base_lr_(base_lr), lr_(base_lr) {
  FACEAGE_CHECK(std::isfinite(base_lr) && base_lr > 0.0, ErrorCode::kConfig,
                "schedule: the optimizer lr must be > 0, got " << base_lr);
}

void LrSchedule::attach(torch::optim::Optimizer& optimizer) {
  optimizer_ = &optimizer;
  group_base_lrs_.clear();
  for (const auto& g : optimizer.param_groups()) group_base_lrs_.push_back(g.options().get_lr());
  apply();
}

void LrSchedule::apply() {
  if (!optimizer_) return;
  auto& groups = optimizer_->param_groups();
  FACEAGE_CHECK(groups.size() == group_base_lrs_.size(), ErrorCode::kInvalidArgument,
                "schedule '" << name() << "' holds " << group_base_lrs_.size() << " group base lrs but the optimizer has "
                             << groups.size() << " groups");
  for (size_t i = 0; i < groups.size(); ++i) {
    // The head group gets lr() exactly; others keep their ratio to it.
    const double g = group_base_lrs_[i];
    groups[i].options().set_lr(g == base_lr_ ? lr_ : g * (lr_ / base_lr_));
  }
}

void LrSchedule::on_step(int64_t steps_done) {
  last_step_ = steps_done;
  step_impl(steps_done);
  apply();
}

void LrSchedule::on_epoch_end(int64_t epoch, std::optional<double> metric) {
  last_epoch_ = epoch;
  epoch_impl(epoch, metric);
  apply();
}

json LrSchedule::state() const {
  json s;
  s["name"] = name();
  s["lr"] = lr_;
  s["base_lr"] = base_lr_;
  s["group_base_lrs"] = group_base_lrs_;
  s["last_step"] = last_step_;
  s["last_epoch"] = last_epoch_;
  save_extra(s);
  return s;
}

void LrSchedule::load_state(const json& s) {
  try {
    const auto saved = s.at("name").get<std::string>();
    if (saved != name()) {
      throw Error(ErrorCode::kConfig, "the checkpoint's schedule is '" + saved + "' but the config asks for '" + name() + "'",
                  "resume with schedule.name=" + saved + " or start a new run");
    }
    lr_ = s.at("lr").get<double>();
    last_step_ = s.at("last_step").get<int64_t>();
    last_epoch_ = s.at("last_epoch").get<int64_t>();
    auto groups = s.at("group_base_lrs").get<std::vector<double>>();
    if (!groups.empty()) group_base_lrs_ = std::move(groups);
    load_extra(s);
  } catch (const json::exception& e) {
    throw Error(ErrorCode::kModel, std::string("schedule state is malformed: ") + e.what(),
                "the checkpoint is damaged or from another version");
  }
  apply();
}

// ------------------------------------------------------------------ registry

void register_builtin_schedules(ScheduleRegistry& registry) {
  registry.add("constant", [](const ScheduleOptions&, const ScheduleContext& c) {
    return std::make_unique<ConstantSchedule>(c); }, "the optimizer lr throughout");
  registry.add("cyclic", [](const ScheduleOptions& o, const ScheduleContext& c) {
    return std::make_unique<CyclicSchedule>(o.cyclic, c); }, "CyclicLR: triangular, triangular2, exp_range (per step)");
  registry.add("plateau", [](const ScheduleOptions& o, const ScheduleContext& c) {
    return std::make_unique<PlateauSchedule>(o.plateau, c); }, "ReduceLROnPlateau on the validation metric (per epoch)");
  registry.add("onecycle", [](const ScheduleOptions& o, const ScheduleContext& c) {
    return std::make_unique<OneCycleSchedule>(o.onecycle, c); }, "OneCycleLR, cos or linear (per step)");
  registry.add("cosine", [](const ScheduleOptions& o, const ScheduleContext& c) {
    return std::make_unique<CosineSchedule>(o.cosine, c); }, "linear warm-up + cosine annealing (per step or epoch)");
  registry.add("step", [](const ScheduleOptions& o, const ScheduleContext& c) {
    return std::make_unique<StepSchedule>(o.step, c); }, "StepLR: × gamma every step_size epochs");
}

const ScheduleRegistry& builtin_schedules() {
  static const ScheduleRegistry registry = [] {
    ScheduleRegistry r("schedule");
    register_builtin_schedules(r);
    return r;
  }();
  return registry;
}

std::unique_ptr<LrSchedule> make_schedule(const ScheduleOptions& options, const ScheduleContext& context) {
  const auto& registry = builtin_schedules();
  if (!registry.contains(options.name)) {
    throw Error(ErrorCode::kConfig, "unknown schedule '" + options.name + "' (config key 'schedule.name')",
                "available: " + join(registry.names(), ", "));
  }
  return registry.create(options.name, options, context);
}

}  // namespace faceage::train
