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

}  // namespace faceage::train
