#include "faceage/serve/served_model.hpp"

#include <cstdlib>

#include "serve_test_support.hpp"

namespace faceage::serve {
namespace {

using namespace faceage::serve::testing;

TEST(ServedModel, AnswersLikeThePredictorAndDescribesItself) {
  const auto photo = face_image_path();
  if (photo.empty()) GTEST_SKIP() << "no face photo";
  faceage::testing::TempDir dir;
  const auto bundle = dir.file("m.fab");
  make_test_bundle(bundle, 3);
  ServedModelOptions options;
  options.predictor.model_paths = {bundle};
  options.batching.max_batch_size = 4;
  ServedModel served(options, quiet_context());
  EXPECT_EQ(served.version(), sha256_file(bundle).substr(0, 12));
  auto description = served.describe("faceage");
  EXPECT_EQ(description["name"], "faceage");
  EXPECT_EQ(description["arch"], "mobilenet_v2");
  EXPECT_EQ(description["bundles"][0]["name"], "serve-test-3");

  const auto bytes = read_bytes(photo);
  const auto gradient = no_face_png();
  const std::string garbage = "not an image";
  auto results = served.predict({{reinterpret_cast<const std::uint8_t*>(bytes.data()), bytes.size(), "face"},
                                 {reinterpret_cast<const std::uint8_t*>(gradient.data()), gradient.size(), "gradient"},
                                 {reinterpret_cast<const std::uint8_t*>(garbage.data()), garbage.size(), "garbage"}});
  ASSERT_EQ(results.size(), 3u);
  auto& predictor = served.predictor();
  auto want = predictor.predict_bytes(reinterpret_cast<const std::uint8_t*>(bytes.data()), bytes.size(), "face");
  ASSERT_TRUE(results[0].ok());
  ASSERT_EQ(results[0].faces.size(), want.faces.size());
  for (std::size_t i = 0; i < want.faces.size(); ++i) {
    EXPECT_NEAR(results[0].faces[i].age, want.faces[i].age, 1e-5);
    EXPECT_NEAR(results[0].faces[i].age_high, want.faces[i].age_high, 1e-5);
    EXPECT_NEAR(*results[0].faces[i].female_prob, *want.faces[i].female_prob, 1e-5);
    EXPECT_EQ(results[0].faces[i].gender, want.faces[i].gender);
    EXPECT_EQ(results[0].faces[i].box, want.faces[i].box);
  }
  ASSERT_FALSE(results[1].ok());
  EXPECT_EQ(results[1].error->code, ErrorCode::kNoFace);
  ASSERT_FALSE(results[2].ok());
  EXPECT_EQ(results[2].error->code, ErrorCode::kUnreadableImage);
}

TEST(ServedModel, DescribesAnEnsembleFileWithItsMembers) {
  faceage::testing::TempDir dir;
  make_test_bundle(dir.file("a.fab"), 4);
  make_test_bundle(dir.file("b.fab"), 5);
  models::save_ensemble({dir.file("a.fab"), dir.file("b.fab")}, dir.file("pair.fab"));  // flip recorded on
  ServedModelOptions options;
  options.predictor.model_paths = {dir.file("pair.fab")};
  options.predictor.flip_average = false;
  ServedModel served(options, quiet_context());
  auto description = served.describe("faceage");
  EXPECT_EQ(description["ensemble"], 2);
  EXPECT_EQ(description["flip_average"], false);
  EXPECT_EQ(description["arch"], "mobilenet_v2");
  ASSERT_EQ(description["bundles"].size(), 1u);
  const auto& members = description["bundles"][0]["members"];
  ASSERT_EQ(members.size(), 2u);
  EXPECT_EQ(members[1]["name"], "serve-test-5");
  EXPECT_EQ(description["bundles"][0]["test_time_flip"], true);
}

TEST(ServedModel, MissingBundleIsNotFound) {
  ServedModelOptions options;
  options.predictor.model_paths = {"/nonexistent/model.fab"};
  try {
    ServedModel served(options, quiet_context());
    FAIL() << "loaded a missing bundle";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::kNotFound);
  }
}

// Not a test: tests/integration/test_serve_*.sh call this to get a small bundle when no trained
// default model exists (FACEAGE_WRITE_TEST_BUNDLE=path test_serve --gtest_filter=...).
TEST(ServeTestBundle, WriteWhenAsked) {
  const char* path = std::getenv("FACEAGE_WRITE_TEST_BUNDLE");
  if (!path || !*path) GTEST_SKIP() << "set FACEAGE_WRITE_TEST_BUNDLE=path to write a test bundle";
  make_test_bundle(path, 1);
  EXPECT_TRUE(std::filesystem::exists(path));
}

}  // namespace
}  // namespace faceage::serve
