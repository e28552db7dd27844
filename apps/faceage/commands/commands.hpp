#pragma once
// Each command file adds one subcommand: it parses flags, calls one library function and prints.
// The callbacks run after parsing; they set state.exit_code (errors propagate as faceage::Error
// and main() maps them to exit codes in one place).
#include <CLI/CLI.hpp>

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

void add_version_command(CLI::App& app, CliState& state);
void add_data_command(CLI::App& app, CliState& state);
void add_predict_command(CLI::App& app, CliState& state);
void add_train_command(CLI::App& app, CliState& state);
void add_models_command(CLI::App& app, CliState& state);
void add_face_command(CLI::App& app, CliState& state);
void add_serve_command(CLI::App& app, CliState& state);
void add_eval_command(CLI::App& app, CliState& state);
void add_tune_command(CLI::App& app, CliState& state);

}  // namespace faceage::cli
