#include "faceage/train/losses.hpp"

#include <cmath>
#include <limits>

#include "faceage/core/check.hpp"
#include "train/config_keys.hpp"

namespace faceage::train {

// ---------------------------------------------------------------------------------------------
// Options

LossOptions LossOptions::from_config(const Config& loss, const std::string& prefix) {
  detail::check_known_keys(loss, prefix,
                           {"age", "age_weight", "gender_weight", "beta", "sigma", "expectation_weight",
                            "mean_weight", "variance_weight", "label_smoothing", "min_age", "max_age"});
  LossOptions o;
  detail::read(loss, prefix, "age", o.age);
  detail::read(loss, prefix, "age_weight", o.age_weight);
  detail::read(loss, prefix, "gender_weight", o.gender_weight);
  detail::read(loss, prefix, "beta", o.beta);
  detail::read(loss, prefix, "sigma", o.sigma);
  detail::read(loss, prefix, "expectation_weight", o.expectation_weight);
  detail::read(loss, prefix, "mean_weight", o.mean_weight);
  detail::read(loss, prefix, "variance_weight", o.variance_weight);
  detail::read(loss, prefix, "label_smoothing", o.label_smoothing);
  detail::read(loss, prefix, "min_age", o.min_age);
  detail::read(loss, prefix, "max_age", o.max_age);
  o.validate(prefix);
  return o;
}

LossOptions& LossOptions::with_model(const models::ModelOptions& model) {
  min_age = model.min_age;
  max_age = model.max_age;
  return *this;
}

void LossOptions::validate(const std::string& prefix) const {
  auto key = [&](const char* k) { return detail::full_key(prefix, k); };
  auto non_negative = [&](double v, const char* k) {
    FACEAGE_CHECK(std::isfinite(v) && v >= 0.0, ErrorCode::kConfig,
                  "config key '" << key(k) << "' must be a finite number >= 0, got " << v);
  };
  non_negative(age_weight, "age_weight");
  non_negative(gender_weight, "gender_weight");
  non_negative(beta, "beta");
  non_negative(expectation_weight, "expectation_weight");
  non_negative(mean_weight, "mean_weight");
  non_negative(variance_weight, "variance_weight");
  FACEAGE_CHECK(std::isfinite(sigma) && sigma > 0.0, ErrorCode::kConfig,
                "config key '" << key("sigma") << "' must be > 0 (years), got " << sigma);
  FACEAGE_CHECK(label_smoothing >= 0.0 && label_smoothing < 1.0, ErrorCode::kConfig,
                "config key '" << key("label_smoothing") << "' must be in [0, 1), got " << label_smoothing);
  FACEAGE_CHECK(max_age > min_age, ErrorCode::kConfig,
                "config key '" << key("max_age") << "' (" << max_age << ") must be > min_age (" << min_age << ")");
  FACEAGE_CHECK(age_weight > 0.0 || gender_weight > 0.0, ErrorCode::kConfig,
                "'" << key("age_weight") << "' and '" << key("gender_weight") << "' are both 0: nothing to train");
}

// ---------------------------------------------------------------------------------------------
// Age losses

namespace {

void check_batch(const torch::Tensor& t, int64_t batch, const char* what) {
  FACEAGE_CHECK(t.defined() && t.dim() == 1 && t.size(0) == batch, ErrorCode::kInvalidArgument,
                what << " must be a [" << batch << "] tensor, got "
                     << (t.defined() ? t.sizes() : torch::IntArrayRef{}));
}

const torch::Tensor& regression_age(const models::ModelOutput& output, const std::string& loss) {
  FACEAGE_CHECK(output.age.defined() && output.age.dim() == 1, ErrorCode::kInvalidArgument,
                "loss '" << loss << "' needs ModelOutput::age as a [B] tensor");
  return output.age;
}

// log-softmax of the distribution head, after checking it exists and has the configured bins.
torch::Tensor distribution_log_probs(const models::ModelOutput& output, const std::string& loss, int min_age,
                                     int max_age) {
  if (!output.age_logits.defined()) {
    throw Error(ErrorCode::kConfig, "loss '" + loss + "' needs the distribution age head",
                "set model.age_head=distribution, or choose loss.age=l1|mse|smooth_l1");
  }
  const int64_t bins = max_age - min_age + 1;
  FACEAGE_CHECK(output.age_logits.dim() == 2 && output.age_logits.size(1) == bins, ErrorCode::kConfig,
                "loss '" << loss << "': age_logits " << output.age_logits.sizes() << " do not have " << bins
                         << " bins for ages " << min_age << ".." << max_age
                         << " (set loss.min_age/max_age as model.min_age/max_age)");
  return torch::log_softmax(output.age_logits, 1);
}

torch::Tensor bin_ages(int64_t bins, int min_age, const torch::Tensor& like) {
  return torch::arange(bins, like.options()).add_(min_age);
}

class L1Loss final : public AgeLoss {
 public:
  std::string name() const override { return "l1"; }
  torch::Tensor per_sample(const models::ModelOutput& out, const torch::Tensor& age) const override {
    const auto& pred = regression_age(out, name());
    return (pred - age.to(pred.dtype())).abs();
  }
};

class MseLoss final : public AgeLoss {
 public:
  std::string name() const override { return "mse"; }
  torch::Tensor per_sample(const models::ModelOutput& out, const torch::Tensor& age) const override {
    const auto& pred = regression_age(out, name());
    return (pred - age.to(pred.dtype())).square();
  }
};

class SmoothL1Loss final : public AgeLoss {
 public:
  explicit SmoothL1Loss(double beta) : beta_(beta) {}
  std::string name() const override { return "smooth_l1"; }
  torch::Tensor per_sample(const models::ModelOutput& out, const torch::Tensor& age) const override {
    const auto& pred = regression_age(out, name());
    return at::smooth_l1_loss(pred, age.to(pred.dtype()), at::Reduction::None, beta_);
  }

