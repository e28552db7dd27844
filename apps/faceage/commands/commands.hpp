#pragma once
// Each command file adds one subcommand: it parses flags, calls one library function and prints.
// The callbacks run after parsing; they set state.exit_code (errors propagate as faceage::Error
// and main() maps them to exit codes in one place).
#include <CLI/CLI.hpp>

#include <optional>
#include <string>
#include <vector>

#include "faceage/core/context.hpp"

namespace faceage::cli {

struct CliState {
  ContextOptions context_options;
  bool quiet = false;
  int exit_code = 0;
  // Built after parsing from context_options (see make_context()).
  Context make_context() const;
};

// --flip / --no-flip for commands that run models. Neither: the model file decides (an ensemble
// file records its own setting; a single bundle flips).
struct FlipFlags {
  bool flip = false, no_flip = false;
  std::optional<bool> choice() const {
    if (flip) return true;
    if (no_flip) return false;
    return std::nullopt;
  }
};
inline void add_flip_flags(CLI::App* cmd, FlipFlags& flags) {
  auto* on = cmd->add_flag("--flip", flags.flip, "average with the mirrored face (default: as the model file says; on for one bundle)");
  cmd->add_flag("--no-flip", flags.no_flip, "no test-time flip averaging")->excludes(on);
}

void add_version_command(CLI::App& app, CliState& state);
void add_data_command(CLI::App& app, CliState& state);
void add_predict_command(CLI::App& app, CliState& state);
void add_train_command(CLI::App& app, CliState& state);
void add_models_command(CLI::App& app, CliState& state);
void add_face_command(CLI::App& app, CliState& state);
void add_serve_command(CLI::App& app, CliState& state);
void add_eval_command(CLI::App& app, CliState& state);
void add_tune_command(CLI::App& app, CliState& state);
void add_registry_command(CLI::App& app, CliState& state);
void add_monitor_command(CLI::App& app, CliState& state);

}  // namespace faceage::cli
