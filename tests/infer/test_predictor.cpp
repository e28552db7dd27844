#include "faceage/infer/predictor.hpp"

#include <gtest/gtest.h>
#include <torch/torch.h>

#include "faceage/data/image_io.hpp"
#include "faceage/models/bundle.hpp"
#include "support/temp_dir.hpp"

namespace faceage::infer {
namespace {

// A mobilenet_v2 bundle with seeded random weights: meaningless but deterministic answers.
void write_random_bundle(const std::string& path, int seed, bool gender_head = true) {
  torch::manual_seed(seed);
  models::Bundle bundle;
  bundle.model_options.gender_head = gender_head;
  bundle.model = models::create_model(bundle.model_options);
  {
    // A fresh age head is near zero (an almost flat distribution: one age for every face); larger
    // random weights make the members' ages differ, so that averaging them is visible.
    torch::NoGradGuard no_grad;
    for (auto& item : bundle.model->named_parameters()) {
      if (item.key().rfind("age_head", 0) == 0) item.value().normal_(0.0, 0.05);
    }
  }
  bundle.preprocess.input_size = 64;
  bundle.metadata = {{"name", "predictor-test-" + std::to_string(seed)}};
  models::save_bundle(bundle, path);
}

Context quiet_context() {
  ContextOptions options;
  options.threads = 2;
  options.log_level = "error";
  return Context::make(options);
}

std::vector<cv::Mat> random_crops(int count) {
  cv::RNG rng(5);
  std::vector<cv::Mat> crops;
  for (int i = 0; i < count; ++i) {
    cv::Mat crop(200, 200, CV_8UC3);
    rng.fill(crop, cv::RNG::UNIFORM, 0, 255);
    crops.push_back(crop);
  }
  return crops;
}

std::vector<CropAnswer> answers(const std::vector<std::string>& paths, std::optional<bool> flip, ModelInfo* info = nullptr,
                                int crops = 3, int batch_size = 32) {
  PredictorOptions options;
  options.model_paths = paths;
  options.flip_average = flip;
  options.batch_size = batch_size;
  options.precision = models::InferencePrecision::kFloat32;
  Predictor predictor(options, quiet_context());
  if (info) *info = predictor.info();
  return predictor.answer_crops(random_crops(crops));
}

void expect_same_answers(const std::vector<CropAnswer>& a, const std::vector<CropAnswer>& b) {
  ASSERT_EQ(a.size(), b.size());
  for (std::size_t i = 0; i < a.size(); ++i) {
    EXPECT_NEAR(a[i].age, b[i].age, 1e-6);
    EXPECT_NEAR(a[i].age_low, b[i].age_low, 1e-6);
    EXPECT_NEAR(a[i].age_high, b[i].age_high, 1e-6);
    ASSERT_EQ(a[i].female_prob.has_value(), b[i].female_prob.has_value());
    if (a[i].female_prob) EXPECT_NEAR(*a[i].female_prob, *b[i].female_prob, 1e-6);
  }
}

class PredictorEnsemble : public ::testing::Test {
 protected:
  void SetUp() override {
    write_random_bundle(a_, 1);
    write_random_bundle(b_, 2);
    models::EnsembleOptions no_flip;
    no_flip.test_time_flip = false;
    models::save_ensemble({a_, b_}, ensemble_, no_flip);
  }
  testing::TempDir dir_;
  std::string a_ = dir_.file("a.fab"), b_ = dir_.file("b.fab"), ensemble_ = dir_.file("ab.fab");
};

TEST_F(PredictorEnsemble, AnEnsembleFileAnswersLikeItsMembersListed) {
  ModelInfo info;
  const auto packed = answers({ensemble_}, std::nullopt, &info);
  EXPECT_EQ(info.members, 2);
  EXPECT_EQ(info.paths, std::vector<std::string>{ensemble_});
  EXPECT_EQ(info.bundles.at(0).at("format"), "faceage-ensemble");
  expect_same_answers(packed, answers({a_, b_}, false));
  // Both members count: the pair differs from either alone.
  for (const auto& single : {answers({a_}, false), answers({b_}, false)}) {
    EXPECT_GT(std::abs(packed[0].age - single[0].age), 1e-3);
    EXPECT_GT(std::abs(*packed[0].female_prob - *single[0].female_prob), 1e-5);
  }
}

TEST_F(PredictorEnsemble, FlipFollowsTheModelFileUnlessTheCallerChooses) {
  ModelInfo info;
  answers({a_}, std::nullopt, &info);
  EXPECT_TRUE(info.flip_average) << "a single bundle flips by default";
  answers({ensemble_}, std::nullopt, &info);
  EXPECT_FALSE(info.flip_average) << "the ensemble file records flip off";
  const auto flipped = answers({ensemble_}, true, &info);
  EXPECT_TRUE(info.flip_average);
  expect_same_answers(flipped, answers({a_, b_}, true));

  models::save_ensemble({a_, b_}, dir_.file("ab-flip.fab"));  // records flip on, like a single bundle
  answers({dir_.file("ab-flip.fab")}, std::nullopt, &info);
  EXPECT_TRUE(info.flip_average);
  answers({dir_.file("ab-flip.fab")}, false, &info);
  EXPECT_FALSE(info.flip_average);
}

TEST_F(PredictorEnsemble, EnsembleFilesAndBundlesMix) {
  ModelInfo info;
  const auto mixed = answers({ensemble_, a_}, false, &info);
  EXPECT_EQ(info.members, 3);
  EXPECT_EQ(info.paths.size(), 2u);
  expect_same_answers(mixed, answers({a_, b_, a_}, false));
}

TEST(Predictor, LargeBatchesSplitIntoCallsAnswerLikeOneFaceAtATime) {
  testing::TempDir dir;
  write_random_bundle(dir.file("m.fab"), 3);
  // 30 faces with their mirrors are 60 images: two calls of 32 and 28 at batch size 32, sixty calls
  // of one at batch size 1 (a face and its mirror then go separately).
  expect_same_answers(answers({dir.file("m.fab")}, true, nullptr, 30, 32), answers({dir.file("m.fab")}, true, nullptr, 30, 1));
}

// A real face crop (the astronaut's), so that any detector finds the face.
cv::Mat face_crop() {
  return data::read_image(std::string(FACEAGE_FIXTURES_DIR) + "/faces/astronaut_crop.jpg").rgb;
}

PredictorOptions float32_options(const std::vector<std::string>& paths) {
  PredictorOptions options;
  options.model_paths = paths;
  options.precision = models::InferencePrecision::kFloat32;
  return options;
}

TEST(Predictor, WithoutAGenderHeadTheGenderFieldsStayEmpty) {
  testing::TempDir dir;
  write_random_bundle(dir.file("plain.fab"), 4, false);
  write_random_bundle(dir.file("gender.fab"), 5);
  {
    Predictor predictor(float32_options({dir.file("plain.fab")}), quiet_context());
    EXPECT_FALSE(predictor.info().gender);
    const auto answers = predictor.answer_crops(random_crops(2));
    EXPECT_FALSE(answers[0].female_prob.has_value());
    const auto prediction = predictor.predict_image(face_crop(), "crop");
    ASSERT_TRUE(prediction.ok()) << prediction.error->message;
    ASSERT_EQ(prediction.faces.size(), 1u);
    EXPECT_EQ(prediction.faces[0].gender, "");
    EXPECT_FALSE(prediction.faces[0].gender_prob.has_value());
    const auto record = to_json(prediction).at(0);
    EXPECT_TRUE(record.at("gender").is_null());
    EXPECT_TRUE(record.at("gender_prob").is_null());
    EXPECT_TRUE(record.at("female_prob").is_null());
    EXPECT_EQ(to_csv_rows(prediction).at(0).at(9), "");   // gender
    EXPECT_EQ(to_csv_rows(prediction).at(0).at(10), "");  // gender_prob
  }
  // In an ensemble, only members with a gender head have a say in it.
  auto gender_only = Predictor(float32_options({dir.file("gender.fab")}), quiet_context()).answer_crops(random_crops(2));
  auto mixed = Predictor(float32_options({dir.file("plain.fab"), dir.file("gender.fab")}), quiet_context())
                   .answer_crops(random_crops(2));
  ASSERT_TRUE(mixed[0].female_prob.has_value());
  EXPECT_NEAR(*mixed[0].female_prob, *gender_only[0].female_prob, 1e-6);
}

TEST(Predictor, FacesComeLargestFirst) {
  const std::string group = std::string(FACEAGE_FIXTURES_DIR) + "/faces/group.jpg";
  testing::TempDir dir;
  write_random_bundle(dir.file("m.fab"), 6);
  auto options = float32_options({dir.file("m.fab")});
  options.detector = "dlib-hog";
  Predictor predictor(options, quiet_context());
  const auto prediction = predictor.predict_file(group);
  ASSERT_TRUE(prediction.ok()) << prediction.error->message;
  ASSERT_GE(prediction.faces.size(), 2u);
  for (std::size_t i = 0; i < prediction.faces.size(); ++i) {
    EXPECT_EQ(prediction.faces[i].face, static_cast<int>(i));
    if (i > 0) EXPECT_GE(prediction.faces[i - 1].box.area(), prediction.faces[i].box.area());
  }
}

TEST(Predictor, TheStepsAnswerAsPredictAndAFailedModelCallFailsOnlyTheImagesThatReachedIt) {
  testing::TempDir dir;
  write_random_bundle(dir.file("m.fab"), 7);
  Predictor predictor(float32_options({dir.file("m.fab")}), quiet_context());
  const auto crop = face_crop();
  const std::string garbage = "not an image";
  std::vector<cv::Mat> crops;
  std::vector<ImagePrediction> located;
  located.push_back(predictor.locate_faces(crop, "crop", crops));
  located.push_back(predictor.locate_bytes(reinterpret_cast<const std::uint8_t*>(garbage.data()), garbage.size(),
                                           "garbage", crops));
  ASSERT_EQ(crops.size(), 1u) << "a failed image adds no crop";
  EXPECT_EQ(located[1].error->code, ErrorCode::kUnreadableImage);

  auto answered = located;
  auto answered_crops = crops;
  predictor.answer_located(answered, std::move(answered_crops),
                           [&](std::vector<cv::Mat>&& c) { return predictor.answer_crops(c); });
  const auto direct = predictor.predict_image(crop, "crop");
  ASSERT_TRUE(answered[0].ok());
  EXPECT_EQ(to_json(answered[0]), to_json(direct));

  predictor.answer_located(located, std::move(crops), [](std::vector<cv::Mat>&&) -> std::vector<CropAnswer> {
    throw Error(ErrorCode::kModel, "the model call failed");
  });
  ASSERT_FALSE(located[0].ok());
  EXPECT_EQ(located[0].error->code, ErrorCode::kModel);
  EXPECT_EQ(located[1].error->code, ErrorCode::kUnreadableImage) << "an image that failed earlier keeps its error";
}

}  // namespace
}  // namespace faceage::infer
