#include "faceage/train/trainer.hpp"

#include <gtest/gtest.h>

#include <string>

#include "faceage/core/error.hpp"

namespace faceage::train {
namespace {

// The message of the kConfig error check_train_config_keys throws for `overrides`, or "" when none.
std::string key_error(const std::vector<std::string>& overrides) {
  Config config = default_train_config();
  config.apply_overrides(overrides);
  try {
    check_train_config_keys(config);
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::kConfig);
    return e.what();
  }
  return "";
}

TEST(TrainConfigKeys, DefaultsAndEveryDocumentedKeyPass) {
  EXPECT_EQ(key_error({}), "");
  EXPECT_EQ(key_error({"seed=3", "name=x", "run_dir=/tmp/r", "model.pretrained=w.pt", "model.gender_head=false",
                       "preprocess.input_size=96", "data.limit_val=10", "train.amp=true"}),
            "");
}

TEST(TrainConfigKeys, MisspeltKeysAreRejectedByName) {
  // 'optim.lr' was once used for 'optimizer.lr' and silently changed nothing.
  EXPECT_NE(key_error({"optim.lr=0.1"}).find("'optim'"), std::string::npos);
  EXPECT_NE(key_error({"train.epoch=3"}).find("'train.epoch'"), std::string::npos);
  EXPECT_NE(key_error({"data.limit=3"}).find("'data.limit'"), std::string::npos);
  EXPECT_NE(key_error({"model.dropout=0.1"}).find("'model.dropout'"), std::string::npos);
  EXPECT_NE(key_error({"preprocess.size=96"}).find("'preprocess.size'"), std::string::npos);
}

TEST(TrainConfigKeys, UnknownSectionNamesAndKeysOfTheWrongKindAreRejected) {
  EXPECT_NE(key_error({"schedule.name=cyclical"}).find("'schedule.name'"), std::string::npos);
  EXPECT_NE(key_error({"schedule.patience=2"}).find("schedule.patience"), std::string::npos);  // onecycle has none
  EXPECT_NE(key_error({"loss.age=l3"}).find("'loss.age'"), std::string::npos);
  EXPECT_NE(key_error({"optimizer.name=adamx"}).find("'optimizer.name'"), std::string::npos);
  EXPECT_NE(key_error({"distill.temp=2"}).find("distill.temp"), std::string::npos);
  EXPECT_EQ(key_error({"schedule.name=plateau", "schedule.patience=2", "loss.age=l1", "optimizer.name=adam"}), "");
}

}  // namespace
}  // namespace faceage::train
