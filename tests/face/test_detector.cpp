#include "faceage/face/detector.hpp"

#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <thread>

#include "face/detectors.hpp"
#include "face/face_test_util.hpp"

namespace faceage::face {
namespace {

using testing::fixture_rgb;

// Golden values for tests/fixtures/astronaut.png, hand-checked against the image (face at
// x 180-265, y 70-170; eyes near y 103, mouth near y 140). Tolerance: 3 px, as detectors
// differ by a pixel or two across builds and BLAS/threads.
constexpr float kTol = 3.f;

void expect_near(const cv::Point2f& got, const cv::Point2f& want, const char* what) {
  EXPECT_NEAR(got.x, want.x, kTol) << what;
  EXPECT_NEAR(got.y, want.y, kTol) << what;
}

TEST(DetectorRegistry, ListsBuiltinsAndRejectsUnknownNames) {
  const auto& registry = builtin_detectors();
  EXPECT_EQ(registry.names(), (std::vector<std::string>{"dlib-hog", "none", "yunet", "yunet-dlib68"}));
  try {
    registry.create("mtcnn", DetectorOptions{});
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::kNotFound);
    EXPECT_STREQ(e.what(), "unknown detector 'mtcnn'; available: dlib-hog, none, yunet, yunet-dlib68");
  }
}

TEST(DetectorOptionsValidate, NamesTheBadKey) {
  DetectorOptions options;
  options.nms_threshold = 1.5f;
  try {
    validate(options);
    FAIL();
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::kInvalidArgument);
    EXPECT_NE(std::string(e.what()).find("detector_options.nms_threshold"), std::string::npos);
  }
  options = DetectorOptions{};
  options.max_side = 10;
  EXPECT_THROW(validate(options), Error);
  EXPECT_NO_THROW(validate(DetectorOptions{}));
}

TEST(NoneDetector, ReturnsTheWholeImage) {
  auto detector = builtin_detectors().create("none", DetectorOptions{});
  const auto faces = detector->detect(cv::Mat(30, 40, CV_8UC3, cv::Scalar::all(7)));
  ASSERT_EQ(faces.size(), 1u);
  EXPECT_EQ(faces[0].box, cv::Rect2f(0, 0, 40, 30));
  EXPECT_FALSE(faces[0].has_landmarks);
}

TEST(NoneDetector, RejectsNonRgbInput) {
  auto detector = builtin_detectors().create("none", DetectorOptions{});
  try {
    detector->detect(cv::Mat(10, 10, CV_8UC1, cv::Scalar(0)));
    FAIL();
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::kInvalidArgument);
  }
  EXPECT_THROW(detector->detect(cv::Mat()), Error);
}

TEST(YunetDetector, MissingModelIsNotFoundWithAHint) {
  DetectorOptions options;
  options.model_path = "/nonexistent/yunet.onnx";
  try {
    builtin_detectors().create("yunet", options);
    FAIL();
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::kNotFound);
    EXPECT_NE(std::string(e.what()).find("/nonexistent/yunet.onnx"), std::string::npos);
  }
  const faceage::testing::TempDir empty_folder;
  options.model_path = empty_folder.path().string();
  try {
    builtin_detectors().create("yunet", options);
    FAIL();
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::kNotFound);
    EXPECT_NE(std::string(e.what()).find("yunet_<W>x<H>.onnx"), std::string::npos) << e.what();
  }
}

// No option, no environment variable: the files shipped in models/face/, found beside the test
// program (build/models links to the repository's models/).
TEST(YunetDetector, ShippedModelLoadsFromTheRepositoryPath) {
  const char* saved = std::getenv(kYunetModelEnv);
  const std::string restore = saved ? saved : "";
  unsetenv(kYunetModelEnv);
  const std::string resolved = resolve_yunet_model(DetectorOptions{});
  if (!restore.empty()) setenv(kYunetModelEnv, restore.c_str(), 1);
  ASSERT_FALSE(resolved.empty());
  EXPECT_TRUE(std::filesystem::equivalent(resolved, testing::shipped_yunet_dir())) << resolved;
  DetectorOptions options;
  options.model_path = resolved;
  auto detector = builtin_detectors().create("yunet", options);
  const auto faces = detector->detect(fixture_rgb("astronaut.png"));
  ASSERT_EQ(faces.size(), 1u);
  EXPECT_GT(faces[0].score, 0.9f);
}

