#include "faceage/models/weight_average.hpp"

#include <cmath>
#include <filesystem>
#include <map>
#include <numeric>

#include "faceage/core/check.hpp"
#include "faceage/core/fs.hpp"
#include "faceage/models/bundle.hpp"
#include "faceage/models/licence_notes.hpp"

namespace faceage::models {
namespace {

std::vector<double> normalised_weights(const WeightAverageOptions& options, std::size_t count) {
  if (options.weights.empty()) return std::vector<double>(count, 1.0 / static_cast<double>(count));
  FACEAGE_CHECK(options.weights.size() == count, ErrorCode::kInvalidArgument,
                options.weights.size() << " weights for " << count << " bundles: give one weight per bundle");
  for (double weight : options.weights) {
    FACEAGE_CHECK(std::isfinite(weight) && weight >= 0, ErrorCode::kInvalidArgument,
                  "weight " << weight << " is not a finite number >= 0");
  }
  const double total = std::accumulate(options.weights.begin(), options.weights.end(), 0.0);
  FACEAGE_CHECK(total > 0, ErrorCode::kInvalidArgument, "the weights are all zero");
  std::vector<double> weights;
  for (double weight : options.weights) weights.push_back(weight / total);
  return weights;
}

// kInvalidArgument when `other` cannot be averaged with `first`: what a bundle does with its
// weights (architecture, input, face crop, label order) must be the same for every source.
void require_same_use(const Bundle& first, const std::string& first_path, const Bundle& other,
                      const std::string& other_path) {
  auto differ = [&](const std::string& what, const nlohmann::json& a, const nlohmann::json& b) {
    if (a == b) return;
    throw Error(ErrorCode::kInvalidArgument,
                "'" + other_path + "' differs from '" + first_path + "' in " + what + ": " + b.dump() + " vs " + a.dump(),
                "average only fine-tunes of one start, trained with the same model, preprocessing and face pipeline");
  };
  differ("model_options", to_json(first.model_options), to_json(other.model_options));
  differ("preprocess", to_json(first.preprocess), to_json(other.preprocess));
  differ("face_pipeline", first.face_pipeline, other.face_pipeline);
  differ("labels.genders", first.labels.genders, other.labels.genders);
}

}  // namespace

WeightAverageSummary save_weight_average(const std::vector<std::string>& bundle_paths, const std::string& out_path,
                                         const WeightAverageOptions& options) {
  FACEAGE_CHECK(bundle_paths.size() >= 2, ErrorCode::kInvalidArgument,
                "weight averaging needs at least two bundles, got " << bundle_paths.size());
  WeightAverageSummary summary;
  summary.weights = normalised_weights(options, bundle_paths.size());

  std::vector<Bundle> bundles;
  for (const auto& path : bundle_paths) {
    bundles.push_back(load_bundle(path));
    if (bundles.size() > 1) require_same_use(bundles.front(), bundle_paths.front(), bundles.back(), path);
  }

  // Sources' tensors by name (same architecture options, so the same names and shapes).
  std::vector<std::map<std::string, torch::Tensor>> sources(bundles.size());
  for (std::size_t i = 0; i < bundles.size(); ++i) {
    for (const auto& item : bundles[i].model->named_parameters(true)) sources[i].emplace(item.key(), item.value());
    for (const auto& item : bundles[i].model->named_buffers(true)) sources[i].emplace(item.key(), item.value());
  }

  Bundle result;
  result.model_options = bundles.front().model_options;
  result.preprocess = bundles.front().preprocess;
  result.face_pipeline = bundles.front().face_pipeline;
  result.labels = bundles.front().labels;
  result.labels.conformal.clear();
  result.labels.minor.clear();
  result.model = create_model(result.model_options);
  result.model->eval();

  torch::NoGradGuard no_grad;
  std::vector<double> squared_distance(bundles.size(), 0.0);
  double squared_norm = 0;
  // Distances are over parameters only: BatchNorm statistics are not weights.
  auto average_into = [&](const std::string& name, torch::Tensor& target, bool is_parameter) {
    if (!target.is_floating_point()) {
      target.copy_(sources.front().at(name));
      return;
    }
    auto sum = torch::zeros_like(target, torch::kFloat64);
    for (std::size_t i = 0; i < sources.size(); ++i) sum.add_(sources[i].at(name).to(torch::kFloat64), summary.weights[i]);
    target.copy_(sum);
    ++summary.tensors;
    if (!is_parameter) return;
    squared_norm += sum.pow(2).sum().item<double>();
    for (std::size_t i = 0; i < sources.size(); ++i) {
      squared_distance[i] += (sources[i].at(name).to(torch::kFloat64) - sum).pow(2).sum().item<double>();
    }
  };
  for (auto& item : result.model->named_parameters(true)) average_into(item.key(), item.value(), true);
  for (auto& item : result.model->named_buffers(true)) average_into(item.key(), item.value(), false);
  for (double squared : squared_distance) {
    summary.relative_distance.push_back(squared_norm > 0 ? std::sqrt(squared / squared_norm) : 0.0);
  }

  nlohmann::json averaged_from = nlohmann::json::array();
  for (std::size_t i = 0; i < bundles.size(); ++i) {
    averaged_from.push_back({{"source", std::filesystem::path(bundle_paths[i]).filename().string()},
                             {"sha256", sha256_file(bundle_paths[i])},
                             {"weight", summary.weights[i]},
                             {"relative_distance", summary.relative_distance[i]},
                             {"metadata", bundles[i].metadata}});
  }
  result.metadata = {
      {"name", options.name.empty() ? std::filesystem::path(out_path).stem().string() : options.name},
      {"created_by", "faceage models average"},
      {"averaged_from", std::move(averaged_from)},
      // No calibration state here: `models calibrate` keeps metadata, so such a note would outlive it.
      {"note", "weights averaged from the sources listed"}};
  std::vector<std::string> licences;
  for (const auto& bundle : bundles) licences.push_back(bundle.metadata.value("licence", std::string()));
  if (const auto licence = join_licence_notes(licences); !licence.empty()) result.metadata["licence"] = licence;
  save_bundle(result, out_path);
  return summary;
}

}  // namespace faceage::models
