#pragma once
// A reference profile: per monitored feature, what "normal" looked like (the validation split at
// training time, or a trusted window of the prediction log): fixed PSI bins with their reference
// fractions and a quantile summary standing in for the sample in KS and Wasserstein. It is JSON so
// that a bundle can carry it.
#include <cstddef>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "faceage/monitor/face_stats.hpp"

namespace faceage::monitor {

struct FeatureProfile {
  std::size_t count = 0;  // reference values (the KS p-value's n)
  double mean = 0, std = 0;
  std::vector<double> cuts;       // PSI bin cut points (see quantile_cuts)
  std::vector<double> fractions;  // reference fraction per bin (cuts.size() + 1)
  std::vector<double> quantiles;  // quantile_summary
};

struct ReferenceProfile {
  std::string source;      // what the profile was made from ("log FILE 2026-...", "val split of ...")
  std::string created_at;  // ISO 8601
  std::map<std::string, FeatureProfile> features;  // monitored feature name -> profile
};

struct ProfileOptions {
  int bins = 10;
  int quantiles = 101;
};

// kInvalidArgument for no values.
FeatureProfile profile_feature(const std::vector<double>& values, const ProfileOptions& options = {});
// Every monitored feature with at least one known value. kInvalidArgument when `faces` is empty.
ReferenceProfile build_reference_profile(const std::vector<LoggedFace>& faces, const std::string& source,
                                         const ProfileOptions& options = {});

inline constexpr const char* kProfileFormat = "faceage-reference-profile";
nlohmann::json to_json(const ReferenceProfile& profile);
// kConfig naming the key for anything malformed.
ReferenceProfile reference_profile_from_json(const nlohmann::json& json);
ReferenceProfile load_reference_profile(const std::string& path);  // kNotFound / kConfig
void save_reference_profile(const ReferenceProfile& profile, const std::string& path);  // atomic

// Where a bundle (or an ensemble file) carries its profile: metadata.reference_profile.
inline constexpr const char* kBundleProfileKey = "reference_profile";
// The profile in a bundle's JSON (models::read_bundle_info), if it has one; kConfig when malformed.
std::optional<ReferenceProfile> reference_profile_of_bundle(const nlohmann::json& bundle_info);

}  // namespace faceage::monitor
