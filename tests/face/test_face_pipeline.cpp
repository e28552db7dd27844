#include "faceage/face/face_pipeline.hpp"

#include <gtest/gtest.h>

#include "face/face_test_util.hpp"

namespace faceage::face {
namespace {

using testing::fixture_rgb;

// dlib-hog without the 100 MB landmark model: fast to construct, box-only alignment.
FacePipelineOptions fast_options() {
  FacePipelineOptions options;
  options.detector_options.landmarks_model = "none";
  return options;
}

TEST(FacePipelineOptionsJson, RoundTripsNonDefaultValues) {
  FacePipelineOptions o;
  o.detector = "yunet";
  o.detector_options.model_path = "/models/yunet.onnx";
  o.detector_options.score_threshold = 0.75f;
  o.detector_options.max_side = 800;
  o.detector_options.hog_threshold = -0.2f;
  o.crop_size = 112;
  o.alignment.points[2] = cv::Point2f(0.5f, 0.55f);
  o.selection = FaceSelection::kMostConfident;
  o.pad_retry_fraction = 0.25f;
  o.whole_image_fallback = false;
  o.whole_image_max_side = 300;
  const nlohmann::json json = to_json(o);
  const FacePipelineOptions back = face_pipeline_from_json(nlohmann::json::parse(json.dump()));
  EXPECT_EQ(to_json(back), json);
  EXPECT_EQ(back.detector, "yunet");
  EXPECT_EQ(back.detector_options.model_path, "/models/yunet.onnx");
  EXPECT_FLOAT_EQ(back.detector_options.score_threshold, 0.75f);
  EXPECT_EQ(back.crop_size, 112);
  EXPECT_EQ(back.selection, FaceSelection::kMostConfident);
  EXPECT_FLOAT_EQ(back.alignment.points[2].y, 0.55f);
  EXPECT_FALSE(back.whole_image_fallback);
}

TEST(FacePipelineOptionsJson, MissingKeysKeepDefaultsAndBadValuesAreConfigErrors) {
  const FacePipelineOptions defaults = face_pipeline_from_json(nlohmann::json::object());
  EXPECT_EQ(to_json(defaults), to_json(FacePipelineOptions{}));
  try {
    face_pipeline_from_json({{"selection", "biggest"}});
    FAIL();
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::kConfig);
    EXPECT_NE(std::string(e.what()).find("largest"), std::string::npos);
  }
  try {
    face_pipeline_from_json({{"crop_size", "big"}});
    FAIL();
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::kConfig);
    EXPECT_NE(std::string(e.what()).find("crop_size"), std::string::npos);
  }
}

TEST(FacePipelineOptionsJson, MisspeltKeysAreConfigErrorsNamingTheKey) {
  for (const auto& [json, key] : {std::pair{nlohmann::json{{"crop_sise", 112}}, "face.crop_sise"},
                                  std::pair{nlohmann::json{{"detector_options", {{"min_face", 20}}}},
                                            "face.detector_options.min_face"}}) {
    try {
      face_pipeline_from_json(json);
      ADD_FAILURE() << json.dump();
    } catch (const Error& e) {
      EXPECT_EQ(e.code(), ErrorCode::kConfig);
      EXPECT_NE(std::string(e.what()).find(key), std::string::npos) << e.what();
    }
  }
}

TEST(FacePipeline, UnknownDetectorListsTheAvailableOnes) {
  FacePipelineOptions options;
  options.detector = "retinaface";
  try {
    FacePipeline pipeline(options);
    FAIL();
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::kNotFound);
    EXPECT_NE(std::string(e.what()).find("available: dlib-hog, none, yunet"), std::string::npos);
  }
}

TEST(FacePipeline, InvalidOptionsNameTheKey) {
  FacePipelineOptions options = fast_options();
  options.pad_retry_fraction = -1.f;
  try {
    FacePipeline pipeline(options);
    FAIL();
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::kInvalidArgument);
    EXPECT_NE(std::string(e.what()).find("pad_retry_fraction"), std::string::npos);
  }
}