// Crop caches key on this: other detector files must give another id.
TEST(DetectorModelId, NamesEachYunetFileByItsHash) {
  DetectorOptions options;
  options.model_path = testing::shipped_yunet_dir();
  const std::string folder_id = detector_model_id("yunet", options);
  EXPECT_NE(folder_id.find("yunet_160x120.onnx:8f92fccc369c7ff0e6e37205af0484a305514ec727350a2c0f5da2b3268b5cb2"),
            std::string::npos) << folder_id;
  EXPECT_NE(folder_id.find("yunet_640x480.onnx:"), std::string::npos) << folder_id;
  options.model_path = testing::shipped_yunet_160x120();
  EXPECT_EQ(detector_model_id("yunet", options),
            "yunet_160x120.onnx:8f92fccc369c7ff0e6e37205af0484a305514ec727350a2c0f5da2b3268b5cb2 ");
  EXPECT_EQ(detector_model_id("none", options), "");
  options.landmarks_model = "/some/landmarks.dat";
  EXPECT_EQ(detector_model_id("dlib-hog", options), "/some/landmarks.dat");
  // YuNet's files and the landmark model both shape yunet-dlib68's crops.
  EXPECT_EQ(detector_model_id("yunet-dlib68", options),
            "yunet_160x120.onnx:8f92fccc369c7ff0e6e37205af0484a305514ec727350a2c0f5da2b3268b5cb2 /some/landmarks.dat; "
            "turned faces keep yunet's points (eyes apart > 0.1 box)");
}

TEST(YunetDetector, GoldenAstronaut) {
  DetectorOptions options;
  options.model_path = testing::shipped_yunet_160x120();
  options.refine_face_size = 0;  // the one 160x120 pass these values were recorded with
  auto detector = builtin_detectors().create("yunet", options);
  EXPECT_EQ(detector->name(), "yunet");
  const auto faces = detector->detect(fixture_rgb("astronaut.png"));
  ASSERT_EQ(faces.size(), 1u);
  const FaceDetection& f = faces[0];
  EXPECT_GT(f.score, 0.9f);
  ASSERT_TRUE(f.has_landmarks);
  expect_near(f.box.tl(), {176.5f, 69.8f}, "box top-left");
  expect_near(f.box.br(), {273.4f, 171.5f}, "box bottom-right");
  expect_near(f.landmarks[kRightEye], {200.8f, 104.3f}, "right eye");
  expect_near(f.landmarks[kLeftEye], {242.7f, 102.7f}, "left eye");
  expect_near(f.landmarks[kNoseTip], {221.4f, 126.1f}, "nose");
  expect_near(f.landmarks[kRightMouth], {205.7f, 143.6f}, "right mouth");
  expect_near(f.landmarks[kLeftMouth], {240.4f, 142.2f}, "left mouth");
}

// The second pass runs where it pays: not for a portrait whose face is already ~56 px in the
// 160x120 pass (its second pass would be a 320x240 one, ~6x the cost, for nothing measurable), but
// for a small face in a large photo (~31 px in the 640x480 pass).
TEST(YunetDetector, SecondPassOnlyWhereItPays) {
  DetectorOptions refined;
  refined.model_path = testing::shipped_yunet_dir();
  DetectorOptions one_pass = refined;
  one_pass.refine_face_size = 0;
  auto with_refine = builtin_detectors().create("yunet", refined);
  auto without = builtin_detectors().create("yunet", one_pass);
  const cv::Mat astronaut = fixture_rgb("astronaut.png");
  cv::Mat portrait;  // bench/load_test.sh's 200x200 face
  cv::resize(astronaut(cv::Rect(96, 0, 256, 256)), portrait, cv::Size(200, 200), 0, 0, cv::INTER_AREA);
  auto a = with_refine->detect(portrait);
  auto b = without->detect(portrait);
  ASSERT_EQ(a.size(), 1u);
  ASSERT_EQ(b.size(), 1u);
  EXPECT_EQ(a[0].box, b[0].box);

  cv::Mat photo;
  cv::resize(fixture_rgb("no_face/rocket.jpg"), photo, cv::Size(1024, 768), 0, 0, cv::INTER_AREA);
  cv::Mat small;
  cv::resize(astronaut, small, cv::Size(256, 256), 0, 0, cv::INTER_AREA);  // its face ~50 px
  small.copyTo(photo(cv::Rect(600, 300, 256, 256)));
  a = with_refine->detect(photo);
  b = without->detect(photo);
  ASSERT_EQ(a.size(), 1u);
  ASSERT_EQ(b.size(), 1u);
  EXPECT_NE(a[0].box, b[0].box) << "the small face's second pass did not run";
}

TEST(YunetDetector, FindsNoFaceInARocket) {
  DetectorOptions options;
  options.model_path = testing::shipped_yunet_160x120();
  auto detector = builtin_detectors().create("yunet", options);
  EXPECT_TRUE(detector->detect(fixture_rgb("no_face/rocket.jpg")).empty());
}