 private:
  double beta_;
};

// DLDL-v2 (Gao et al. 2018): cross-entropy to a Gaussian label distribution + λ·|E[age] − y|.
class DldlLoss final : public AgeLoss {
 public:
  explicit DldlLoss(const LossOptions& o) : o_(o) {}
  std::string name() const override { return "dldl"; }
  bool needs_distribution() const override { return true; }
  torch::Tensor per_sample(const models::ModelOutput& out, const torch::Tensor& age) const override {
    auto log_p = distribution_log_probs(out, name(), o_.min_age, o_.max_age);
    auto y = age.to(log_p.dtype());
    auto soft = gaussian_soft_labels(y, log_p.size(1), o_.min_age, o_.sigma);
    auto loss = -(soft * log_p).sum(1);
    if (o_.expectation_weight > 0.0) {
      auto expectation = torch::mv(log_p.exp(), bin_ages(log_p.size(1), o_.min_age, log_p));
      loss = loss + o_.expectation_weight * (expectation - y).abs();
    }
    return loss;
  }

 private:
  LossOptions o_;
};

// Mean-variance loss (Pan et al., CVPR 2018): softmax CE on the rounded age
// + λ1·(mean − y)²/2 + λ2·variance of the predicted distribution.
class MeanVarianceLoss final : public AgeLoss {
 public:
  explicit MeanVarianceLoss(const LossOptions& o) : o_(o) {}
  std::string name() const override { return "mean_variance"; }
  bool needs_distribution() const override { return true; }
  torch::Tensor per_sample(const models::ModelOutput& out, const torch::Tensor& age) const override {
    auto log_p = distribution_log_probs(out, name(), o_.min_age, o_.max_age);
    const int64_t bins = log_p.size(1);
    auto y = age.to(log_p.dtype());
    auto index = (torch::round(y) - o_.min_age).clamp(0, bins - 1).to(torch::kLong);
    auto ce = -log_p.gather(1, index.unsqueeze(1)).squeeze(1);
    auto p = log_p.exp();
    auto k = bin_ages(bins, o_.min_age, log_p);
    // var = E[(k − c)²] − (mean − c)² with c the bins' centre: two matrix-vector products and no
    // [B, bins] temporaries; the shift keeps the cancellation small (|k − c| <= bins / 2).
    const double centre = o_.min_age + 0.5 * static_cast<double>(bins - 1);
    auto mean = torch::mv(p, k);
    auto variance = torch::mv(p, (k - centre).square()) - (mean - centre).square();
    return ce + (0.5 * o_.mean_weight) * (mean - y).square() + o_.variance_weight * variance;
  }

