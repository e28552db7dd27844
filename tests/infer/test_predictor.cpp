#include "faceage/infer/predictor.hpp"

#include <cmath>

#include <gtest/gtest.h>
#include <torch/torch.h>

#include "faceage/data/image_io.hpp"
#include "faceage/models/bundle.hpp"
#include "support/quiet_context.hpp"
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

using testing::quiet_context;

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
    if (a[i].female_prob) {
      EXPECT_NEAR(*a[i].female_prob, *b[i].female_prob, 1e-6);
    }
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
    if (i > 0) {
      EXPECT_GE(prediction.faces[i - 1].box.area(), prediction.faces[i].box.area());
    }
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

// The predictor path from a model answer to a face: p_minor from a hand-made distribution, Platt
// scaling when stored, the conformal interval scaled by interval_scale_of, the unreliable flag.
TEST(FinishFace, PMinorCalibrationConformalIntervalAndUnreliable) {
  // Ages 0..29: half the mass on 16, half on 20. P(age < 18) = 0.5.
  std::vector<float> distribution(30, 0.f);
  distribution[16] = 0.5f;
  distribution[20] = 0.5f;
  CropAnswer answer;
  answer.age = 18;
  answer.age_std = 2;
  answer.age_low = 16;
  answer.age_high = 20;
  answer.p_minor = models::minor_probability(distribution.data(), 30, 0, 18);
  ASSERT_NEAR(answer.p_minor, 0.5, 1e-9);
  answer.female_prob = 0.25;

  PredictorOptions options;
  FacePrediction face;
  face.quality.score = 0.5;
  finish_face(face, answer, {"male", "female"}, options, nullptr, nullptr);
  EXPECT_NEAR(face.p_minor, 0.5, 1e-9);
  EXPECT_FALSE(face.p_minor_calibrated);
  EXPECT_FALSE(face.conformal_interval);
  EXPECT_DOUBLE_EQ(face.age_low, 16);
  EXPECT_DOUBLE_EQ(face.age_high, 20);
  EXPECT_FALSE(face.unreliable);
  EXPECT_EQ(face.gender, "male");
  EXPECT_NEAR(*face.gender_prob, 0.75, 1e-12);

  models::MinorCalibration minor{18, {2.0, 1.0}};  // sigmoid(2 * logit(0.5) + 1) = sigmoid(1)
  models::ConformalCalibration conformal;
  conformal.band_upper = {10};
  conformal.quantiles = {{5.0, 5.0}, {1.5, 0.5}};  // ages >= 10: 1.5 scales below, 0.5 above
  conformal.pooled = {2, 2};
  options.unreliable_below = 0.6;
  finish_face(face, answer, {"male", "female"}, options, &conformal, &minor);
  EXPECT_NEAR(face.p_minor, 1.0 / (1.0 + std::exp(-1.0)), 1e-9);
  EXPECT_TRUE(face.p_minor_calibrated);
  EXPECT_TRUE(face.conformal_interval);
  // scale = std 2 widened for quality 0.5: 2 * (1 + 1.5 * 0.5) = 3.5; 1.5 scales below, 0.5 above.
  EXPECT_DOUBLE_EQ(interval_scale_of(2, 0.5), 3.5);
  EXPECT_NEAR(face.age_low, 18 - 1.5 * 3.5, 1e-9);
  EXPECT_NEAR(face.age_high, 18 + 0.5 * 3.5, 1e-9);
  EXPECT_TRUE(face.unreliable);
  const auto record = to_json(ImagePrediction{"x.jpg", 10, 10, {face}, std::nullopt}).at(0);
  EXPECT_EQ(record.at("interval"), "conformal");
  EXPECT_EQ(record.at("unreliable"), true);
  EXPECT_DOUBLE_EQ(record.at("quality").at("score").get<double>(), 0.5);
}

// The whole path with a calibration stored in the bundle's labels: p_minor is the raw one put
// through the stored Platt scaling; the interval is conformal; refuse_unreliable gives the error.
TEST(Predictor, StoredCalibrationIsAppliedAndUnreliableFacesCanBeRefused) {
  testing::TempDir dir;
  write_random_bundle(dir.file("m.fab"), 8);
  auto bundle = models::load_bundle(dir.file("m.fab"));
  bundle.labels.minor = {{16, {0.5, -0.25}}};
  models::ConformalCalibration conformal;
  conformal.coverage = 0.8;
  conformal.band_upper = {};
  conformal.quantiles = {{1.25, 1.25}};
  conformal.pooled = {1.25, 1.25};
  bundle.labels.conformal = {conformal};
  models::save_bundle(bundle, dir.file("calibrated.fab"));

  auto options = float32_options({dir.file("m.fab")});
  options.minor_gate = 16;
  options.coverage = 0.8;
  const auto raw = Predictor(options, quiet_context()).predict_image(face_crop(), "crop");
  ASSERT_TRUE(raw.ok()) << raw.error->message;
  const auto& raw_face = raw.faces.at(0);
  EXPECT_FALSE(raw_face.p_minor_calibrated);
  EXPECT_FALSE(raw_face.conformal_interval);
  EXPECT_GE(raw_face.p_minor, 0.0);
  EXPECT_LE(raw_face.p_minor, 1.0);
  EXPECT_GT(raw_face.quality.score, 0.0);

  options.model_paths = {dir.file("calibrated.fab")};
  const auto calibrated = Predictor(options, quiet_context()).predict_image(face_crop(), "crop");
  ASSERT_TRUE(calibrated.ok()) << calibrated.error->message;
  const auto& face = calibrated.faces.at(0);
  EXPECT_TRUE(face.p_minor_calibrated);
  const models::PlattScaling stored{0.5, -0.25};
  EXPECT_NEAR(face.p_minor, stored.apply(raw_face.p_minor), 1e-6);
  ASSERT_TRUE(face.conformal_interval);
  const double half = 1.25 * interval_scale_of(face.age_std, face.quality.score);
  EXPECT_NEAR(face.age_high - face.age, half, 1e-6);

  // Another coverage or gate than the stored ones: raw p_minor, the model's interval.
  options.coverage = 0.9;
  options.minor_gate = 18;
  const auto other = Predictor(options, quiet_context()).predict_image(face_crop(), "crop");
  EXPECT_FALSE(other.faces.at(0).p_minor_calibrated);
  EXPECT_FALSE(other.faces.at(0).conformal_interval);

  options.unreliable_below = 1.01;  // every face is below it
  EXPECT_TRUE(Predictor(options, quiet_context()).predict_image(face_crop(), "crop").faces.at(0).unreliable);
  options.refuse_unreliable = true;
  const auto refused = Predictor(options, quiet_context()).predict_image(face_crop(), "crop");
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.error->code, ErrorCode::kNoFace);
  EXPECT_NE(refused.error->message.find("quality below the threshold 1.01"), std::string::npos) << refused.error->message;
  EXPECT_EQ(to_json(refused).at(0).at("error_code"), "no_face");
}

}  // namespace
}  // namespace faceage::infer
