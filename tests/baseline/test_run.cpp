#include "faceage/baseline/run.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <numeric>
#include <sstream>

#include <nlohmann/json.hpp>
#include <opencv2/imgcodecs.hpp>

#include "baseline/synthetic_crops.hpp"
#include "faceage/data/csv.hpp"
#include "support/error_code.hpp"
#include "support/quiet_context.hpp"
#include "support/temp_dir.hpp"

namespace faceage::baseline {
namespace {

using faceage::testing::error_of;
using faceage::testing::fixture;
using faceage::testing::quiet_context;
using faceage::testing::TempDir;

// A manifest of synthetic crops (already faces: detector "none") in `dir`/`name`.
std::string write_manifest(const TempDir& dir, const std::string& name, std::size_t count, std::uint32_t seed) {
  const auto set = faceage::testing::synthetic_set(count, seed);
  std::filesystem::create_directories(dir.path() / name);
  std::string csv = "file,age,gender,split\n";
  for (std::size_t i = 0; i < count; ++i) {
    const std::string file = name + "/" + std::to_string(i) + ".png";
    cv::imwrite(dir.file(file), set.crops[i]);  // gray content: RGB and BGR agree
    csv += file + "," + std::to_string(static_cast<int>(set.ages[i])) + "," + (set.genders[i] ? "female" : "male") +
           "," + name + "\n";
  }
  std::ofstream(dir.file(name + ".csv")) << csv;
  return dir.file(name + ".csv");
}

TrainRunOptions tiny_training(const TempDir& dir) {
  TrainRunOptions options;
  options.train_csv = write_manifest(dir, "train", 200, 1);
  options.val_csv = write_manifest(dir, "val", 30, 2);
  options.out = dir.file("model.fabl");
  options.cache_dir = dir.file("cache");
  options.face.detector = "none";
  options.face.crop_size = 96;
  options.model.pca_dims = 24;
  options.model.c_age = 100;
  options.model.epsilon = 0.5;
  options.progress = 0;
  return options;
}

TEST(BlendAnswers, WeightsAgeIntervalAndGender) {
  infer::CropAnswer network;
  network.age = 30;
  network.age_low = 25;
  network.age_high = 35;
  network.age_std = 3;
  network.female_prob = 0.8;
  BaselineAnswer base{50, 0.2};
  auto same = blend_answers(network, base, 0);
  EXPECT_DOUBLE_EQ(same.age, 30);
  EXPECT_DOUBLE_EQ(*same.female_prob, 0.8);
  auto quarter = blend_answers(network, base, 0.25);
  EXPECT_DOUBLE_EQ(quarter.age, 35);
  EXPECT_DOUBLE_EQ(quarter.age_low, 30);
  EXPECT_DOUBLE_EQ(quarter.age_high, 40);
  EXPECT_DOUBLE_EQ(quarter.age_std, 3);
  EXPECT_DOUBLE_EQ(*quarter.female_prob, 0.65);
  auto all = blend_answers(network, {50, std::nullopt}, 1);
  EXPECT_DOUBLE_EQ(all.age, 50);
  EXPECT_DOUBLE_EQ(*all.female_prob, 0.8);  // the baseline has no gender: the network's stays
}

TEST(BaselineRun, TrainsScoresValAndPredictsManifestRecords) {
  TempDir dir;
  const auto options = tiny_training(dir);
  const auto context = quiet_context();
  const auto result = train_baseline(options, context);
  EXPECT_EQ(result.train_crops, 200u);
  EXPECT_EQ(result.fit.samples, 200u);
  ASSERT_TRUE(result.val.has_value());
  EXPECT_EQ(result.val->age.count, 30);
  // Well under the error of always answering the training mean (~22 years on ages in [1, 90]).
  const auto train_ages = faceage::testing::synthetic_set(200, 1).ages;
  const auto val_ages = faceage::testing::synthetic_set(30, 2).ages;
  const double mean = std::accumulate(train_ages.begin(), train_ages.end(), 0.0) / train_ages.size();
  double mae_of_mean = 0;
  for (double a : val_ages) mae_of_mean += std::abs(mean - static_cast<int>(a)) / val_ages.size();
  EXPECT_LT(result.val->age.mae, 0.5 * mae_of_mean) << "the mean is " << mae_of_mean << " years off";
  EXPECT_GT(result.val->gender.accuracy, 0.9);
  EXPECT_GT(result.age_residual_std, 0.0);
  EXPECT_NE(format_train_result(result).find("val: n=30"), std::string::npos);

  const auto model = BaselineModel::load(options.out);
  EXPECT_EQ(model.info()["face_pipeline"]["detector"], "none");
  EXPECT_EQ(model.info()["age_residual_source"], "val");

  BaselinePredictOptions predict;
  predict.model = options.out;
  predict.manifest_csv = options.val_csv;
  predict.progress = 0;
  std::ostringstream out;
  const auto summary = predict_baseline(predict, context, out);
  EXPECT_EQ(summary.images, 30u);
  EXPECT_EQ(summary.faces, 30u);
  EXPECT_EQ(summary.failed, 0u);
  const auto table = data::parse_csv(out.str());
  ASSERT_EQ(table.rows.size(), 30u);
  EXPECT_EQ(table.header, infer::prediction_csv_header());
  EXPECT_EQ(table.rows[0][0], "val/0.png");  // the manifest's own file name, as faceage eval matches
  EXPECT_FALSE(table.rows[0][6].empty());    // age
  EXPECT_TRUE(table.rows[0][9] == "male" || table.rows[0][9] == "female");
  EXPECT_TRUE(table.rows[0].back().empty());  // no error
}

TEST(BaselineRun, ImageWithoutAFaceIsANoFaceRecord) {
  TempDir dir;
  const auto options = tiny_training(dir);
  const auto context = quiet_context();
  train_baseline(options, context);
  BaselinePredictOptions predict;
  predict.model = options.out;
  predict.inputs = {fixture("no_face/rocket.jpg"), fixture("bad/random_bytes.jpg")};
  predict.detector = "yunet";  // a real detector: the rocket has no face
  predict.progress = 0;
  std::ostringstream out;
  const auto summary = predict_baseline(predict, context, out);
  EXPECT_EQ(summary.failed, 2u);
  EXPECT_EQ(summary.faces, 0u);
  const auto records = nlohmann::json::parse(out.str());
  ASSERT_EQ(records.size(), 2u);
  EXPECT_EQ(records[0]["error_code"], "no_face");
  EXPECT_FALSE(records[0].contains("age"));
  EXPECT_EQ(records[1]["error_code"], "unreadable_image");
}

TEST(BaselineRun, RejectsBadArguments) {
  TempDir dir;
  const auto context = quiet_context();
  BaselinePredictOptions predict;
  predict.model = dir.file("none.fabl");
  predict.inputs = {fixture("faces/astronaut_crop.jpg")};
  EXPECT_EQ(error_of([&] { predict_baseline(predict, context, std::cout); }), ErrorCode::kNotFound);
  predict.manifest_csv = dir.file("m.csv");
  EXPECT_EQ(error_of([&] { predict_baseline(predict, context, std::cout); }), ErrorCode::kInvalidArgument);
  predict.manifest_csv.clear();
  predict.baseline_weight = 1.5;
  EXPECT_EQ(error_of([&] { predict_baseline(predict, context, std::cout); }), ErrorCode::kInvalidArgument);
  TrainRunOptions train;
  train.out = dir.file("x.fabl");
  EXPECT_EQ(error_of([&] { train_baseline(train, context); }), ErrorCode::kInvalidArgument);
}

}  // namespace
}  // namespace faceage::baseline
