// `faceage retrain --registry DIR --config C --data NEW_MANIFEST [--eval-data M] [--margin X] ...`:
// champion/challenger retraining over the model registry (lifecycle::retrain, docs/monitoring.md).
#include <cstdlib>
#include <iostream>

#include "commands/commands.hpp"
#include "faceage/lifecycle/retrain.hpp"
#include "faceage/models/tensor_io.hpp"

namespace faceage::cli {

void add_retrain_command(CLI::App& app, CliState& state) {
  auto options = std::make_shared<lifecycle::RetrainOptions>();
  auto no_promote = std::make_shared<bool>(false);
  auto* cmd = app.add_subcommand(
      "retrain", "train a challenger from the production model on old + new data; promote it only if it is better");
  cmd->add_option("--registry", options->registry_dir, "the model registry (its production version is the champion)")
      ->required();
  cmd->add_option("-c,--config", options->config_path, "training YAML (data.train and model.init_from are set for you)")
      ->required()
      ->check(CLI::ExistingFile);
  cmd->add_option("--set", options->overrides, "override a training config key (repeatable)");
  cmd->add_option("--data", options->new_data, "manifest of the new labelled images")->required();
  cmd->add_option("--eval-data", options->eval_data,
                  "fixed evaluation manifest both models answer (default: the champion's validation manifest)");
  cmd->add_option("--prediction-log", options->prediction_log,
                  "a server's prediction log: the champion's live accuracy on feedback goes into decision.json");
  cmd->add_option("--run-dir", options->run_dir, "where the challenger trains (default REGISTRY/retrain/v<N>-<time>)");
  cmd->add_option("--margin", options->rules.margin, "years the challenger's MAE must beat the champion's by")
      ->capture_default_str();
  cmd->add_option("--band-tolerance", options->rules.band_tolerance,
                  "years any age band or gender group may get worse")
      ->capture_default_str();
  cmd->add_option("--gender-tolerance", options->rules.gender_tolerance, "gender accuracy the challenger may lose")
      ->capture_default_str();
  cmd->add_option("--min-group", options->rules.min_group_count, "smallest band or group that is judged")
      ->capture_default_str();
  cmd->add_flag("--no-promote", *no_promote, "decide and register the challenger, but leave production unchanged");
  const char* user = std::getenv("USER");
  options->change.user = user && *user ? user : "unknown";
  cmd->add_option("--user", options->change.user, "who retrains (audit trail; default $USER)");
  cmd->add_option("--reason", options->change.reason, "why (audit trail)");
  cmd->callback([options, no_promote, &state] {
    options->promote = !*no_promote;
    Context context = state.make_context();
    models::configure_runtime(context);
    const auto result = lifecycle::retrain(*options, context);
    std::cout << "champion version " << result.champion_version << ", challenger version " << result.challenger_version
              << ": " << (result.decision["promoted"].get<bool>() ? "promoted" : "not promoted") << "\n";
    for (const auto& reason : result.reasons) std::cout << "  " << reason << "\n";
    std::cout << "wrote " << result.decision_path << "\n";
    state.exit_code = 0;
  });
}

}  // namespace faceage::cli