TEST(FacePipeline, LandscapePhotoWithoutAFaceIsNoFace) {
  FacePipeline pipeline(fast_options());
  try {
    pipeline.process(fixture_rgb("no_face/rocket.jpg"), "rocket.jpg");
    FAIL();
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::kNoFace);
    EXPECT_NE(std::string(e.what()).find("rocket.jpg"), std::string::npos);
    EXPECT_FALSE(e.hint().empty());
  }
}

TEST(FacePipeline, FacelessSmallSquareImageFallsBackToTheWholeImage) {
  FacePipeline pipeline(fast_options());
  const auto faces = pipeline.process(cv::Mat(180, 160, CV_8UC3, cv::Scalar(90, 120, 150)));
  ASSERT_EQ(faces.size(), 1u);
  EXPECT_EQ(faces[0].source, "whole_image");
  EXPECT_EQ(faces[0].box, cv::Rect2f(0, 0, 160, 180));
  EXPECT_EQ(faces[0].aligned.size(), cv::Size(200, 200));

  FacePipelineOptions strict = fast_options();
  strict.whole_image_fallback = false;
  FacePipeline strict_pipeline(strict);
  EXPECT_THROW(strict_pipeline.process(cv::Mat(180, 160, CV_8UC3, cv::Scalar(90, 120, 150))), Error);
  // Too large to be a face crop.
  EXPECT_THROW(pipeline.process(cv::Mat(600, 600, CV_8UC3, cv::Scalar(90, 120, 150))), Error);
}

TEST(FacePipeline, GroupPhotoAllFacesLeftToRightOrOneLargest) {
  FacePipelineOptions options = fast_options();
  FacePipeline all(options);
  const cv::Mat group = fixture_rgb("faces/group.jpg");
  const auto faces = all.process(group);
  ASSERT_GE(faces.size(), 2u);
  for (std::size_t i = 0; i < faces.size(); ++i) {
    EXPECT_EQ(faces[i].index, static_cast<int>(i));
    EXPECT_EQ(faces[i].source, "detector");
    EXPECT_EQ(faces[i].aligned.size(), cv::Size(200, 200));
    EXPECT_EQ(faces[i].aligned.type(), CV_8UC3);
    if (i > 0) {
      EXPECT_LT(faces[i - 1].box.x, faces[i].box.x);
    }
  }
  options.selection = FaceSelection::kLargest;
  FacePipeline largest(options);
  const auto one = largest.process(group);
  ASSERT_EQ(one.size(), 1u);
  for (const auto& f : faces) EXPECT_LE(f.box.area(), one[0].box.area() + 1e-3f);
}

TEST(SelectFaces, LargestMostConfidentAndLeftToRight) {
  std::vector<FaceDetection> faces(3);
  faces[0].box = cv::Rect2f(300, 0, 50, 50);
  faces[0].score = 0.9f;
  faces[1].box = cv::Rect2f(10, 0, 80, 80);
  faces[1].score = 0.5f;
  faces[2].box = cv::Rect2f(150, 0, 20, 20);
  faces[2].score = 0.95f;
  const auto all = select_faces(faces, FaceSelection::kAll);
  ASSERT_EQ(all.size(), 3u);
  EXPECT_EQ(all[0].box.x, 10.f);
  EXPECT_EQ(all[1].box.x, 150.f);
  EXPECT_EQ(all[2].box.x, 300.f);
  const auto largest = select_faces(faces, FaceSelection::kLargest);
  ASSERT_EQ(largest.size(), 1u);
  EXPECT_EQ(largest[0].box.x, 10.f);
  const auto confident = select_faces(faces, FaceSelection::kMostConfident);
  ASSERT_EQ(confident.size(), 1u);
  EXPECT_EQ(confident[0].box.x, 150.f);
  EXPECT_TRUE(select_faces({}, FaceSelection::kLargest).empty());
}