// One box-only dlib detector for the suite: building dlib's HOG model is not free.
class DlibHogDetectorTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    DetectorOptions options;
    options.landmarks_model = "none";
    detector_ = builtin_detectors().create("dlib-hog", options).release();
  }
  static void TearDownTestSuite() {
    delete detector_;
    detector_ = nullptr;
  }
  static FaceDetector* detector_;
};
FaceDetector* DlibHogDetectorTest::detector_ = nullptr;

TEST_F(DlibHogDetectorTest, GoldenAstronautBox) {
  FaceDetector* detector = detector_;
  EXPECT_EQ(detector->name(), "dlib-hog");
  const auto faces = detector->detect(fixture_rgb("astronaut.png"));
  ASSERT_EQ(faces.size(), 1u);
  EXPECT_FALSE(faces[0].has_landmarks);
  EXPECT_GT(faces[0].score, 1.0f);
  expect_near(faces[0].box.tl(), {179.f, 83.f}, "box top-left");
  expect_near(faces[0].box.br(), {267.f, 171.f}, "box bottom-right");
}

TEST(DlibHogDetector, GoldenAstronautLandmarks) {
  if (!testing::have_dlib_landmarks()) GTEST_SKIP() << "libdlib-data's shape predictor is not installed";
  auto detector = builtin_detectors().create("dlib-hog", DetectorOptions{});
  const auto faces = detector->detect(fixture_rgb("astronaut.png"));
  ASSERT_EQ(faces.size(), 1u);
  const FaceDetection& f = faces[0];
  ASSERT_TRUE(f.has_landmarks);
  expect_near(f.landmarks[kRightEye], {203.3f, 101.7f}, "right eye");
  expect_near(f.landmarks[kLeftEye], {246.8f, 103.8f}, "left eye");
  expect_near(f.landmarks[kNoseTip], {225.f, 127.f}, "nose");
  expect_near(f.landmarks[kRightMouth], {200.f, 139.f}, "right mouth");
  expect_near(f.landmarks[kLeftMouth], {246.f, 141.f}, "left mouth");
  // The subject's right eye is at the smaller x in a frontal image (YuNet's convention).
  EXPECT_LT(f.landmarks[kRightEye].x, f.landmarks[kLeftEye].x);
}

TEST(DlibHogDetector, DownscaledDetectionMapsBackToFullResolution) {
  DetectorOptions options;
  options.landmarks_model = "none";
  options.max_side = 400;  // the 512 px astronaut is detected at 400 px and mapped back
  auto detector = builtin_detectors().create("dlib-hog", options);
  const auto faces = detector->detect(fixture_rgb("astronaut.png"));
  ASSERT_EQ(faces.size(), 1u);
  const cv::Point2f centre = (faces[0].box.tl() + faces[0].box.br()) * 0.5f;
  EXPECT_NEAR(centre.x, 223.f, 8.f);
  EXPECT_NEAR(centre.y, 127.f, 8.f);
  EXPECT_NEAR(faces[0].box.width, 88.f, 15.f);
}

TEST(DlibHogDetector, MissingLandmarkModelIsNotFound) {
  DetectorOptions options;
  options.landmarks_model = "/nonexistent/shape_predictor.dat";
  try {
    builtin_detectors().create("dlib-hog", options);
    FAIL();
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::kNotFound);
    EXPECT_NE(e.hint().find("landmarks_model"), std::string::npos);
  }
}

TEST_F(DlibHogDetectorTest, FindsTwoFacesInTheGroupAndNoneInARocket) {
  FaceDetector* detector = detector_;
  EXPECT_GE(detector->detect(fixture_rgb("faces/group.jpg")).size(), 2u);
  EXPECT_TRUE(detector->detect(fixture_rgb("no_face/rocket.jpg")).empty());
}

