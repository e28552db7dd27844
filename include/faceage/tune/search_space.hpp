#pragma once
// Search spaces over training-config keys: floats (uniform or log-uniform), integers (with a step)
// and categoricals. Every space has a unit-cube encoding used by the model-based strategies:
//   float / int  -> one coordinate in [0, 1] (in log space when `log: true`)
//   categorical  -> one coordinate per choice (one-hot)
// decode() rounds integers to their step grid and categoricals to their argmax, so
// project(u) = encode(decode(u)) is the point that is really evaluated (Garrido-Merchán &
// Hernández-Lobato 2020: the GP sees the rounded point).
#include <cstdint>
#include <random>
#include <string>
#include <variant>
#include <vector>

#include <Eigen/Core>
#include <nlohmann/json.hpp>
#include <yaml-cpp/yaml.h>

namespace faceage::tune {

enum class ParamType { kFloat, kInt, kCategorical };

// double for floats, int64 for integers, string for categoricals.
using ParamValue = std::variant<double, std::int64_t, std::string>;
// One value per parameter, in the order of SearchSpace::params().
using ParamSet = std::vector<ParamValue>;

struct ParamSpec {
  std::string key;  // training-config key, e.g. "optimizer.lr"
  ParamType type = ParamType::kFloat;
  double low = 0.0;
  double high = 1.0;
  bool log = false;
  std::int64_t step = 1;             // integers only
  std::vector<std::string> choices;  // categoricals only

  int dims() const { return type == ParamType::kCategorical ? static_cast<int>(choices.size()) : 1; }
  // Integers: number of grid values low, low+step, ... <= high.
  std::int64_t levels() const;
};

class SearchSpace {
 public:
  SearchSpace() = default;
  // Validates every spec (kConfig naming "space.<key>").
  explicit SearchSpace(std::vector<ParamSpec> params);
  // Parses the `space:` map of a study file; `where` prefixes error messages ("space").
  static SearchSpace from_yaml(const YAML::Node& space, const std::string& where = "space");

  const std::vector<ParamSpec>& params() const { return params_; }
  std::size_t size() const { return params_.size(); }
  int dims() const { return dims_; }
  int offset(std::size_t param) const { return offsets_[param]; }

  Eigen::VectorXd encode(const ParamSet& values) const;
  // Clamps u to the cube, rounds integers to the grid, categoricals to the argmax.
  ParamSet decode(const Eigen::VectorXd& u) const;
  Eigen::VectorXd project(const Eigen::VectorXd& u) const { return encode(decode(u)); }
  // Uniform over the space (log-uniform for log params, uniform over integer levels and choices).
  ParamSet sample(std::mt19937_64& rng) const;

  // Value as written to `--set key=value` and YAML (shortest round-trip text for floats).
  std::string format(std::size_t param, const ParamValue& value) const;
  // Canonical text of a whole set, for duplicate checks.
  std::string canonical(const ParamSet& values) const;
  nlohmann::json to_json(const ParamSet& values) const;
  // Reads {"key": value, ...}; a missing key or a value outside the space is kConfig.
  ParamSet from_json(const nlohmann::json& object) const;
  // Checks types and ranges; kInvalidArgument naming the key.
  void validate(const ParamSet& values) const;

 private:
  std::vector<ParamSpec> params_;
  std::vector<int> offsets_;
  int dims_ = 0;
};

// "1e-05", "0.001", "3" ...: the shortest text that parses back to the same double.
std::string format_double(double value);

}  // namespace faceage::tune
