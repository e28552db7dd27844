// `faceage train --config FILE [--set k=v]... [--run-dir DIR | --resume DIR]`
#include <csignal>
#include <cstdlib>
#include <iostream>

#include <spdlog/spdlog.h>

#include "commands/commands.hpp"
#include "faceage/core/config.hpp"
#include "faceage/lifecycle/reference.hpp"
#include "faceage/models/tensor_io.hpp"
#include "faceage/train/distributed.hpp"
#include "faceage/train/run_config.hpp"
#include "faceage/train/sagemaker.hpp"
#include "faceage/train/trainer.hpp"

namespace faceage::cli {

namespace {

// Set from the SIGINT/SIGTERM handler: signals leave no other way to reach the trainer.
std::atomic<bool>& stop_flag() {
  static std::atomic<bool> flag{false};
  return flag;
}

extern "C" void handle_stop_signal(int) { stop_flag().store(true); }

struct TrainArgs {
  std::string config;
  std::vector<std::string> overrides;
  std::string run_dir;
  std::string resume;
  bool print_config = false;
  bool sagemaker = false;
  std::string sagemaker_root;
  int nproc = 1;
  bool no_profile = false;
};

int run_train(const TrainArgs& args, const CliState& state) {
  std::string run_dir;
  const Config config =
      args.sagemaker ? Config() : train::resolve_run_config({args.config, args.overrides, args.run_dir, args.resume}, run_dir);
  if (args.print_config) {
    std::cout << config.dump();
    return 0;
  }
  if (args.nproc > 1) {
    // Each worker resolves the run directory itself, so a default one (named by the time) is fixed here.
    auto command = train::own_command_line_without_nproc();
    if (args.run_dir.empty() && args.resume.empty() && !args.sagemaker) command.insert(command.end(), {"--run-dir", run_dir});
    return train::run_local_workers(args.nproc, command);
  }
  Context context = state.make_context();
  models::configure_runtime(context);
  std::signal(SIGINT, handle_stop_signal);
  std::signal(SIGTERM, handle_stop_signal);
  train::TrainHooks hooks;
  hooks.stop_requested = &stop_flag();
  hooks.progress = !state.quiet;
  if (const char* kill_at = std::getenv("FACEAGE_FAULT_KILL_AFTER_STEP")) hooks.kill_after_step = std::atoll(kill_at);
  if (const char* kill_rank = std::getenv("FACEAGE_FAULT_KILL_RANK")) hooks.kill_rank = std::atoi(kill_rank);
  hooks.distributed = train::distributed_options_from_environment(train::torchrun_environment());
  if (args.sagemaker) {
    const auto paths = train::sagemaker_paths(args.sagemaker_root, train::sagemaker_environment());
    return train::run_sagemaker_training(paths, train::installed_share_dir(), context, hooks);
  }
  if (context.logger) context.logger->info("run directory: {}", run_dir);
  auto summary = train::train(config, run_dir, context, hooks);
  if (!hooks.distributed.is_main()) return 0;
  if (!args.no_profile && !config.get_or<std::string>("data.crops_of", "").empty()) {
    // Its val manifest holds exported crops, which the bundle's own pipeline would re-detect: the
    // profile would describe answers no photo gets.
    if (context.logger) {
      context.logger->info("no reference profile in best.fab (trained on a crop export): make it on photos with "
                           "`faceage monitor profile --model BUNDLE --data MANIFEST --embed`");
    }
  } else if (!args.no_profile) {
    // The drift reference a server uses for this model (docs/monitoring.md): its answers on val.
    const auto profile = lifecycle::embed_validation_profile(summary.best_bundle, context);
    if (context.logger) context.logger->info("reference profile in best.fab: {}", profile.source);
  }
  std::cout << "run " << summary.run_dir << ": " << summary.epochs_done << " epoch(s), best val MAE "
            << summary.best_val_mae << " at epoch " << summary.best_epoch
            << (summary.selection_metric == "val_mae" ? ""
                                                      : " (chosen by " + summary.selection_metric + " " +
                                                            std::to_string(summary.best_metric) + ")")
            << (summary.stopped_early ? " (stopped early)" : "")
            << "\nbest bundle: " << summary.best_bundle << "\n";
  return 0;
}

}  // namespace

void add_train_command(CLI::App& app, CliState& state) {
  auto args = std::make_shared<TrainArgs>();
  auto* cmd = app.add_subcommand("train", "train a model from manifests (resumable)");
  cmd->add_option("-c,--config", args->config, "training YAML (configs/train/*.yaml)");
  cmd->add_option("--set", args->overrides, "override a config key: --set train.epochs=5 (repeatable)");
  cmd->add_option("--run-dir", args->run_dir, "run directory (default ~/faceage-runs/<config>-<time>); resumes if it holds a run");
  cmd->add_option("--resume", args->resume, "resume the run in this directory with its saved config");
  cmd->add_flag("--print-config", args->print_config, "print the resolved config and exit");
  cmd->add_flag("--sagemaker", args->sagemaker,
                "run as a SageMaker training job (/opt/ml: hyperparameters.json, data channels, model/, failure)");
  cmd->add_option("--nproc", args->nproc, "start N local worker processes (data-parallel; see docs/scaling.md)")
      ->check(CLI::Range(1, 256));
  cmd->add_flag("--no-profile", args->no_profile,
                "do not embed the reference profile (the model's answers on the validation split) in best.fab");
  cmd->add_option("--sagemaker-root", args->sagemaker_root, "the /opt/ml root (default /opt/ml or $FACEAGE_SAGEMAKER_ROOT)");
  cmd->callback([args, &state] { state.exit_code = run_train(*args, state); });
}

}  // namespace faceage::cli
