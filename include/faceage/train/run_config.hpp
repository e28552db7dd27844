#pragma once
// Which config and run directory a `faceage train` invocation means.
#include <string>
#include <vector>

#include "faceage/core/config.hpp"

namespace faceage::train {

struct RunRequest {
  std::string config_path;             // training YAML
  std::vector<std::string> overrides;  // key=value
  std::string run_dir;                 // "": the config's run_dir, else ~/faceage-runs/<config stem>-<local time>
  std::string resume_dir;              // a run directory to resume with its saved config.resolved.yaml
};

// The checked config of the run and, in `run_dir`, where it runs. kNotFound for a resume directory
// without config.resolved.yaml, kInvalidArgument without a config or a resume directory.
Config resolve_run_config(const RunRequest& request, std::string& run_dir);

// "~/x" -> "$HOME/x" (configs and flags name paths under the home folder); other paths unchanged.
std::string expand_home(const std::string& path);
// The aligned-crop cache when a config or flag names none (`faceage train`, `faceage baseline train`).
inline constexpr const char* kDefaultCropCacheDir = "~/.cache/faceage/crops";

}  // namespace faceage::train
