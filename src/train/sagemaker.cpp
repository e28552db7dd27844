// SPDX-License-Identifier: Apache-2.0
#include "faceage/train/sagemaker.hpp"

#include <algorithm>
#include <cctype>
#include <filesystem>
#include <fstream>

#include <unistd.h>  // environ

#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>

#include "faceage/core/check.hpp"
#include "faceage/core/fs.hpp"

namespace faceage::train {

namespace fs = std::filesystem;

namespace {

std::string env_or(const std::map<std::string, std::string>& environment, const std::string& key,
                   const std::string& fallback) {
  const auto it = environment.find(key);
  return it != environment.end() && !it->second.empty() ? it->second : fallback;
}

void write_failure(const std::string& failure_file, const std::string& reason) {
  std::error_code ec;
  fs::create_directories(fs::path(failure_file).parent_path(), ec);
  std::ofstream(failure_file) << reason << "\n";
}

}  // namespace

std::map<std::string, std::string> sagemaker_environment() {
  std::map<std::string, std::string> environment;
  for (char** entry = environ; *entry != nullptr; ++entry) {
    const std::string text(*entry);
    const auto eq = text.find('=');
    if (eq == std::string::npos) continue;
    const std::string key = text.substr(0, eq);
    if (key.rfind("SM_", 0) == 0) environment[key] = text.substr(eq + 1);
    if (key == "FACEAGE_SAGEMAKER_ROOT") environment["SAGEMAKER_ROOT"] = text.substr(eq + 1);
  }
  return environment;
}

std::string installed_share_dir() {
  const fs::path exe_dir = executable_dir();
  const fs::path installed = exe_dir / ".." / "share" / "faceage";
  std::error_code ec;
  return (fs::exists(installed, ec) ? installed : exe_dir / "..").lexically_normal().string();
}

SageMakerPaths sagemaker_paths(const std::string& root, const std::map<std::string, std::string>& environment) {
  const fs::path base(!root.empty() ? root : env_or(environment, "SAGEMAKER_ROOT", "/opt/ml"));
  SageMakerPaths paths;
  const fs::path config_dir = env_or(environment, "SM_INPUT_CONFIG_DIR", (base / "input" / "config").string());
  paths.hyperparameters = (config_dir / "hyperparameters.json").string();
  const fs::path data_dir = env_or(environment, "SM_INPUT_DATA_DIR", (base / "input" / "data").string());
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(data_dir, ec)) {
    if (entry.is_directory()) paths.channels[entry.path().filename().string()] = entry.path().string();
  }
  for (const auto& [key, value] : environment) {  // SM_CHANNEL_TRAIN=/somewhere
    if (key.rfind("SM_CHANNEL_", 0) == 0 && key.size() > 11 && !value.empty()) {
      std::string name = key.substr(11);
      std::transform(name.begin(), name.end(), name.begin(), [](unsigned char c) { return std::tolower(c); });
      paths.channels[name] = value;
    }
  }
  paths.checkpoints = env_or(environment, "SM_CHECKPOINT_DIR", (base / "checkpoints").string());
  paths.model_dir = env_or(environment, "SM_MODEL_DIR", (base / "model").string());
  paths.output_dir = env_or(environment, "SM_OUTPUT_DATA_DIR", (base / "output" / "data").string());
  paths.failure_file = (base / "output" / "failure").string();
  return paths;
}

Config sagemaker_train_config(const SageMakerPaths& paths, const std::string& share_dir) {
  nlohmann::json hyperparameters = nlohmann::json::object();
  if (fs::exists(paths.hyperparameters)) {
    try {
      hyperparameters = nlohmann::json::parse(read_file_text(paths.hyperparameters));
    } catch (const nlohmann::json::exception& e) {
      throw Error(ErrorCode::kConfig, "'" + paths.hyperparameters + "' is not JSON: " + e.what());
    }
    FACEAGE_CHECK(hyperparameters.is_object(), ErrorCode::kConfig, "'" << paths.hyperparameters << "' must hold an object");
  }
  std::string config_file;
  std::vector<std::string> overrides;
  for (const auto& [key, value] : hyperparameters.items()) {
    // SageMaker writes every value as a string; anything else is taken as the JSON it is.
    const std::string text = value.is_string() ? value.get<std::string>() : value.dump();
    if (key == "config") {
      config_file = text;
    } else if (key.rfind("sagemaker_", 0) != 0) {  // SageMaker's own (sagemaker_program, ...)
      overrides.push_back(key + "=" + text);
    }
  }
  auto channel_manifest = [&](const std::string& name) -> std::string {
    const auto it = paths.channels.find(name);
    return it == paths.channels.end() ? std::string() : (fs::path(it->second) / "manifest.csv").string();
  };
  const std::string train_manifest = channel_manifest("train");
  const std::string val_manifest = channel_manifest("validation");
  std::vector<std::string> data;  // channels first, so explicit hyperparameters win
  if (!train_manifest.empty()) data.push_back("data.train=" + train_manifest);
  if (!val_manifest.empty()) data.push_back("data.val=" + val_manifest);
  if (paths.channels.count("cache")) data.push_back("data.cache_dir=" + paths.channels.at("cache"));
  else data.push_back("data.cache_dir=" + (fs::path(paths.checkpoints) / "crop-cache").string());
  overrides.insert(overrides.begin(), data.begin(), data.end());
  Config config = default_train_config();
  if (!config_file.empty()) {
    fs::path file(config_file);
    if (file.is_relative() && !fs::exists(file)) file = fs::path(share_dir) / file;
    config.merge(Config::from_file(file.string()));
  }
  config.apply_overrides(overrides);
  check_train_config_keys(config);
  FACEAGE_CHECK(!config.get<std::string>("data.train").empty() && !config.get<std::string>("data.val").empty(),
                ErrorCode::kConfig,
                "no training data: give channels 'train' and 'validation' (each with manifest.csv) or data.train/data.val");
  return config;
}

int run_sagemaker_training(const SageMakerPaths& paths, const std::string& share_dir, const Context& context,
                           const TrainHooks& hooks) {
  try {
    const Config config = sagemaker_train_config(paths, share_dir);
    fs::create_directories(paths.checkpoints);
    const auto summary = train(config, paths.checkpoints, context, hooks);
    fs::create_directories(paths.model_dir);
    fs::copy_file(summary.best_bundle, fs::path(paths.model_dir) / "model.fab", fs::copy_options::overwrite_existing);
    const nlohmann::json metrics = {{"best_epoch", summary.best_epoch},
                                    {"best_val_mae", summary.best_val_mae},
                                    {"epochs_done", summary.epochs_done},
                                    {"stopped_early", summary.stopped_early},
                                    {"resumed", summary.resumed}};
    write_file_atomic((fs::path(paths.model_dir) / "metrics.json").string(), metrics.dump(2) + "\n");
    if (context.logger) {
      context.logger->info("sagemaker: model.fab (best val MAE {:.3f} at epoch {}) in {}", summary.best_val_mae,
                           summary.best_epoch, paths.model_dir);
    }
    return 0;
  } catch (const Error& e) {
    write_failure(paths.failure_file, e.what());  // "message (hint)"
    throw;
  } catch (const std::exception& e) {
    write_failure(paths.failure_file, std::string("internal error: ") + e.what());
    throw;
  }
}

}  // namespace faceage::train
