#pragma once
// `faceage train`: a manifest pair (train, val) + a config -> a run directory with
// config.resolved.yaml, metrics.jsonl, last.fab and best.fab bundles, and resumable state.
//
// Resuming: re-running into the same run directory (or --resume) continues from the last
// checkpoint. Every random draw is derived from (seed, epoch, step), so a run killed with SIGKILL
// and resumed ends with the same weights and metrics as an uninterrupted run with the same seed
// (on CPU with the same thread count).
#include <atomic>
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "faceage/core/config.hpp"
#include "faceage/core/context.hpp"
#include "faceage/train/distributed.hpp"

namespace faceage::train {

// Every training key with its default; `faceage train` merges the user's file and --set over it.
Config default_train_config();

// Throws kConfig naming a key the trainer does not know (top level, data.*, train.*, model.*,
// preprocess.*), e.g. 'optim.lr' for 'optimizer.lr', and reads the schedule, loss, optimizer and
// distill sections, so an unknown schedule, age loss or optimizer name (or a key that kind lacks)
// is kConfig here too.
void check_train_config_keys(const Config& config);

// default_train_config() <- the YAML file <- `key=value` overrides, keys checked: what `faceage
// train --config FILE --set ...` runs, and what `faceage tune` checks a study's trials against.
Config resolve_train_config(const std::string& config_file, const std::vector<std::string>& overrides);

struct TrainHooks {
  // Set to true (e.g. from a SIGINT handler) to checkpoint at the next step and stop (kCancelled).
  const std::atomic<bool>* stop_requested = nullptr;
  // Called after each epoch with its metrics line; return false to stop the run (tuner pruning).
  std::function<bool(const nlohmann::json& epoch_metrics)> on_epoch_end;
  bool progress = true;  // progress bar on a terminal
  // Fault injection for crash-recovery tests: raise SIGKILL right after this global step
  // (-1: never), on rank `kill_rank` only (-1: every rank). The CLI reads them from
  // FACEAGE_FAULT_KILL_AFTER_STEP and FACEAGE_FAULT_KILL_RANK.
  std::int64_t kill_after_step = -1;
  int kill_rank = -1;
  // This process's place in a data-parallel job (the default: alone). All ranks must see the same
  // run directory (shared storage across hosts): rank 0 writes it, every rank resumes from it.
  DistributedOptions distributed;
};

struct TrainSummary {
  std::string run_dir;
  int epochs_done = 0;
  int best_epoch = -1;
  double best_val_mae = 0;              // val MAE of the best epoch
  std::string selection_metric = "val_mae";  // what chose the best epoch (early_stopping.metric)
  double best_metric = 0;               // its value at the best epoch
  bool stopped_early = false;
  bool resumed = false;
  std::string best_bundle, last_bundle;
};

// `config` is the full config (defaults already merged). kConfig for bad keys; kCancelled when
// stopped through hooks.stop_requested (state saved first).
TrainSummary train(const Config& config, const std::string& run_dir, const Context& context,
                   const TrainHooks& hooks = {});

}  // namespace faceage::train