// YuNet's faces, dlib's landmarks: the box and score are YuNet's (GoldenAstronaut above) and the
// five points are where dlib-hog's own pipeline puts them (GoldenAstronautLandmarks), because the
// shape predictor starts from the box dlib's detector would have drawn.
TEST(YunetDlibLandmarksDetector, YunetBoxWithDlibLandmarks) {
  if (!testing::have_dlib_landmarks()) GTEST_SKIP() << "libdlib-data's shape predictor is not installed";
  DetectorOptions options;
  options.model_path = testing::shipped_yunet_160x120();
  options.refine_face_size = 0;
  auto detector = builtin_detectors().create("yunet-dlib68", options);
  EXPECT_EQ(detector->name(), "yunet-dlib68");
  const auto faces = detector->detect(fixture_rgb("astronaut.png"));
  ASSERT_EQ(faces.size(), 1u);
  const FaceDetection& f = faces[0];
  EXPECT_GT(f.score, 0.9f);
  ASSERT_TRUE(f.has_landmarks);
  expect_near(f.box.tl(), {176.5f, 69.8f}, "box top-left");
  expect_near(f.box.br(), {273.4f, 171.5f}, "box bottom-right");
  expect_near(f.landmarks[kRightEye], {203.3f, 101.7f}, "right eye");
  expect_near(f.landmarks[kLeftEye], {246.8f, 103.8f}, "left eye");
  expect_near(f.landmarks[kNoseTip], {225.f, 127.f}, "nose");
  expect_near(f.landmarks[kRightMouth], {200.f, 139.f}, "right mouth");
  expect_near(f.landmarks[kLeftMouth], {246.f, 141.f}, "left mouth");
  EXPECT_TRUE(detector->detect(fixture_rgb("no_face/rocket.jpg")).empty());
}

// Detectors of one landmark file share one loaded model (face/dlib_landmarks.cpp), used from many
// threads at once as the pipeline pool does: every thread gets the single-threaded answer.
TEST(YunetDlibLandmarksDetector, DetectorsOnManyThreadsAgree) {
  if (!testing::have_dlib_landmarks()) GTEST_SKIP() << "libdlib-data's shape predictor is not installed";
  DetectorOptions options;
  options.model_path = testing::shipped_yunet_160x120();
  const cv::Mat astronaut = fixture_rgb("astronaut.png");
  const auto expected = builtin_detectors().create("yunet-dlib68", options)->detect(astronaut);
  ASSERT_EQ(expected.size(), 1u);
  constexpr int kThreads = 4;
  std::vector<std::vector<FaceDetection>> got(kThreads);
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      auto detector = builtin_detectors().create("yunet-dlib68", options);
      for (int i = 0; i < 5; ++i) got[t] = detector->detect(astronaut);
    });
  }
  for (auto& thread : threads) thread.join();
  for (const auto& faces : got) {
    ASSERT_EQ(faces.size(), 1u);
    for (int k = 0; k < 5; ++k) EXPECT_EQ(faces[0].landmarks[k], expected[0].landmarks[k]) << "landmark " << k;
  }
}

// dlib's points are kept only where they agree with YuNet's on the eyes (a turned face makes
// dlib's frontal shape land off the face).
TEST(YunetDlibLandmarksDetector, KeepsDlibsPointsOnlyWhereTheEyesAgree) {
  FaceDetection yunet;
  yunet.box = cv::Rect2f(100, 100, 200, 200);
  yunet.landmarks = {cv::Point2f(160, 170), cv::Point2f(240, 170), cv::Point2f(200, 210), cv::Point2f(165, 250),
                     cv::Point2f(235, 250)};
  yunet.has_landmarks = true;
  std::array<cv::Point2f, 5> dlib = yunet.landmarks;
  dlib[kRightMouth].y += 40;  // only the eyes count
  EXPECT_TRUE(dlib_eyes_agree(yunet, dlib));
  dlib[kRightEye].x += 19;  // mean eye distance 19 px of a 200 px box: within 0.1 (20 px)
  dlib[kLeftEye].x += 19;
  EXPECT_TRUE(dlib_eyes_agree(yunet, dlib));
  dlib[kRightEye].x += 2;  // 21 px: beyond
  dlib[kLeftEye].x += 2;
  EXPECT_FALSE(dlib_eyes_agree(yunet, dlib));
}

TEST(YunetDlibLandmarksDetector, WithoutALandmarkModelKeepsYunetsOwnPoints) {
  DetectorOptions options;
  options.model_path = testing::shipped_yunet_160x120();
  options.refine_face_size = 0;
  options.landmarks_model = "none";  // what the face check asks for
  const auto faces = builtin_detectors().create("yunet-dlib68", options)->detect(fixture_rgb("astronaut.png"));
  ASSERT_EQ(faces.size(), 1u);
  ASSERT_TRUE(faces[0].has_landmarks);
  expect_near(faces[0].landmarks[kRightEye], {200.8f, 104.3f}, "right eye");
  expect_near(faces[0].landmarks[kNoseTip], {221.4f, 126.1f}, "nose");
}

TEST(YunetDlibLandmarksDetector, MissingLandmarkModelIsNotFound) {
  DetectorOptions options;
  options.model_path = testing::shipped_yunet_160x120();
  options.landmarks_model = "/nonexistent/shape_predictor.dat";
  try {
    builtin_detectors().create("yunet-dlib68", options);
    FAIL();
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::kNotFound);
  }
}

}  // namespace
}  // namespace faceage::face
