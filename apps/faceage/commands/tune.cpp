// faceage tune: Bayesian hyperparameter optimisation over training runs (docs/tuning.md).
//   faceage tune --config configs/tune/X.yaml --study-dir DIR [--strategy S] [--trials N] [--parallel P] [--study-seed K]
//   faceage tune --resume DIR [--trials N] [--parallel P]
//   faceage tune --compare DIR1 DIR2 ... --out plot.png
#include <csignal>
#include <filesystem>
#include <iostream>

#include <yaml-cpp/yaml.h>

#include "commands/commands.hpp"
#include "faceage/core/error.hpp"
#include "faceage/train/trainer.hpp"
#include "faceage/tune/study.hpp"

namespace faceage::cli {
namespace {

// Signal handlers can only talk through a flag; the study loop polls it and stops cleanly.
volatile std::sig_atomic_t g_tune_stop = 0;
extern "C" void tune_on_signal(int) { g_tune_stop = 1; }

struct TuneArgs {
  std::string config, study_dir, resume, strategy, out;
  std::vector<std::string> compare;
  int trials = 0, parallel = 0;
  long long seed = -1;
};

// Trials of the default command are `faceage train` runs: a key the trainer does not know would
// fail every trial (or, once, was ignored by all of them), so check the keys before any trial runs.
void check_keys_for_trainer(const tune::StudyConfig& study, const std::string& study_file) {
  if (!study.command.empty()) return;  // a custom trial command reads its own config
  try {
    std::filesystem::path base = study.base_config;
    if (base.is_relative() && !study.workdir.empty()) base = std::filesystem::path(study.workdir) / base;
    std::vector<std::string> assignments;
    for (const auto& [key, value] : study.fixed) assignments.push_back(key + "=" + value);
    for (const auto& param : study.space.params()) assignments.push_back(param.key + "=0");  // names only
    train::resolve_train_config(base.string(), assignments);
  } catch (const Error& e) {
    throw Error(e.code(), study_file + ": " + e.what(), e.hint());
  }
}

}  // namespace

void add_tune_command(CLI::App& app, CliState& state) {
  auto args = std::make_shared<TuneArgs>();
  auto* cmd = app.add_subcommand("tune", "hyperparameter search over training runs (gp-ei or random), resumable");
  auto* config = cmd->add_option("--config", args->config, "study file (configs/tune/*.yaml)")->check(CLI::ExistingFile);
  cmd->add_option("--study-dir", args->study_dir, "where the study lives (default: runs/tune/<study.name>)");
  auto* resume = cmd->add_option("--resume", args->resume, "continue the study in this directory")->check(CLI::ExistingDirectory);
  auto* compare = cmd->add_option("--compare", args->compare, "study directories to plot best-so-far together")
                      ->check(CLI::ExistingDirectory);
  cmd->add_option("--out", args->out, "PNG for --compare (default: compare.png)");
  cmd->add_option("--strategy", args->strategy, "override study.strategy (gp-ei, random)");
  cmd->add_option("--trials", args->trials, "override study.trials (on resume: extend the budget)")->check(CLI::PositiveNumber);
  cmd->add_option("--parallel", args->parallel, "override study.parallel")->check(CLI::Range(1, 256));
  cmd->add_option("--study-seed", args->seed, "override study.seed")->check(CLI::NonNegativeNumber);
  config->excludes(resume)->excludes(compare);
  resume->excludes(compare);

  cmd->callback([args, &state] {
    if (!args->compare.empty()) {
      const std::string out = args->out.empty() ? "compare.png" : args->out;
      tune::write_comparison_plot(args->compare, out);
      std::cout << "wrote " << out << "\n";
      state.exit_code = 0;
      return;
    }
    if (args->config.empty() && args->resume.empty())
      throw Error(ErrorCode::kInvalidArgument, "faceage tune needs --config FILE or --resume STUDY_DIR",
                  "see faceage tune --help and docs/tuning.md");
    Context ctx = state.make_context();
    tune::StudyRunOptions options;
    if (!args->config.empty()) {
      YAML::Node root;
      try {
        root = YAML::LoadFile(args->config);
      } catch (const YAML::Exception& e) {
        throw Error(ErrorCode::kConfig, args->config + ": " + e.what());
      }
      if (!root.IsMap()) throw Error(ErrorCode::kConfig, args->config + ": a study file must be a map");
      if (!args->strategy.empty()) root["study"]["strategy"] = args->strategy;
      if (args->trials > 0) root["study"]["trials"] = args->trials;
      if (args->parallel > 0) root["study"]["parallel"] = args->parallel;
      if (args->seed >= 0) root["study"]["seed"] = args->seed;
      std::string dir = args->study_dir;
      const auto study = tune::StudyConfig::from_yaml(root);
      check_keys_for_trainer(study, args->config);
      if (dir.empty()) dir = "runs/tune/" + study.name;
      tune::create_study(dir, root);
      options.study_dir = dir;
    } else {
      if (!args->strategy.empty() || args->seed >= 0)
        throw Error(ErrorCode::kInvalidArgument, "--strategy and --study-seed cannot change a study being resumed",
                    "start a new study with --config");
      options.study_dir = args->resume;
      options.trials = args->trials;
      options.parallel = args->parallel;
    }
    std::error_code ec;
    options.executable = std::filesystem::read_symlink("/proc/self/exe", ec).string();
    options.logger = ctx.logger;
    options.stop = &g_tune_stop;
    g_tune_stop = 0;
    auto previous_int = std::signal(SIGINT, tune_on_signal);
    auto previous_term = std::signal(SIGTERM, tune_on_signal);
    try {
      const auto result = tune::run_study(options);
      std::signal(SIGINT, previous_int);
      std::signal(SIGTERM, previous_term);
      std::cout << tune::format_study_summary(result);
      for (const auto& f : result.outputs) std::cout << "wrote " << f << "\n";
      state.exit_code = result.complete > 0 ? kExitOk : kExitPartialFailure;
    } catch (...) {
      std::signal(SIGINT, previous_int);
      std::signal(SIGTERM, previous_term);
      throw;
    }
  });
}

}  // namespace faceage::cli
