#include "faceage/monitor/profile.hpp"

#include <cmath>
#include <numeric>

#include "faceage/core/check.hpp"
#include "faceage/core/fs.hpp"
#include "faceage/monitor/drift_stats.hpp"
#include "faceage/monitor/time.hpp"

namespace faceage::monitor {

FeatureProfile profile_feature(const std::vector<double>& values, const ProfileOptions& options) {
  FACEAGE_CHECK(!values.empty(), ErrorCode::kInvalidArgument, "a feature profile needs at least one value");
  FeatureProfile p;
  p.count = values.size();
  const double n = static_cast<double>(values.size());
  p.mean = std::accumulate(values.begin(), values.end(), 0.0) / n;
  double squares = 0.0;
  for (double v : values) squares += (v - p.mean) * (v - p.mean);
  p.std = std::sqrt(squares / n);
  p.cuts = quantile_cuts(values, options.bins);
  p.fractions = bin_fractions(p.cuts, values);
  p.quantiles = quantile_summary(values, options.quantiles);
  return p;
}

ReferenceProfile build_reference_profile(const std::vector<LoggedFace>& faces, const std::string& source,
                                         const ProfileOptions& options) {
  FACEAGE_CHECK(!faces.empty(), ErrorCode::kInvalidArgument, "a reference profile needs at least one face");
  ReferenceProfile profile;
  profile.source = source;
  profile.created_at = format_iso8601(unix_now());
  for (const auto& [name, values] : feature_values(faces))
    if (!values.empty()) profile.features[name] = profile_feature(values, options);
  return profile;
}

nlohmann::json to_json(const ReferenceProfile& profile) {
  nlohmann::json features = nlohmann::json::object();
  for (const auto& [name, p] : profile.features)
    features[name] = {{"count", p.count}, {"mean", p.mean},           {"std", p.std},
                      {"cuts", p.cuts},   {"fractions", p.fractions}, {"quantiles", p.quantiles}};
  return {{"format", kProfileFormat}, {"format_version", 1}, {"source", profile.source},
          {"created_at", profile.created_at}, {"features", features}};
}

ReferenceProfile reference_profile_from_json(const nlohmann::json& json) {
  FACEAGE_CHECK(json.is_object() && json.value("format", "") == kProfileFormat, ErrorCode::kConfig,
                "not a reference profile (format is not \"" << kProfileFormat << "\")");
  ReferenceProfile profile;
  std::string key;
  try {
    key = "source";
    profile.source = json.value("source", "");
    key = "created_at";
    profile.created_at = json.value("created_at", "");
    key = "features";
    for (const auto& [name, f] : json.at("features").items()) {
      key = "features." + name;
      FeatureProfile p;
      p.count = f.at("count").get<std::size_t>();
      p.mean = f.at("mean").get<double>();
      p.std = f.at("std").get<double>();
      p.cuts = f.at("cuts").get<std::vector<double>>();
      p.fractions = f.at("fractions").get<std::vector<double>>();
      p.quantiles = f.at("quantiles").get<std::vector<double>>();
      FACEAGE_CHECK(p.count > 0 && p.fractions.size() == p.cuts.size() + 1 && p.quantiles.size() >= 2,
                    ErrorCode::kConfig,
                    "reference profile: " << key << " needs count > 0, one more fraction than cuts and >= 2 quantiles");
      profile.features[name] = std::move(p);
    }
  } catch (const nlohmann::json::exception& e) {
    throw Error(ErrorCode::kConfig, "reference profile: " + key + " is missing or malformed: " + e.what());
  }
  return profile;
}

ReferenceProfile load_reference_profile(const std::string& path) {
  const std::string text = read_file_text(path);
  try {
    return reference_profile_from_json(nlohmann::json::parse(text));
  } catch (const nlohmann::json::parse_error& e) {
    throw Error(ErrorCode::kConfig, path + " is not JSON: " + e.what());
  } catch (const Error& e) {
    throw Error(e.code(), path + ": " + e.what(), e.hint());
  }
}

void save_reference_profile(const ReferenceProfile& profile, const std::string& path) {
  write_file_atomic(path, to_json(profile).dump(1) + "\n");
}

std::optional<ReferenceProfile> reference_profile_of_bundle(const nlohmann::json& bundle_info) {
  if (!bundle_info.is_object() || !bundle_info.contains("metadata")) return std::nullopt;
  const auto& metadata = bundle_info["metadata"];
  if (!metadata.is_object() || !metadata.contains(kBundleProfileKey)) return std::nullopt;
  return reference_profile_from_json(metadata[kBundleProfileKey]);
}

}  // namespace faceage::monitor
