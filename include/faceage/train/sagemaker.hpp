// SPDX-License-Identifier: Apache-2.0
#pragma once
// SageMaker's training contract (bring-your-own-container), so `faceage train --sagemaker` and the
// image's `train` entry point run as a SageMaker training job:
//   /opt/ml/input/config/hyperparameters.json  every value a string (SageMaker writes them so);
//       "config" names a training YAML (relative paths: against the image's share/faceage), every
//       other key is a config override ("train.epochs": "20", "optimizer.lr": "0.001")
//   /opt/ml/input/data/<channel>/manifest.csv  channels "train" and "validation" (file paths in a
//       manifest are relative to it, so a channel is a copied folder); "cache" optional
//   /opt/ml/checkpoints/                       the run directory (SageMaker syncs it: spot
//       interruptions resume from it)
//   /opt/ml/model/                             best bundle as model.fab + metrics.json
//   /opt/ml/output/failure                     the reason, when the job fails
// SM_MODEL_DIR, SM_CHANNEL_<NAME>, SM_OUTPUT_DATA_DIR, SM_INPUT_CONFIG_DIR and SM_CHECKPOINT_DIR
// override single places; the root (default /opt/ml, or FACEAGE_SAGEMAKER_ROOT) moves them all.
#include <map>
#include <string>

#include "faceage/core/config.hpp"
#include "faceage/core/context.hpp"
#include "faceage/train/trainer.hpp"

namespace faceage::train {

struct SageMakerPaths {
  std::string hyperparameters;            // .../input/config/hyperparameters.json
  std::map<std::string, std::string> channels;  // name -> directory (those that exist)
  std::string checkpoints, model_dir, output_dir, failure_file;
};

// From the root and the SM_* environment (`environment` lets tests pass their own).
SageMakerPaths sagemaker_paths(const std::string& root, const std::map<std::string, std::string>& environment);
// This process's SM_* variables (and FACEAGE_SAGEMAKER_ROOT as SAGEMAKER_ROOT).
std::map<std::string, std::string> sagemaker_environment();
// Where an installed faceage keeps configs/ and models/ (<exe>/../share/faceage), else the source
// tree the program was built in (<exe>/..): relative "config" hyperparameters resolve against it.
std::string installed_share_dir();

// The job's training config: defaults <- hyperparameter "config" <- the other hyperparameters,
// with data.train/data.val from the channels unless given; keys checked (kConfig).
Config sagemaker_train_config(const SageMakerPaths& paths, const std::string& share_dir);

// Runs the whole job; returns the process exit code. Any failure is also written to the failure
// file, as SageMaker expects, and the bundle lands in model_dir only when training succeeded.
int run_sagemaker_training(const SageMakerPaths& paths, const std::string& share_dir, const Context& context,
                           const TrainHooks& hooks);

}  // namespace faceage::train
