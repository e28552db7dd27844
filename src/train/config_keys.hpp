#pragma once
// Reading one options sub-tree of the config: typed reads whose errors name the full key
// ("loss.sigma"), and a check that rejects misspelt keys instead of silently ignoring them.
#include <algorithm>
#include <string>
#include <vector>

#include "faceage/core/config.hpp"
#include "faceage/core/registry.hpp"

namespace faceage::train::detail {

inline std::string full_key(const std::string& prefix, const std::string& key) {
  return prefix.empty() ? key : prefix + "." + key;
}

// Throws kConfig for a key of `config` that is not in `known`, listing the known ones.
inline void check_known_keys(const Config& config, const std::string& prefix, const std::vector<std::string>& known) {
  for (const auto& key : config.keys()) {
    if (std::find(known.begin(), known.end(), key) == known.end()) {
      auto sorted = known;
      std::sort(sorted.begin(), sorted.end());
      throw Error(ErrorCode::kConfig, "unknown config key '" + full_key(prefix, key) + "'",
                  (prefix.empty() ? std::string("known top-level keys: ") : "known keys under '" + prefix + "': ") +
                      join(sorted, ", "));
    }
  }
}

// Reads `key` into `out` when present; a wrong type is kConfig naming prefix.key.
template <class T>
void read(const Config& config, const std::string& prefix, const std::string& key, T& out) {
  if (!config.has(key)) return;
  try {
    out = config.get<T>(key);
  } catch (const Error& e) {
    throw Error(ErrorCode::kConfig, "config key '" + full_key(prefix, key) + "' has a missing or wrongly typed value",
                e.what());
  }
}

}  // namespace faceage::train::detail
