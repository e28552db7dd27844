#include "faceage/tune/pruner.hpp"

#include <algorithm>
#include <limits>

#include "faceage/core/check.hpp"

namespace faceage::tune {
namespace {

double best_up_to(const std::vector<double>& curve, std::size_t steps) {
  double best = std::numeric_limits<double>::infinity();
  for (std::size_t i = 0; i < steps && i < curve.size(); ++i) best = std::min(best, curve[i]);
  return best;
}

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  const std::size_t n = v.size();
  return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

}  // namespace

PrunerOptions PrunerOptions::from_yaml(const YAML::Node& node) {
  PrunerOptions o;
  if (!node.IsDefined() || node.IsNull()) return o;
  FACEAGE_CHECK(node.IsMap(), ErrorCode::kConfig, "pruner must be a map such as {kind: median, warmup_epochs: 1}");
  for (const auto& field : node) {
    const auto name = field.first.as<std::string>();
    try {
      if (name == "kind") o.kind = field.second.as<std::string>();
      else if (name == "warmup_epochs") o.warmup_epochs = field.second.as<int>();
      else if (name == "min_trials") o.min_trials = field.second.as<int>();
      else if (name == "eta") o.eta = field.second.as<int>();
      else if (name == "min_resource") o.min_resource = field.second.as<int>();
      else
        throw Error(ErrorCode::kConfig, "pruner." + name + ": unknown field",
                    "fields are kind, warmup_epochs, min_trials, eta, min_resource");
    } catch (const YAML::Exception&) {
      throw Error(ErrorCode::kConfig, "pruner." + name + ": has a value of the wrong type");
    }
  }
  FACEAGE_CHECK(o.kind == "none" || o.kind == "median" || o.kind == "successive_halving", ErrorCode::kConfig,
                "pruner.kind: unknown pruner '" << o.kind << "'; available: none, median, successive_halving");
  FACEAGE_CHECK(o.warmup_epochs >= 0, ErrorCode::kConfig, "pruner.warmup_epochs must be >= 0");
  FACEAGE_CHECK(o.min_trials >= 1, ErrorCode::kConfig, "pruner.min_trials must be >= 1");
  FACEAGE_CHECK(o.eta >= 2, ErrorCode::kConfig, "pruner.eta must be >= 2");
  FACEAGE_CHECK(o.min_resource >= 1, ErrorCode::kConfig, "pruner.min_resource must be >= 1");
  return o;
}

bool should_prune(const PrunerOptions& o, const std::vector<double>& curve,
                  const std::vector<std::vector<double>>& complete, const std::vector<std::vector<double>>& others) {
  const std::size_t step = curve.size();
  if (step == 0) return false;
  const double mine = best_up_to(curve, step);
  if (o.kind == "median") {
    if (static_cast<int>(step) <= o.warmup_epochs) return false;
    std::vector<double> at;
    for (const auto& c : complete)
      if (c.size() >= step) at.push_back(best_up_to(c, step));
    if (static_cast<int>(at.size()) < o.min_trials) return false;
    return mine > median(at);
  }
  if (o.kind == "successive_halving") {
    // Only decide when the trial has just reached a rung.
    long rung = o.min_resource;
    while (rung < static_cast<long>(step)) rung *= o.eta;
    if (rung != static_cast<long>(step)) return false;
    std::vector<double> at{mine};
    for (const auto& c : others)
      if (c.size() >= step) at.push_back(best_up_to(c, step));
    std::sort(at.begin(), at.end());
    const std::size_t keep = std::max<std::size_t>(1, at.size() / static_cast<std::size_t>(o.eta));
    return mine > at[keep - 1];
  }
  return false;
}

}  // namespace faceage::tune
