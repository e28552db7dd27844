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

// --minor-gate / --coverage / --unreliable-below / --refuse-unreliable for commands that answer
// with the Predictor (defaults: infer::PredictorOptions).
struct AnswerFlags {
  double minor_gate = 18, coverage = 0.9, unreliable_below = 0.3;
  bool refuse_unreliable = false;
};
inline void add_answer_flags(CLI::App* cmd, AnswerFlags& flags) {
  cmd->add_option("--minor-gate", flags.minor_gate, "age gate of p_minor = P(age < gate)")->capture_default_str();
  cmd->add_option("--coverage", flags.coverage, "interval coverage (conformal when the model stores a calibration for it)")
      ->check(CLI::Range(0.01, 0.999))->capture_default_str();
  cmd->add_option("--unreliable-below", flags.unreliable_below, "quality score below which a face is flagged unreliable (above 1: every face, for checks)")
      ->check(CLI::Range(0.0, 2.0))->capture_default_str();
  cmd->add_flag("--refuse-unreliable", flags.refuse_unreliable,
                "drop unreliable faces; an image left with none is an error record (no_face)");
}

void add_version_command(CLI::App& app, CliState& state);
void add_data_command(CLI::App& app, CliState& state);
void add_predict_command(CLI::App& app, CliState& state);
void add_train_command(CLI::App& app, CliState& state);
void add_models_command(CLI::App& app, CliState& state);
void add_models_calibrate_command(CLI::App* models_cmd, CliState& state);  // models_calibrate.cpp
void add_models_average_command(CLI::App* models_cmd, CliState& state);    // models_average.cpp
void add_face_command(CLI::App& app, CliState& state);
void add_serve_command(CLI::App& app, CliState& state);
void add_eval_command(CLI::App& app, CliState& state);
void add_tune_command(CLI::App& app, CliState& state);
void add_registry_command(CLI::App& app, CliState& state);
void add_monitor_command(CLI::App& app, CliState& state);
void add_retrain_command(CLI::App& app, CliState& state);
void add_baseline_command(CLI::App& app, CliState& state);

}  // namespace faceage::cli
