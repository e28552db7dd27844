#include "faceage/train/optim.hpp"

#include <cmath>

#include "faceage/core/check.hpp"
#include "train/config_keys.hpp"

namespace faceage::train {

OptimizerOptions OptimizerOptions::from_config(const Config& c, const std::string& prefix) {
  detail::check_known_keys(c, prefix,
                           {"name", "lr", "weight_decay", "momentum", "nesterov", "beta1", "beta2", "betas", "eps",
                            "decay_norm_and_bias", "backbone_lr_factor", "grad_clip_norm"});
  OptimizerOptions o;
  detail::read(c, prefix, "name", o.name);
  detail::read(c, prefix, "lr", o.lr);
  detail::read(c, prefix, "weight_decay", o.weight_decay);
  detail::read(c, prefix, "momentum", o.momentum);
  detail::read(c, prefix, "nesterov", o.nesterov);
  detail::read(c, prefix, "beta1", o.beta1);
  detail::read(c, prefix, "beta2", o.beta2);
  if (c.has("betas")) {
    std::vector<double> betas;
    detail::read(c, prefix, "betas", betas);
    FACEAGE_CHECK(betas.size() == 2, ErrorCode::kConfig,
                  "config key '" << detail::full_key(prefix, "betas") << "' must be a list of two numbers");
    o.beta1 = betas[0];
    o.beta2 = betas[1];
  }
  detail::read(c, prefix, "eps", o.eps);
  detail::read(c, prefix, "decay_norm_and_bias", o.decay_norm_and_bias);
  detail::read(c, prefix, "backbone_lr_factor", o.backbone_lr_factor);
  detail::read(c, prefix, "grad_clip_norm", o.grad_clip_norm);
  o.validate(prefix);
  return o;
}

void OptimizerOptions::validate(const std::string& prefix) const {
  auto key = [&](const char* k) { return detail::full_key(prefix, k); };
  FACEAGE_CHECK(std::isfinite(lr) && lr > 0.0, ErrorCode::kConfig, "config key '" << key("lr") << "' must be > 0, got " << lr);
  FACEAGE_CHECK(std::isfinite(weight_decay) && weight_decay >= 0.0, ErrorCode::kConfig,
                "config key '" << key("weight_decay") << "' must be >= 0, got " << weight_decay);
  FACEAGE_CHECK(momentum >= 0.0 && momentum < 1.0, ErrorCode::kConfig,
                "config key '" << key("momentum") << "' must be in [0, 1), got " << momentum);
  FACEAGE_CHECK(!(nesterov && name == "sgd" && momentum <= 0.0), ErrorCode::kConfig,
                "config key '" << key("nesterov") << "' needs momentum > 0");
  FACEAGE_CHECK(beta1 >= 0.0 && beta1 < 1.0, ErrorCode::kConfig,
                "config key '" << key("beta1") << "' must be in [0, 1), got " << beta1);
  FACEAGE_CHECK(beta2 >= 0.0 && beta2 < 1.0, ErrorCode::kConfig,
                "config key '" << key("beta2") << "' must be in [0, 1), got " << beta2);
  FACEAGE_CHECK(eps > 0.0, ErrorCode::kConfig, "config key '" << key("eps") << "' must be > 0, got " << eps);
  FACEAGE_CHECK(std::isfinite(backbone_lr_factor) && backbone_lr_factor > 0.0, ErrorCode::kConfig,
                "config key '" << key("backbone_lr_factor") << "' must be > 0, got " << backbone_lr_factor
                               << " (to freeze the backbone, leave its parameters out instead)");
  FACEAGE_CHECK(std::isfinite(grad_clip_norm) && grad_clip_norm >= 0.0, ErrorCode::kConfig,
                "config key '" << key("grad_clip_norm") << "' must be >= 0 (0 = off), got " << grad_clip_norm);
}

std::vector<ParamGroupSpec> backbone_head_groups(std::vector<torch::Tensor> backbone, std::vector<torch::Tensor> heads,
                                                 const OptimizerOptions& options) {
  std::vector<ParamGroupSpec> specs(2);
  specs[0] = {"backbone", std::move(backbone), options.backbone_lr_factor};
  specs[1] = {"heads", std::move(heads), 1.0};
  return specs;
}

std::vector<OptimizerGroup> split_groups(const OptimizerOptions& options, const std::vector<ParamGroupSpec>& specs) {
  std::vector<OptimizerGroup> groups;
  for (const auto& spec : specs) {
    FACEAGE_CHECK(std::isfinite(spec.lr_factor) && spec.lr_factor > 0.0, ErrorCode::kInvalidArgument,
                  "parameter group '" << spec.name << "': lr_factor must be > 0, got " << spec.lr_factor);
    OptimizerGroup decay, no_decay;
    decay.info = {spec.name + ".decay", options.lr * spec.lr_factor, options.weight_decay, 0, 0};
    no_decay.info = {spec.name + ".no_decay", options.lr * spec.lr_factor, 0.0, 0, 0};
    for (const auto& p : spec.params) {
      if (!p.defined() || !p.requires_grad()) continue;
      // Biases and norm scales are 1-d: decaying them pulls normalisation towards zero (timm).
      auto& g = (!options.decay_norm_and_bias && p.dim() <= 1) ? no_decay : decay;
      g.params.push_back(p);
      g.info.tensors += 1;
      g.info.elements += p.numel();
    }
    if (!decay.params.empty()) groups.push_back(std::move(decay));
    if (!no_decay.params.empty()) groups.push_back(std::move(no_decay));
  }
  return groups;
}

std::vector<GroupInfo> describe_groups(const OptimizerOptions& options, const std::vector<ParamGroupSpec>& specs) {
  std::vector<GroupInfo> out;
  for (auto& g : split_groups(options, specs)) out.push_back(g.info);
  return out;
}

namespace {

template <class Opt, class Options, class Setup>
std::unique_ptr<torch::optim::Optimizer> build(const std::vector<OptimizerGroup>& groups, Options defaults,
                                               Setup setup) {
  std::vector<torch::optim::OptimizerParamGroup> param_groups;
  param_groups.reserve(groups.size());
  for (const auto& g : groups) {
    auto o = std::make_unique<Options>(defaults);
    setup(*o, g.info);
    param_groups.emplace_back(g.params, std::move(o));
  }
  auto optimizer = std::make_unique<Opt>(std::move(param_groups), defaults);
  // LibTorch since the fix for pytorch/pytorch#141884 (2025) merges each group's options with the
  // optimizer's defaults when the group is added, keeping a group's value only where it differs
  // from the options' *constructor* default (AdamOptions().weight_decay() == 0, lr() == 1e-3): the
  // no-decay groups of adam and sgd would inherit weight_decay, and a group whose lr happens to be
  // 1e-3 the optimizer's lr. Setting every group's own values again after construction gives the
  // groups asked for on any version (with LibTorch 1.13 it rewrites the values they already hold).
  auto& added = optimizer->param_groups();
  for (size_t i = 0; i < groups.size(); ++i) setup(static_cast<Options&>(added[i].options()), groups[i].info);
  return optimizer;
}

}  // namespace

void register_builtin_optimizers(OptimizerRegistry& registry) {
  namespace O = torch::optim;
  registry.add(
      "adam",
      [](const OptimizerOptions& o, const std::vector<OptimizerGroup>& groups) {
        auto defaults = O::AdamOptions(o.lr).betas({o.beta1, o.beta2}).eps(o.eps).weight_decay(o.weight_decay);
        return build<O::Adam>(groups, defaults, [](O::AdamOptions& x, const GroupInfo& i) {
          x.lr(i.lr).weight_decay(i.weight_decay);
        });
      },
      "Adam, weight decay as L2 on the gradient");
  registry.add(
      "adamw",
      [](const OptimizerOptions& o, const std::vector<OptimizerGroup>& groups) {
        auto defaults = O::AdamWOptions(o.lr).betas({o.beta1, o.beta2}).eps(o.eps).weight_decay(o.weight_decay);
        return build<O::AdamW>(groups, defaults, [](O::AdamWOptions& x, const GroupInfo& i) {
          x.lr(i.lr).weight_decay(i.weight_decay);
        });
      },
      "AdamW, decoupled weight decay (Loshchilov & Hutter)");
  registry.add(
      "sgd",
      [](const OptimizerOptions& o, const std::vector<OptimizerGroup>& groups) {
        auto defaults = O::SGDOptions(o.lr).momentum(o.momentum).nesterov(o.nesterov).weight_decay(o.weight_decay);
        return build<O::SGD>(groups, defaults, [](O::SGDOptions& x, const GroupInfo& i) {
          x.lr(i.lr).weight_decay(i.weight_decay);
        });
      },
      "SGD with momentum (optionally Nesterov)");
}

const OptimizerRegistry& builtin_optimizers() {
  static const OptimizerRegistry registry = [] {
    OptimizerRegistry r("optimizer");
    register_builtin_optimizers(r);
    return r;
  }();
  return registry;
}

std::unique_ptr<torch::optim::Optimizer> make_optimizer(const OptimizerOptions& options,
                                                        const std::vector<ParamGroupSpec>& specs) {
  options.validate();
  const auto& registry = builtin_optimizers();
  if (!registry.contains(options.name)) {
    throw Error(ErrorCode::kConfig, "unknown optimizer '" + options.name + "' (config key 'optimizer.name')",
                "available: " + join(registry.names(), ", "));
  }
  auto groups = split_groups(options, specs);
  FACEAGE_CHECK(!groups.empty(), ErrorCode::kInvalidArgument,
                "make_optimizer: no tensor that requires grad in " << specs.size() << " parameter group(s)");
  return registry.create(options.name, options, groups);
}

std::vector<double> group_lrs(const torch::optim::Optimizer& optimizer) {
  std::vector<double> out;
  out.reserve(optimizer.param_groups().size());
  for (const auto& g : optimizer.param_groups()) out.push_back(g.options().get_lr());
  return out;
}

void set_group_lrs(torch::optim::Optimizer& optimizer, const std::vector<double>& base_lrs, double multiplier) {
  auto& groups = optimizer.param_groups();
  FACEAGE_CHECK(groups.size() == base_lrs.size(), ErrorCode::kInvalidArgument,
                "set_group_lrs: " << base_lrs.size() << " base lrs for " << groups.size() << " optimizer groups");
  for (size_t i = 0; i < groups.size(); ++i) groups[i].options().set_lr(base_lrs[i] * multiplier);
}

double clip_grad_norm(torch::optim::Optimizer& optimizer, double max_norm) {
  FACEAGE_CHECK(max_norm > 0.0, ErrorCode::kInvalidArgument, "clip_grad_norm: max_norm must be > 0, got " << max_norm);
  std::vector<torch::Tensor> params;
  for (const auto& g : optimizer.param_groups()) {
    params.insert(params.end(), g.params().begin(), g.params().end());
  }
  return torch::nn::utils::clip_grad_norm_(params, max_norm, 2.0, /*error_if_nonfinite=*/false);
}

}  // namespace faceage::train
