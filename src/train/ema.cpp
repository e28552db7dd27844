#include "faceage/train/ema.hpp"

#include <algorithm>
#include <cmath>

#include "faceage/core/check.hpp"
#include "train/config_keys.hpp"

namespace faceage::train {

EmaOptions EmaOptions::from_config(const Config& c, const std::string& prefix) {
  detail::check_known_keys(c, prefix, {"enabled", "decay", "warmup", "warmup_gamma", "warmup_power", "min_decay"});
  EmaOptions o;
  detail::read(c, prefix, "enabled", o.enabled);
  detail::read(c, prefix, "decay", o.decay);
  detail::read(c, prefix, "warmup", o.warmup);
  detail::read(c, prefix, "warmup_gamma", o.warmup_gamma);
  detail::read(c, prefix, "warmup_power", o.warmup_power);
  detail::read(c, prefix, "min_decay", o.min_decay);
  o.validate(prefix);
  return o;
}

void EmaOptions::validate(const std::string& prefix) const {
  FACEAGE_CHECK(decay >= 0.0 && decay < 1.0, ErrorCode::kConfig,
                "config key '" << detail::full_key(prefix, "decay") << "' must be in [0, 1), got " << decay);
  FACEAGE_CHECK(min_decay >= 0.0 && min_decay <= decay, ErrorCode::kConfig,
                "config key '" << detail::full_key(prefix, "min_decay") << "' must be in [0, decay], got " << min_decay);
  FACEAGE_CHECK(warmup_gamma > 0.0 && warmup_power > 0.0, ErrorCode::kConfig,
                "config keys '" << detail::full_key(prefix, "warmup_gamma") << "' and '"
                                << detail::full_key(prefix, "warmup_power") << "' must be > 0");
}

namespace {

std::vector<std::pair<std::string, torch::Tensor>> clone_all(const torch::OrderedDict<std::string, torch::Tensor>& items) {
  std::vector<std::pair<std::string, torch::Tensor>> out;
  out.reserve(items.size());
  for (const auto& item : items) {
    if (item.value().defined()) out.emplace_back(item.key(), item.value().detach().clone());
  }
  return out;
}

// The model's tensors in the EMA's order; the model must still have the same structure.
std::vector<torch::Tensor> match(const std::vector<std::pair<std::string, torch::Tensor>>& ema,
                                 const torch::OrderedDict<std::string, torch::Tensor>& model, const char* what) {
  std::vector<torch::Tensor> out;
  out.reserve(ema.size());
  for (const auto& [name, tensor] : ema) {
    const auto* found = model.find(name);
    FACEAGE_CHECK(found && found->sizes() == tensor.sizes(), ErrorCode::kInvalidArgument,
                  "EMA: the model's " << what << " '" << name << "' is missing or changed shape since the EMA was made");
    out.push_back(found->detach());
  }
  return out;
}

}  // namespace

ModelEma::ModelEma(const torch::nn::Module& model, const EmaOptions& options) : options_(options) {
  options_.validate();
  torch::NoGradGuard no_grad;
  params_ = clone_all(model.named_parameters());
  buffers_ = clone_all(model.named_buffers());
}

double ModelEma::next_decay() const {
  if (!options_.warmup) return options_.decay;
  const double n = static_cast<double>(updates_);  // updates before this one
  const double d = 1.0 - std::pow(1.0 + n / options_.warmup_gamma, -options_.warmup_power);
  return std::clamp(d, options_.min_decay, options_.decay);
}

void ModelEma::update(const torch::nn::Module& model) {
  torch::NoGradGuard no_grad;
  const double d = next_decay();
  auto current = match(params_, model.named_parameters(), "parameter");
  for (size_t i = 0; i < params_.size(); ++i) {
    auto& ema = params_[i].second;
    // ema + (1 − d)(p − ema) = d·ema + (1 − d)·p, in one pass over memory.
    if (ema.is_floating_point()) {
      ema.lerp_(current[i].to(ema.device(), ema.scalar_type(), /*non_blocking=*/true), 1.0 - d);
    } else {
      ema.copy_(current[i]);
    }
  }
  auto buffers = match(buffers_, model.named_buffers(), "buffer");
  for (size_t i = 0; i < buffers_.size(); ++i) buffers_[i].second.copy_(buffers[i]);
  ++updates_;
}

void ModelEma::copy_to(torch::nn::Module& model) const {
  torch::NoGradGuard no_grad;
  auto params = match(params_, model.named_parameters(), "parameter");
  for (size_t i = 0; i < params_.size(); ++i) params[i].copy_(params_[i].second);
  auto buffers = match(buffers_, model.named_buffers(), "buffer");
  for (size_t i = 0; i < buffers_.size(); ++i) buffers[i].copy_(buffers_[i].second);
}

void ModelEma::swap(torch::nn::Module& model) {
  torch::NoGradGuard no_grad;
  auto exchange = [](std::vector<std::pair<std::string, torch::Tensor>>& mine, const std::vector<torch::Tensor>& theirs) {
    for (size_t i = 0; i < mine.size(); ++i) {
      auto saved = theirs[i].clone();
      theirs[i].copy_(mine[i].second);
      mine[i].second.copy_(saved);
    }
  };
  exchange(params_, match(params_, model.named_parameters(), "parameter"));
  exchange(buffers_, match(buffers_, model.named_buffers(), "buffer"));
}

void ModelEma::to(const torch::Device& device) {
  for (auto& [name, t] : params_) t = t.to(device);
  for (auto& [name, t] : buffers_) t = t.to(device);
}

std::map<std::string, torch::Tensor> ModelEma::state_dict() const {
  std::map<std::string, torch::Tensor> out;
  for (const auto& [name, t] : params_) out.emplace("param:" + name, t);
  for (const auto& [name, t] : buffers_) out.emplace("buffer:" + name, t);
  out.emplace("updates", torch::tensor(updates_, torch::kLong));
  return out;
}

void ModelEma::load_state_dict(const std::map<std::string, torch::Tensor>& state) {
  auto find = [&](const std::string& key, const torch::Tensor& like) -> const torch::Tensor& {
    auto it = state.find(key);
    FACEAGE_CHECK(it != state.end() && it->second.defined(), ErrorCode::kModel, "EMA state has no '" << key << "'");
    FACEAGE_CHECK(!like.defined() || it->second.sizes() == like.sizes(), ErrorCode::kModel,
                  "EMA state '" << key << "' has shape " << it->second.sizes() << ", the model " << like.sizes());
    return it->second;
  };
  // Check everything before changing anything.
  for (const auto& [name, t] : params_) find("param:" + name, t);
  for (const auto& [name, t] : buffers_) find("buffer:" + name, t);
  const auto& updates = find("updates", torch::Tensor());
  FACEAGE_CHECK(updates.numel() == 1, ErrorCode::kModel, "EMA state 'updates' is not a scalar");
  torch::NoGradGuard no_grad;
  for (auto& [name, t] : params_) t.copy_(state.at("param:" + name));
  for (auto& [name, t] : buffers_) t.copy_(state.at("buffer:" + name));
  updates_ = updates.item<int64_t>();
}

void ModelEma::save(torch::serialize::OutputArchive& archive, const std::string& prefix) const {
  for (const auto& [key, t] : state_dict()) archive.write(prefix + "." + key, t, /*is_buffer=*/true);
}

void ModelEma::load(torch::serialize::InputArchive& archive, const std::string& prefix) {
  std::map<std::string, torch::Tensor> state;
  auto read = [&](const std::string& key) {
    torch::Tensor t;
    if (archive.try_read(prefix + "." + key, t, /*is_buffer=*/true)) state.emplace(key, t);
  };
  for (const auto& [name, t] : params_) read("param:" + name);
  for (const auto& [name, t] : buffers_) read("buffer:" + name);
  read("updates");
  load_state_dict(state);
}

}  // namespace faceage::train
