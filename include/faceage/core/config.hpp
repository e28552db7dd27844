#pragma once
// YAML configuration: defaults <- file <- `--set key=value` overrides, with a resolved dump.
// Keys are dotted paths ("train.optimizer.lr"). Typed getters name the key in their errors.
#include <string>
#include <vector>

#include <nlohmann/json.hpp>
#include <yaml-cpp/yaml.h>

#include "faceage/core/error.hpp"

namespace faceage {

class Config {
 public:
  Config();  // an empty map
  explicit Config(YAML::Node root);

  static Config from_file(const std::string& path);      // kNotFound / kConfig
  static Config from_string(const std::string& yaml);    // kConfig

  // Deep-merges `overlay` into this config: maps merge key by key, everything else replaces.
  void merge(const Config& overlay);
  // Sets a dotted key; `value` is parsed as YAML ("3" -> int, "[1,2]" -> list, "a" -> string).
  void set(const std::string& dotted_key, const std::string& value);
  // Applies "key=value" strings (from --set); a string without '=' is kInvalidArgument.
  void apply_overrides(const std::vector<std::string>& assignments);

  bool has(const std::string& dotted_key) const;
  // Typed read; a missing key or a value of the wrong type is kConfig naming the key.
  template <class T>
  T get(const std::string& dotted_key) const;
  template <class T>
  T get_or(const std::string& dotted_key, const T& fallback) const {
    return has(dotted_key) ? get<T>(dotted_key) : fallback;
  }
  // The sub-tree under a key (an empty config when missing).
  Config sub(const std::string& dotted_key) const;
  // Top-level keys of a map (empty for a non-map).
  std::vector<std::string> keys() const;

  // JSON view (scalars typed as int, float, bool or string; null stays null) and back.
  nlohmann::json to_json() const;
  static Config from_json(const nlohmann::json& json);

  std::string dump() const;                 // YAML text, keys in insertion order
  void save(const std::string& path) const;  // atomically (temp file + rename)
  const YAML::Node& node() const { return root_; }

 private:
  YAML::Node lookup(const std::string& dotted_key) const;  // invalid node when missing
  YAML::Node root_;
};

template <class T>
T Config::get(const std::string& dotted_key) const {
  YAML::Node node = lookup(dotted_key);
  if (!node.IsDefined() || node.IsNull()) {
    throw Error(ErrorCode::kConfig, "config key '" + dotted_key + "' is missing",
                "set it in the config file or with --set " + dotted_key + "=VALUE");
  }
  try {
    return node.as<T>();
  } catch (const YAML::Exception&) {
    throw Error(ErrorCode::kConfig, "config key '" + dotted_key + "' has a value of the wrong type: " +
                                        YAML::Dump(node));
  }
}

}  // namespace faceage