TEST(FacePipeline, AstronautWithLandmarksGivesAnAlignedCrop) {
  if (!testing::have_dlib_landmarks()) GTEST_SKIP() << "libdlib-data's shape predictor is not installed";
  FacePipeline pipeline(FacePipelineOptions{});
  const auto faces = pipeline.process(fixture_rgb("astronaut.png"));
  ASSERT_EQ(faces.size(), 1u);
  const FaceRecord& f = faces[0];
  ASSERT_TRUE(f.has_landmarks);
  // The crop's landmarks are the image landmarks under the returned transform, and sit near the
  // template (5-point least squares; the astronaut's wide smile leaves ~7 px at the mouth).
  const auto& tpl = pipeline.options().alignment.points;
  double mean_error = 0;
  for (int k = 0; k < 5; ++k) {
    const cv::Point2f mapped = transform_point(f.transform, f.landmarks[k]);
    EXPECT_NEAR(cv::norm(mapped - f.aligned_landmarks[k]), 0.0, 1e-3);
    const double error = cv::norm(f.aligned_landmarks[k] - tpl[k] * 200.f);
    EXPECT_LT(error, 10.0) << "landmark " << k;
    mean_error += error / 5;
  }
  EXPECT_LT(mean_error, 7.0);  // measured 6.2
}

// The tight-crop fixture is the astronaut aligned by this pipeline: processing it again must give
// one face and (nearly) reproduce it, whichever route (detector, padded retry, whole image) ran.
TEST(FacePipeline, TightCropIsAnsweredAndReproduced) {
  const cv::Mat crop = fixture_rgb("faces/astronaut_crop.jpg");
  ASSERT_EQ(crop.size(), cv::Size(200, 200));
  FacePipeline pipeline(FacePipelineOptions{});
  const auto faces = pipeline.process(crop);
  ASSERT_EQ(faces.size(), 1u);
  cv::Mat diff;
  cv::absdiff(faces[0].aligned, crop, diff);
  const cv::Scalar mean = cv::mean(diff);
  EXPECT_LT((mean[0] + mean[1] + mean[2]) / 3, 20.0) << "source " << faces[0].source;

  // Zoomed in further than any detector handles: padded retry or the whole-image fallback.
  cv::Mat zoomed;
  cv::resize(crop(cv::Rect(40, 40, 120, 120)), zoomed, cv::Size(200, 200));
  const auto zoomed_faces = pipeline.process(zoomed);
  ASSERT_EQ(zoomed_faces.size(), 1u);
  EXPECT_TRUE(zoomed_faces[0].source == "padded_retry" || zoomed_faces[0].source == "whole_image")
      << zoomed_faces[0].source;
}

TEST(FacePipeline, YunetFindsTheGroupAndTheAstronaut) {
  const std::string model = testing::shared_yunet();
  if (model.empty()) GTEST_SKIP() << "shared/weights/yunet.onnx is not available";
  FacePipelineOptions options;
  options.detector = "yunet";
  options.detector_options.model_path = model;
  FacePipeline pipeline(options);
  EXPECT_GE(pipeline.process(fixture_rgb("faces/group.jpg")).size(), 2u);
  const auto faces = pipeline.process(fixture_rgb("astronaut.png"));
  ASSERT_EQ(faces.size(), 1u);
  EXPECT_TRUE(faces[0].has_landmarks);
  EXPECT_THROW(pipeline.process(fixture_rgb("no_face/rocket.jpg")), Error);
}

TEST(FacePipeline, RejectsNonRgbInput) {
  FacePipelineOptions options;
  options.detector = "none";
  FacePipeline pipeline(options);
  EXPECT_THROW(pipeline.process(cv::Mat(50, 50, CV_8UC4)), Error);
}

TEST(FaceSelectionNames, RoundTrip) {
  for (auto s : {FaceSelection::kAll, FaceSelection::kLargest, FaceSelection::kMostConfident}) {
    EXPECT_EQ(face_selection_from_name(face_selection_name(s)), s);
  }
  EXPECT_THROW(face_selection_from_name("first"), Error);
}

}  // namespace
}  // namespace faceage::face
