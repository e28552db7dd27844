// SPDX-License-Identifier: Apache-2.0
#include "faceage/train/sagemaker.hpp"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "support/error_code.hpp"
#include "support/temp_dir.hpp"

namespace faceage::train {
namespace {

namespace fs = std::filesystem;

void write(const fs::path& path, const std::string& text) {
  fs::create_directories(path.parent_path());
  std::ofstream(path) << text;
}

TEST(SageMakerPaths, LayoutUnderTheRootAndChannelsFound) {
  faceage::testing::TempDir dir;
  const fs::path root = dir.path();
  fs::create_directories(root / "input/data/train");
  fs::create_directories(root / "input/data/validation");
  const auto paths = sagemaker_paths(root.string(), {});
  EXPECT_EQ(paths.hyperparameters, (root / "input/config/hyperparameters.json").string());
  EXPECT_EQ(paths.model_dir, (root / "model").string());
  EXPECT_EQ(paths.checkpoints, (root / "checkpoints").string());
  EXPECT_EQ(paths.failure_file, (root / "output/failure").string());
  ASSERT_EQ(paths.channels.size(), 2u);
  EXPECT_EQ(paths.channels.at("train"), (root / "input/data/train").string());
}

TEST(SageMakerPaths, EnvironmentOverridesSinglePlaces) {
  faceage::testing::TempDir dir;
  const auto paths = sagemaker_paths(dir.path(), {{"SM_MODEL_DIR", "/m"}, {"SM_CHANNEL_VALIDATION", "/v"},
                                                  {"SM_CHECKPOINT_DIR", "/c"}});
  EXPECT_EQ(paths.model_dir, "/m");
  EXPECT_EQ(paths.checkpoints, "/c");
  EXPECT_EQ(paths.channels.at("validation"), "/v");
  EXPECT_EQ(sagemaker_paths("", {{"SAGEMAKER_ROOT", "/x"}}).model_dir, "/x/model");
}

TEST(SageMakerConfig, StringHyperparametersBecomeTypedOverridesAndChannelsTheData) {
  faceage::testing::TempDir dir;
  const fs::path root = dir.path();
  write(root / "share/configs/base.yaml", "train: {epochs: 7, batch_size: 8}\n");
  write(root / "ml/input/config/hyperparameters.json",
        R"({"config": "configs/base.yaml", "train.epochs": "3", "optimizer.lr": "0.002",
            "sagemaker_program": "ignored", "data.licence": "mine"})");
  fs::create_directories(root / "ml/input/data/train");
  fs::create_directories(root / "ml/input/data/validation");
  const auto paths = sagemaker_paths((root / "ml").string(), {});
  const Config config = sagemaker_train_config(paths, (root / "share").string());
  EXPECT_EQ(config.get<int>("train.epochs"), 3);          // the hyperparameter beats the file
  EXPECT_EQ(config.get<int>("train.batch_size"), 8);      // from the file
  EXPECT_DOUBLE_EQ(config.get<double>("optimizer.lr"), 0.002);
  EXPECT_EQ(config.get<std::string>("data.train"), (root / "ml/input/data/train/manifest.csv").string());
  EXPECT_EQ(config.get<std::string>("data.val"), (root / "ml/input/data/validation/manifest.csv").string());
  EXPECT_EQ(config.get<std::string>("data.licence"), "mine");
}

TEST(SageMakerConfig, MisspeltKeysAndMissingDataAreConfigErrors) {
  faceage::testing::TempDir dir;
  const fs::path root = dir.path();
  write(root / "input/config/hyperparameters.json", R"({"train.epoch": "3"})");
  fs::create_directories(root / "input/data/train");
  fs::create_directories(root / "input/data/validation");
  EXPECT_EQ(faceage::testing::error_of([&] { sagemaker_train_config(sagemaker_paths(root.string(), {}), ""); }),
            ErrorCode::kConfig);
  write(root / "input/config/hyperparameters.json", "{}");
  fs::remove_all(root / "input/data");
  EXPECT_EQ(faceage::testing::error_of([&] { sagemaker_train_config(sagemaker_paths(root.string(), {}), ""); }),
            ErrorCode::kConfig);
  write(root / "input/config/hyperparameters.json", "not json");
  EXPECT_EQ(faceage::testing::error_of([&] { sagemaker_train_config(sagemaker_paths(root.string(), {}), ""); }),
            ErrorCode::kConfig);
}

TEST(SageMakerTraining, AFailedJobWritesItsReason) {
  faceage::testing::TempDir dir;
  const auto paths = sagemaker_paths(dir.path(), {});
  Context context;
  EXPECT_THROW(run_sagemaker_training(paths, "", context, {}), Error);
  std::ifstream failure(paths.failure_file);
  ASSERT_TRUE(failure.good()) << "no failure file";
  std::string reason((std::istreambuf_iterator<char>(failure)), {});
  EXPECT_NE(reason.find("no training data"), std::string::npos) << reason;
  EXPECT_FALSE(fs::exists(fs::path(paths.model_dir) / "model.fab"));
}

}  // namespace
}  // namespace faceage::train
