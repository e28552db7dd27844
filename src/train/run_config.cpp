#include "faceage/train/run_config.hpp"

#include <cstdlib>
#include <ctime>
#include <filesystem>

#include "faceage/core/check.hpp"
#include "faceage/train/trainer.hpp"

namespace faceage::train {

namespace fs = std::filesystem;

namespace {

std::string default_run_dir(const std::string& config_path) {
  const char* home = std::getenv("HOME");
  char stamp[32];
  std::time_t now = std::time(nullptr);
  std::strftime(stamp, sizeof(stamp), "%Y%m%d-%H%M%S", std::localtime(&now));
  std::string stem = config_path.empty() ? "run" : fs::path(config_path).stem().string();
  return (fs::path(home ? home : ".") / "faceage-runs" / (stem + "-" + stamp)).string();
}

}  // namespace

std::string expand_home(const std::string& path) {
  if (!path.empty() && path[0] == '~') {
    const char* home = std::getenv("HOME");
    return std::string(home ? home : "") + path.substr(1);
  }
  return path;
}

Config resolve_run_config(const RunRequest& request, std::string& run_dir) {
  run_dir = request.resume_dir.empty() ? request.run_dir : request.resume_dir;
  Config config;
  if (!request.resume_dir.empty()) {
    FACEAGE_CHECK(fs::exists(fs::path(request.resume_dir) / "config.resolved.yaml"), ErrorCode::kNotFound,
                  "'" << request.resume_dir << "' is not a run directory (no config.resolved.yaml)");
    config = Config::from_file((fs::path(request.resume_dir) / "config.resolved.yaml").string());
  } else {
    FACEAGE_CHECK(!request.config_path.empty(), ErrorCode::kInvalidArgument,
                  "--config FILE, --resume RUN_DIR or --sagemaker is required");
    config = resolve_train_config(request.config_path, request.overrides);
    if (run_dir.empty()) run_dir = config.get_or<std::string>("run_dir", default_run_dir(request.config_path));
  }
  check_train_config_keys(config);
  return config;
}

}  // namespace faceage::train