 private:
  LossOptions o_;
};

// sum(w·l) / sum(w), still a graph node (0 with a gradient of 0) when every weight is 0.
torch::Tensor weighted_mean(const torch::Tensor& loss, const torch::Tensor& w) {
  return (loss * w).sum() / w.sum().clamp_min(std::numeric_limits<float>::min());
}

}  // namespace

torch::Tensor AgeLoss::operator()(const models::ModelOutput& output, const Targets& targets) const {
  const int64_t batch = output.age.defined() ? output.age.size(0)
                                             : (output.age_logits.defined() ? output.age_logits.size(0) : -1);
  FACEAGE_CHECK(batch >= 0, ErrorCode::kInvalidArgument, "age loss '" << name() << "': the model output has no age");
  check_batch(targets.age, batch, "Targets::age");
  auto age = targets.age;
  auto valid = torch::isfinite(age);
  // Unknown ages become 0 so no NaN reaches the graph; their weight is 0.
  auto safe_age = torch::where(valid, age, torch::zeros_like(age));
  auto loss = per_sample(output, safe_age);
  auto w = valid.to(loss.dtype());
  if (targets.weight.defined()) {
    check_batch(targets.weight, batch, "Targets::weight");
    w = w * targets.weight.to(loss.dtype());
  }
  return weighted_mean(loss, w);
}

torch::Tensor gaussian_soft_labels(const torch::Tensor& age, int64_t bins, int min_age, double sigma) {
  FACEAGE_CHECK(sigma > 0.0, ErrorCode::kInvalidArgument, "gaussian_soft_labels: sigma must be > 0, got " << sigma);
  auto opts = age.options().dtype(age.is_floating_point() ? age.scalar_type() : torch::kFloat);
  auto y = age.to(opts.dtype()).clamp(static_cast<double>(min_age), static_cast<double>(min_age + bins - 1));
  auto k = torch::arange(bins, opts).add_(min_age);
  // softmax of the log-density: normalised and safe for any sigma (no 0/0 for narrow Gaussians).
  auto logits = (k.unsqueeze(0) - y.unsqueeze(1)).square().mul_(-0.5 / (sigma * sigma));
  return torch::softmax(logits, 1);
}

torch::Tensor gender_loss(const torch::Tensor& gender_logits, const Targets& targets, double label_smoothing) {
  FACEAGE_CHECK(gender_logits.defined() && gender_logits.dim() == 2, ErrorCode::kInvalidArgument,
                "gender loss needs ModelOutput::gender_logits as [B, 2]");
  const int64_t batch = gender_logits.size(0);
  check_batch(targets.gender, batch, "Targets::gender");
  auto label = targets.gender.to(torch::kLong);
  auto valid = label.ge(0);
  auto safe = torch::where(valid, label, torch::zeros_like(label));
  auto log_p = torch::log_softmax(gender_logits, 1);
  auto loss = -log_p.gather(1, safe.unsqueeze(1)).squeeze(1);
  if (label_smoothing > 0.0) {
    // PyTorch: (1 − ε)·nll + ε/C·Σ_c −log p_c.
    loss = (1.0 - label_smoothing) * loss - (label_smoothing / static_cast<double>(log_p.size(1))) * log_p.sum(1);
  }
  auto w = valid.to(loss.dtype());
  if (targets.weight.defined()) {
    check_batch(targets.weight, batch, "Targets::weight");
    w = w * targets.weight.to(loss.dtype());
  }
  return weighted_mean(loss, w);
}

// ---------------------------------------------------------------------------------------------
// Registry

void register_builtin_age_losses(AgeLossRegistry& registry) {
  registry.add("l1", [](const LossOptions&) { return std::make_unique<L1Loss>(); }, "mean absolute error in years");
  registry.add("mse", [](const LossOptions&) { return std::make_unique<MseLoss>(); }, "mean squared error");
  registry.add("smooth_l1", [](const LossOptions& o) { return std::make_unique<SmoothL1Loss>(o.beta); },
               "Huber-like loss, quadratic below `beta` years");
  registry.add("dldl", [](const LossOptions& o) { return std::make_unique<DldlLoss>(o); },
               "label distribution CE to a Gaussian (sigma) + expectation L1 (DLDL-v2)");
  registry.add("mean_variance", [](const LossOptions& o) { return std::make_unique<MeanVarianceLoss>(o); },
               "softmax CE + mean + variance loss (Pan et al. 2018)");
}

const AgeLossRegistry& builtin_age_losses() {
  static const AgeLossRegistry registry = [] {
    AgeLossRegistry r("age loss");
    register_builtin_age_losses(r);
    return r;
  }();
  return registry;
}

std::unique_ptr<AgeLoss> make_age_loss(const LossOptions& options) {
  const auto& registry = builtin_age_losses();
  if (!registry.contains(options.age)) {
    throw Error(ErrorCode::kConfig, "unknown age loss '" + options.age + "' (config key 'loss.age')",
                "available: " + join(registry.names(), ", "));
  }
  return registry.create(options.age, options);
}

// ---------------------------------------------------------------------------------------------
// Multitask

MultiTaskLoss::MultiTaskLoss(const LossOptions& options) : options_(options) {
  options_.validate();
  age_loss_ = make_age_loss(options_);
}

void MultiTaskLoss::check_model(const models::ModelOptions& model) const {
  if (age_loss_->needs_distribution() && model.age_head != models::AgeHeadKind::kDistribution) {
    throw Error(ErrorCode::kConfig, "loss '" + age_loss_->name() + "' needs the distribution age head",
                "set model.age_head=distribution, or choose loss.age=l1|mse|smooth_l1");
  }
  FACEAGE_CHECK(!age_loss_->needs_distribution() ||
                    (model.min_age == options_.min_age && model.max_age == options_.max_age),
                ErrorCode::kConfig,
                "loss ages " << options_.min_age << ".." << options_.max_age << " differ from the model's "
                             << model.min_age << ".." << model.max_age << " (use LossOptions::with_model)");
  if (options_.gender_weight > 0.0 && !model.gender_head) {
    throw Error(ErrorCode::kConfig, "loss.gender_weight is " + std::to_string(options_.gender_weight) +
                                        " but the model has no gender head",
                "set loss.gender_weight=0 or model.gender_head=true");
  }
}

LossResult MultiTaskLoss::operator()(const models::ModelOutput& output, const Targets& targets, bool values) const {
  LossResult r;
  r.age = (*age_loss_)(output, targets);
  if (options_.gender_weight > 0.0) {
    if (!output.gender_logits.defined()) {
      throw Error(ErrorCode::kConfig, "loss.gender_weight > 0 but the model output has no gender logits",
                  "set loss.gender_weight=0 or model.gender_head=true");
    }
    r.gender = gender_loss(output.gender_logits, targets, options_.label_smoothing);
    r.total = options_.age_weight * r.age + options_.gender_weight * r.gender;
  } else {
    r.gender = torch::zeros({}, r.age.options());
    r.total = options_.age_weight * r.age;
  }
  if (values) {
    // One host copy for the three numbers (each .item() would synchronise separately).
    auto host = torch::stack({r.total.detach(), r.age.detach(), r.gender.detach().to(r.age.dtype())})
                    .to(torch::kCPU, torch::kDouble);
    auto a = host.accessor<double, 1>();
    r.total_value = a[0];
    r.age_value = a[1];
    r.gender_value = a[2];
  }
  return r;
}

}  // namespace faceage::train
