#include "faceage/baseline/hog_svr.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <fstream>
#include <numeric>

#include <dlib/serialize.h>

#include "baseline/synthetic_crops.hpp"
#include "support/error_code.hpp"
#include "support/temp_dir.hpp"

namespace faceage::baseline {
namespace {

using faceage::testing::error_of;
using faceage::testing::synthetic_set;
using faceage::testing::TempDir;

BaselineOptions small_options() {
  BaselineOptions options;
  options.pca_dims = 24;
  options.gamma = 0;  // 1 / pca_dims
  options.c_age = 100;
  options.epsilon = 0.5;
  options.cache_mb = 50;
  return options;
}

TEST(HogFeatures, LengthFollowsTheOptionsAndGrayEqualsRgb) {
  EXPECT_EQ(hog_length(HogOptions{}), 1764);
  HogOptions small;
  small.window = 32;
  EXPECT_EQ(hog_length(small), 3 * 3 * 4 * 9);
  auto set = synthetic_set(2, 1);
  const cv::Mat features = hog_features(set.crops, HogOptions{});
  ASSERT_EQ(features.rows, 2);
  ASSERT_EQ(features.cols, 1764);
  EXPECT_GT(cv::norm(features.row(0), features.row(1)), 0.1);  // different images, different features
  cv::Mat gray;
  cv::cvtColor(set.crops[0], gray, cv::COLOR_RGB2GRAY);
  EXPECT_EQ(cv::norm(hog_features({gray}, HogOptions{}), features.row(0)), 0.0);
}

TEST(HogFeatures, RejectsCropsItCannotRead) {
  EXPECT_EQ(error_of([] { hog_features({cv::Mat()}, HogOptions{}); }), ErrorCode::kInvalidArgument);
  EXPECT_EQ(error_of([] { hog_features({cv::Mat(6, 6, CV_8UC3)}, HogOptions{}); }), ErrorCode::kInvalidArgument);
  EXPECT_EQ(error_of([] { hog_features({cv::Mat(64, 64, CV_32FC3)}, HogOptions{}); }), ErrorCode::kInvalidArgument);
}

TEST(BaselineOptions, ValidationNamesTheKeyAndJsonRoundTrips) {
  BaselineOptions bad;
  bad.pca_dims = 0;
  try {
    validate(bad);
    FAIL() << "pca_dims 0 accepted";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::kInvalidArgument);
    EXPECT_NE(std::string(e.what()).find("pca_dims"), std::string::npos);
  }
  bad = {};
  bad.hog.window = 60;  // not a multiple of the 8-px cell
  EXPECT_EQ(error_of([&] { validate(bad); }), ErrorCode::kInvalidArgument);
  BaselineOptions options = small_options();
  options.seed = 7;
  options.hog.cell = 16;
  const auto back = baseline_options_from_json(to_json(options));
  EXPECT_EQ(to_json(back), to_json(options));
  EXPECT_EQ(error_of([] { baseline_options_from_json({{"pca_dims", "many"}}); }), ErrorCode::kConfig);
}

TEST(BaselineModel, LearnsAnObviousSignal) {
  const auto train = synthetic_set(160, 11);
  const auto test = synthetic_set(60, 12);
  FitReport report;
  const auto model = BaselineModel::fit(train, small_options(), &report);
  EXPECT_EQ(report.samples, 160u);
  EXPECT_EQ(report.gender_samples, 160u);
  EXPECT_EQ(report.pca_dims, 24);
  EXPECT_GT(report.age_support_vectors, 0u);
  ASSERT_TRUE(model.has_gender());
  const auto answers = model.predict(test.crops);
  ASSERT_EQ(answers.size(), test.crops.size());
  const double mean_age = std::accumulate(train.ages.begin(), train.ages.end(), 0.0) / train.ages.size();
  double mae = 0, mae_of_mean = 0;
  int correct = 0;
  for (std::size_t i = 0; i < answers.size(); ++i) {
    mae += std::abs(answers[i].age - test.ages[i]) / answers.size();
    mae_of_mean += std::abs(mean_age - test.ages[i]) / answers.size();
    ASSERT_TRUE(answers[i].female_prob.has_value());
    correct += (*answers[i].female_prob >= 0.5) == (test.genders[i] == 1);
  }
  // Predicting the mean age is off by ~22 years on uniform ages in [1, 90].
  EXPECT_LT(mae, 0.3 * mae_of_mean) << "MAE " << mae << " vs " << mae_of_mean << " for the mean";
  EXPECT_GE(correct, 57) << "gender right on " << correct << " of 60";
}

TEST(BaselineModel, CapsTheTrainingSetAndSkipsGenderWithOneClass) {
  auto options = small_options();
  options.max_train_samples = 30;
  FitReport report;
  const auto model = BaselineModel::fit(synthetic_set(80, 3, /*both_genders=*/false), options, &report);
  EXPECT_EQ(report.samples, 30u);
  EXPECT_FALSE(model.has_gender());
  EXPECT_EQ(report.gender_samples, 0u);
  const auto answers = model.predict(synthetic_set(3, 4).crops);
  for (const auto& a : answers) EXPECT_FALSE(a.female_prob.has_value());
  LabelledCrops mismatched = synthetic_set(5, 5);
  mismatched.ages.pop_back();
  EXPECT_EQ(error_of([&] { BaselineModel::fit(mismatched, options); }), ErrorCode::kInvalidArgument);
  EXPECT_EQ(error_of([&] { BaselineModel::fit(synthetic_set(1, 5), options); }), ErrorCode::kInvalidArgument);
}

TEST(BaselineModel, SaveLoadRoundTripGivesTheSameAnswers) {
  TempDir dir;
  auto options = small_options();
  options.hog.window = 48;
  auto model = BaselineModel::fit(synthetic_set(60, 21), options);
  model.info()["face_pipeline"] = {{"detector", "none"}, {"crop_size", 96}};
  model.save(dir.file("m.fabl"));
  const auto loaded = BaselineModel::load(dir.file("m.fabl"));
  EXPECT_EQ(to_json(loaded.options()), to_json(options));
  EXPECT_EQ(loaded.info()["face_pipeline"]["crop_size"], 96);
  EXPECT_EQ(loaded.info()["fit"]["samples"], 60);
  EXPECT_TRUE(loaded.has_gender());
  const auto crops = synthetic_set(8, 22).crops;
  const auto a = model.predict(crops);
  const auto b = loaded.predict(crops);
  for (std::size_t i = 0; i < crops.size(); ++i) {
    EXPECT_DOUBLE_EQ(a[i].age, b[i].age);
    EXPECT_DOUBLE_EQ(*a[i].female_prob, *b[i].female_prob);
  }
}

TEST(BaselineModel, WrongFilesAreTypedErrors) {
  TempDir dir;
  EXPECT_EQ(error_of([&] { BaselineModel::load(dir.file("missing.fabl")); }), ErrorCode::kNotFound);
  {
    std::ofstream(dir.file("bundle.fab"), std::ios::binary) << "PK\x03\x04 not a baseline";
  }
  try {
    BaselineModel::load(dir.file("bundle.fab"));
    FAIL() << "a non-baseline file loaded";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::kModel);
    EXPECT_NE(std::string(e.what()).find("not a faceage baseline model"), std::string::npos);
  }
  // A newer format version than this build reads.
  {
    std::ofstream out(dir.file("future.fabl"), std::ios::binary);
    out << "FACEAGE-BASELINE\n";
    dlib::serialize(kModelFormatVersion + 1, out);
  }
  EXPECT_EQ(error_of([&] { BaselineModel::load(dir.file("future.fabl")); }), ErrorCode::kModel);
  // A truncated model.
  BaselineModel::fit(synthetic_set(20, 31), small_options()).save(dir.file("good.fabl"));
  std::ifstream in(dir.file("good.fabl"), std::ios::binary);
  std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  {
    std::ofstream(dir.file("cut.fabl"), std::ios::binary) << bytes.substr(0, bytes.size() / 2);
  }
  EXPECT_EQ(error_of([&] { BaselineModel::load(dir.file("cut.fabl")); }), ErrorCode::kModel);
  EXPECT_NO_THROW(BaselineModel::load(dir.file("good.fabl")));
}

}  // namespace
}  // namespace faceage::baseline
