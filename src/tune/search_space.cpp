#include "faceage/tune/search_space.hpp"

#include <algorithm>
#include <charconv>
#include <cmath>

#include "faceage/core/check.hpp"
#include "faceage/core/error.hpp"
#include "faceage/core/registry.hpp"

namespace faceage::tune {
namespace {

double to_unit(const ParamSpec& p, double v, double high) {
  if (high <= p.low) return 0.5;
  double u = p.log ? (std::log(v) - std::log(p.low)) / (std::log(high) - std::log(p.low)) : (v - p.low) / (high - p.low);
  return std::clamp(u, 0.0, 1.0);
}

double from_unit(const ParamSpec& p, double u, double high) {
  if (!(u > 0.0)) return p.low;  // exact bounds (exp(log(low)) may round above low)
  if (u >= 1.0) return high;
  return p.log ? std::exp(std::log(p.low) + u * (std::log(high) - std::log(p.low))) : p.low + u * (high - p.low);
}

double int_high(const ParamSpec& p) { return p.low + static_cast<double>((p.levels() - 1) * p.step); }

std::int64_t round_to_grid(const ParamSpec& p, double v) {
  auto level = static_cast<std::int64_t>(std::llround((v - p.low) / static_cast<double>(p.step)));
  level = std::clamp<std::int64_t>(level, 0, p.levels() - 1);
  return static_cast<std::int64_t>(p.low) + level * p.step;
}

[[noreturn]] void bad(const std::string& where, const std::string& what, const std::string& hint = {}) {
  throw Error(ErrorCode::kConfig, where + ": " + what, hint);
}

}  // namespace

std::string format_double(double value) {
  char buffer[64];
  auto result = std::to_chars(buffer, buffer + sizeof(buffer), value);
  return std::string(buffer, result.ptr);
}

std::int64_t ParamSpec::levels() const {
  if (type != ParamType::kInt) return 0;
  return static_cast<std::int64_t>(std::floor((high - low) / static_cast<double>(step) + 1e-9)) + 1;
}

SearchSpace::SearchSpace(std::vector<ParamSpec> params) : params_(std::move(params)) {
  for (std::size_t i = 0; i < params_.size(); ++i) {
    const auto& p = params_[i];
    const std::string where = "space." + p.key;
    if (p.key.empty()) bad("space", "a parameter has an empty key");
    for (std::size_t j = 0; j < i; ++j)
      if (params_[j].key == p.key) bad(where, "is listed twice");
    switch (p.type) {
      case ParamType::kFloat:
      case ParamType::kInt:
        if (!std::isfinite(p.low) || !std::isfinite(p.high) || !(p.low < p.high))
          bad(where, "needs finite low < high (got low=" + format_double(p.low) + ", high=" + format_double(p.high) + ")");
        if (p.log && p.low <= 0) bad(where, "log: true needs low > 0");
        if (p.type == ParamType::kInt) {
          if (p.low != std::floor(p.low) || p.high != std::floor(p.high)) bad(where, "int bounds must be whole numbers");
          if (p.step < 1) bad(where, "step must be >= 1");
        }
        break;
      case ParamType::kCategorical:
        if (p.choices.size() < 2) bad(where, "a categorical needs at least 2 choices");
        for (std::size_t a = 0; a < p.choices.size(); ++a)
          for (std::size_t b = a + 1; b < p.choices.size(); ++b)
            if (p.choices[a] == p.choices[b]) bad(where, "choice '" + p.choices[a] + "' is listed twice");
        break;
    }
    offsets_.push_back(dims_);
    dims_ += p.dims();
  }
}

SearchSpace SearchSpace::from_yaml(const YAML::Node& space, const std::string& where) {
  if (!space.IsDefined() || space.IsNull() || !space.IsMap() || space.size() == 0)
    bad(where, "must be a non-empty map of key: {type: float|int|categorical, ...}");
  std::vector<ParamSpec> params;
  for (const auto& item : space) {
    ParamSpec p;
    p.key = item.first.as<std::string>();
    const std::string at = where + "." + p.key;
    const YAML::Node& n = item.second;
    if (!n.IsMap()) bad(at, "must be a map such as {type: float, low: 0.1, high: 1}");
    for (const auto& field : n) {
      static const char* known[] = {"type", "low", "high", "log", "step", "choices"};
      const auto name = field.first.as<std::string>();
      if (std::find(std::begin(known), std::end(known), name) == std::end(known))
        bad(at, "unknown field '" + name + "'", "fields are type, low, high, log, step, choices");
    }
    if (!n["type"]) bad(at, "has no 'type'", "use type: float, int or categorical");
    const auto type = n["type"].as<std::string>();
    try {
      if (type == "float" || type == "int") {
        p.type = type == "float" ? ParamType::kFloat : ParamType::kInt;
        if (!n["low"] || !n["high"]) bad(at, "needs 'low' and 'high'");
        p.low = n["low"].as<double>();
        p.high = n["high"].as<double>();
        if (n["log"]) p.log = n["log"].as<bool>();
        if (n["step"]) {
          if (p.type != ParamType::kInt) bad(at, "'step' is only for type: int");
          p.step = n["step"].as<std::int64_t>();
        }
        if (n["choices"]) bad(at, "'choices' is only for type: categorical");
      } else if (type == "categorical") {
        p.type = ParamType::kCategorical;
        if (!n["choices"] || !n["choices"].IsSequence()) bad(at, "needs a 'choices' list");
        for (const auto& c : n["choices"]) p.choices.push_back(c.as<std::string>());
        if (n["low"] || n["high"] || n["log"] || n["step"]) bad(at, "low/high/log/step do not apply to a categorical");
      } else {
        bad(at, "unknown type '" + type + "'", "use float, int or categorical");
      }
    } catch (const YAML::Exception& e) {
      bad(at, std::string("has a value of the wrong type (") + e.what() + ")");
    }
    params.push_back(std::move(p));
  }
  return SearchSpace(std::move(params));
}

Eigen::VectorXd SearchSpace::encode(const ParamSet& values) const {
  FACEAGE_CHECK(values.size() == params_.size(), ErrorCode::kInvalidArgument,
                "a parameter set has " << values.size() << " values but the space has " << params_.size());
  Eigen::VectorXd u = Eigen::VectorXd::Zero(dims_);
  for (std::size_t i = 0; i < params_.size(); ++i) {
    const auto& p = params_[i];
    const int o = offsets_[i];
    switch (p.type) {
      case ParamType::kFloat: u[o] = to_unit(p, std::get<double>(values[i]), p.high); break;
      case ParamType::kInt: u[o] = to_unit(p, static_cast<double>(std::get<std::int64_t>(values[i])), int_high(p)); break;
      case ParamType::kCategorical: {
        const auto& s = std::get<std::string>(values[i]);
        auto it = std::find(p.choices.begin(), p.choices.end(), s);
        FACEAGE_CHECK(it != p.choices.end(), ErrorCode::kInvalidArgument, "space." << p.key << ": '" << s << "' is not a choice");
        u[o + (it - p.choices.begin())] = 1.0;
        break;
      }
    }
  }
  return u;
}

ParamSet SearchSpace::decode(const Eigen::VectorXd& u) const {
  FACEAGE_CHECK(u.size() == dims_, ErrorCode::kInvalidArgument, "an encoded point has " << u.size() << " dims, expected " << dims_);
  ParamSet out;
  out.reserve(params_.size());
  for (std::size_t i = 0; i < params_.size(); ++i) {
    const auto& p = params_[i];
    const int o = offsets_[i];
    switch (p.type) {
      case ParamType::kFloat: out.emplace_back(from_unit(p, u[o], p.high)); break;
      case ParamType::kInt: out.emplace_back(round_to_grid(p, from_unit(p, u[o], int_high(p)))); break;
      case ParamType::kCategorical: {
        Eigen::Index best = 0;
        u.segment(o, p.dims()).maxCoeff(&best);
        out.emplace_back(p.choices[static_cast<std::size_t>(best)]);
        break;
      }
    }
  }
  return out;
}

ParamSet SearchSpace::sample(std::mt19937_64& rng) const {
  std::uniform_real_distribution<double> unit(0.0, 1.0);
  ParamSet out;
  out.reserve(params_.size());
  for (const auto& p : params_) {
    switch (p.type) {
      case ParamType::kFloat: out.emplace_back(from_unit(p, unit(rng), p.high)); break;
      case ParamType::kInt:
        if (p.log) {
          out.emplace_back(round_to_grid(p, from_unit(p, unit(rng), int_high(p))));
        } else {
          std::uniform_int_distribution<std::int64_t> level(0, p.levels() - 1);
          out.emplace_back(static_cast<std::int64_t>(p.low) + level(rng) * p.step);
        }
        break;
      case ParamType::kCategorical: {
        std::uniform_int_distribution<std::size_t> pick(0, p.choices.size() - 1);
        out.emplace_back(p.choices[pick(rng)]);
        break;
      }
    }
  }
  return out;
}

std::string SearchSpace::format(std::size_t param, const ParamValue& value) const {
  (void)param;
  if (auto* d = std::get_if<double>(&value)) return format_double(*d);
  if (auto* i = std::get_if<std::int64_t>(&value)) return std::to_string(*i);
  return std::get<std::string>(value);
}

std::string SearchSpace::canonical(const ParamSet& values) const {
  std::string out;
  for (std::size_t i = 0; i < values.size() && i < params_.size(); ++i) {
    if (i) out += '\x1f';
    out += format(i, values[i]);
  }
  return out;
}

nlohmann::json SearchSpace::to_json(const ParamSet& values) const {
  nlohmann::json out = nlohmann::json::object();
  for (std::size_t i = 0; i < params_.size(); ++i) {
    std::visit([&](const auto& v) { out[params_[i].key] = v; }, values.at(i));
  }
  return out;
}

ParamSet SearchSpace::from_json(const nlohmann::json& object) const {
  FACEAGE_CHECK(object.is_object(), ErrorCode::kConfig, "trial parameters must be a JSON object");
  ParamSet out;
  for (const auto& p : params_) {
    auto it = object.find(p.key);
    FACEAGE_CHECK(it != object.end(), ErrorCode::kConfig, "trial parameters lack '" << p.key << "'");
    switch (p.type) {
      case ParamType::kFloat:
        FACEAGE_CHECK(it->is_number(), ErrorCode::kConfig, "trial parameter '" << p.key << "' is not a number");
        out.emplace_back(it->get<double>());
        break;
      case ParamType::kInt:
        FACEAGE_CHECK(it->is_number_integer(), ErrorCode::kConfig, "trial parameter '" << p.key << "' is not an integer");
        out.emplace_back(it->get<std::int64_t>());
        break;
      case ParamType::kCategorical:
        FACEAGE_CHECK(it->is_string(), ErrorCode::kConfig, "trial parameter '" << p.key << "' is not a string");
        out.emplace_back(it->get<std::string>());
        break;
    }
  }
  try {
    validate(out);
  } catch (const Error& e) {
    throw Error(ErrorCode::kConfig, e.what(), "the study's search space changed since the trial was recorded?");
  }
  return out;
}

void SearchSpace::validate(const ParamSet& values) const {
  FACEAGE_CHECK(values.size() == params_.size(), ErrorCode::kInvalidArgument,
                "a parameter set has " << values.size() << " values but the space has " << params_.size());
  for (std::size_t i = 0; i < params_.size(); ++i) {
    const auto& p = params_[i];
    switch (p.type) {
      case ParamType::kFloat: {
        const double* v = std::get_if<double>(&values[i]);
        FACEAGE_CHECK(v && *v >= p.low && *v <= p.high, ErrorCode::kInvalidArgument,
                      "space." << p.key << ": value is not a float in [" << p.low << ", " << p.high << "]");
        break;
      }
      case ParamType::kInt: {
        const auto* v = std::get_if<std::int64_t>(&values[i]);
        FACEAGE_CHECK(v && *v >= p.low && *v <= p.high && (*v - static_cast<std::int64_t>(p.low)) % p.step == 0,
                      ErrorCode::kInvalidArgument, "space." << p.key << ": value is not on the integer grid");
        break;
      }
      case ParamType::kCategorical: {
        const auto* v = std::get_if<std::string>(&values[i]);
        FACEAGE_CHECK(v && std::find(p.choices.begin(), p.choices.end(), *v) != p.choices.end(),
                      ErrorCode::kInvalidArgument, "space." << p.key << ": value is not one of the choices");
        break;
      }
    }
  }
}

}  // namespace faceage::tune
