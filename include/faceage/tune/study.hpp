#pragma once
// A hyperparameter study: a search space over training-config keys, a strategy, a pruner and a
// budget of trials, each trial an ordinary training run started as a subprocess (trial_runner.hpp).
// Everything durable lives in STUDY_DIR:
//   study.yaml      the study config, with base_config and workdir made absolute (resume reads it)
//   study.db        trials, states, per-epoch metrics (study_store.hpp)
//   trials/trial_NNNN/   each trial's run directory (metrics.jsonl, trial.log, ...)
//   trials.csv, best.yaml, best_so_far.png, slices.png   outputs, rewritten at the end
// Resume: trials that were running when the tuner died are restarted from scratch with the same
// parameters (same number, run directory cleared); complete, pruned and failed trials are kept.
#include <csignal>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include <yaml-cpp/yaml.h>

#include "faceage/tune/pruner.hpp"
#include "faceage/tune/search_space.hpp"
#include "faceage/tune/strategy.hpp"
#include "faceage/tune/study_store.hpp"

namespace spdlog {
class logger;
}

namespace faceage::tune {

struct StudyConfig {
  std::string name = "study";
  std::string metric = "val_mae";  // key read from each metrics.jsonl line
  bool maximize = false;           // mode: min | max
  int trials = 20;                 // budget: every trial counts (complete, pruned, failed)
  int parallel = 1;
  std::string strategy = "gp-ei";
  std::uint64_t seed = 0;
  std::string base_config;                                // training config the trials start from
  std::vector<std::pair<std::string, std::string>> fixed;  // key -> value (YAML text), for every trial
  SearchSpace space;
  PrunerOptions pruner;
  StrategyOptions strategy_options;                       // study.initial_points, study.xi
  std::vector<std::string> command = {};                  // empty: default_trial_command()
  std::string workdir;                                    // trials run here; relative paths resolve here
  double poll_interval_s = 0.5;
  double kill_grace_s = 10.0;

  // Parses a whole study file; errors are kConfig naming the key ("study.trials", "space.optim.lr").
  static StudyConfig from_yaml(const YAML::Node& root);
  // "--set" style assignments for a trial: fixed values, then the trial's parameters.
  std::vector<std::string> overrides(const ParamSet& params) const;
  // The trial's parameters alone (no fixed values): what a full-length run of it takes.
  std::vector<std::string> parameter_overrides(const ParamSet& params) const;
};

// Checks and writes a new study into study_dir (created if needed): base_config and workdir are
// made absolute (relative to the current directory). kInvalidArgument when study_dir already has
// a study (hint: --resume).
void create_study(const std::string& study_dir, YAML::Node root);
// Reads STUDY_DIR/study.yaml (kNotFound when study_dir holds no study).
YAML::Node load_study_yaml(const std::string& study_dir);

struct StudyRunOptions {
  std::string study_dir;
  std::string executable;     // {faceage} in the command template
  int trials = 0;             // > 0: change the budget (saved to study.yaml)
  int parallel = 0;           // > 0: change the number of workers (saved to study.yaml)
  const volatile std::sig_atomic_t* stop = nullptr;  // set by a signal handler: stop and keep state
  std::shared_ptr<spdlog::logger> logger;             // null: quiet
  std::function<void(const TrialRecord&)> on_trial_done;
};

struct StudyResult {
  StudyConfig config;
  std::vector<TrialRecord> trials;
  std::optional<std::size_t> best;  // index into trials
  int complete = 0, pruned = 0, failed = 0;
  std::vector<std::string> outputs;  // files written
};

// Runs (or continues) the study in options.study_dir until the budget is spent or the space is
// exhausted, then writes the outputs. Holds STUDY_DIR/.lock (kInvalidArgument when another tuner
// has it). A stop request terminates running trials, leaves them to be restarted on resume, and
// throws kCancelled.
StudyResult run_study(const StudyRunOptions& options);

// Reads the study's state and writes trials.csv, best.yaml and the plots (also done by run_study).
StudyResult write_study_outputs(const std::string& study_dir);

// A text table: counts, best trial and the top `rows` trials.
std::string format_study_summary(const StudyResult& result, std::size_t rows = 10);

// One best-so-far series per study (e.g. a gp-ei and a random study at equal budget) in one PNG.
void write_comparison_plot(const std::vector<std::string>& study_dirs, const std::string& png);

}  // namespace faceage::tune
