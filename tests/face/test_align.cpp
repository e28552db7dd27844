#include "faceage/face/align.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <random>

#include <opencv2/imgproc.hpp>

namespace faceage::face {
namespace {

cv::Matx23d make_similarity(double scale, double degrees, double tx, double ty) {
  const double r = degrees * CV_PI / 180.0;
  return cv::Matx23d(scale * std::cos(r), -scale * std::sin(r), tx, scale * std::sin(r), scale * std::cos(r), ty);
}

TEST(EstimateSimilarity, RecoversAKnownTransformExactly) {
  const cv::Matx23d truth = make_similarity(1.7, 23.0, -12.5, 40.25);
  const std::vector<cv::Point2f> src{{10, 20}, {80, 22}, {45, 60}, {20, 90}, {75, 88}};
  std::vector<cv::Point2f> dst;
  for (const auto& p : src) dst.push_back(transform_point(truth, p));
  const cv::Matx23d m = estimate_similarity(src, dst);
  for (int i = 0; i < 2; ++i)
    for (int j = 0; j < 3; ++j) EXPECT_NEAR(m(i, j), truth(i, j), 1e-4) << i << "," << j;
}

TEST(EstimateSimilarity, IsTheLeastSquaresFitUnderNoise) {
  const cv::Matx23d truth = make_similarity(0.6, -40.0, 100.0, 5.0);
  std::mt19937 rng(7);
  std::normal_distribution<float> noise(0.f, 0.5f);
  std::vector<cv::Point2f> src, dst;
  for (int i = 0; i < 50; ++i) {
    src.emplace_back(static_cast<float>(i * 7 % 97), static_cast<float>(i * 13 % 89));
    dst.push_back(transform_point(truth, src.back()) + cv::Point2f(noise(rng), noise(rng)));
  }
  const cv::Matx23d m = estimate_similarity(src, dst);
  EXPECT_NEAR(std::hypot(m(0, 0), m(1, 0)), 0.6, 0.01);
  EXPECT_NEAR(std::atan2(m(1, 0), m(0, 0)) * 180.0 / CV_PI, -40.0, 0.5);
  // Independent check: solve the same 4-parameter linear least squares with cv::solve (SVD).
  cv::Mat A(static_cast<int>(2 * src.size()), 4, CV_64F), B(static_cast<int>(2 * src.size()), 1, CV_64F);
  for (int i = 0; i < static_cast<int>(src.size()); ++i) {
    const double x = src[i].x, y = src[i].y;
    cv::Mat(cv::Matx14d(x, -y, 1, 0)).copyTo(A.row(2 * i));
    cv::Mat(cv::Matx14d(y, x, 0, 1)).copyTo(A.row(2 * i + 1));
    B.at<double>(2 * i) = dst[i].x;
    B.at<double>(2 * i + 1) = dst[i].y;
  }
  cv::Mat X;
  ASSERT_TRUE(cv::solve(A, B, X, cv::DECOMP_SVD));
  EXPECT_NEAR(m(0, 0), X.at<double>(0), 1e-6);
  EXPECT_NEAR(m(1, 0), X.at<double>(1), 1e-6);
  EXPECT_NEAR(m(0, 2), X.at<double>(2), 1e-4);
  EXPECT_NEAR(m(1, 2), X.at<double>(3), 1e-4);
}

TEST(EstimateSimilarity, RejectsDegenerateInput) {
  EXPECT_THROW(estimate_similarity({{1, 1}}, {{2, 2}}), Error);
  EXPECT_THROW(estimate_similarity({{1, 1}, {2, 2}}, {{2, 2}}), Error);
  EXPECT_THROW(estimate_similarity({{3, 3}, {3, 3}, {3, 3}}, {{0, 0}, {1, 0}, {0, 1}}), Error);
}

TEST(UtkfaceTemplate, HasAPlausibleFrontalFaceLayout) {
  const AlignmentTemplate t = utkface_template();
  const auto& p = t.points;
  EXPECT_EQ(t.crop_size, 200);
  EXPECT_LT(p[kRightEye].x, p[kLeftEye].x);
  EXPECT_LT(p[kRightMouth].x, p[kLeftMouth].x);
  EXPECT_NEAR(p[kRightEye].y, p[kLeftEye].y, 0.02);
  EXPECT_LT(p[kLeftEye].y, p[kNoseTip].y);
  EXPECT_LT(p[kNoseTip].y, p[kRightMouth].y);
  EXPECT_NEAR((p[kRightEye].x + p[kLeftEye].x) / 2, 0.5, 0.02);
  EXPECT_NEAR(p[kLeftEye].x - p[kRightEye].x, 0.40, 0.05);  // UTKFace crops are tight
  ASSERT_EQ(t.boxes.size(), 2u);
}

TEST(AlignmentTemplateJson, RoundTrips) {
  const AlignmentTemplate t = utkface_template();
  const AlignmentTemplate back = alignment_template_from_json(to_json(t));
  EXPECT_EQ(back.crop_size, t.crop_size);
  for (int k = 0; k < 5; ++k) {
    EXPECT_FLOAT_EQ(back.points[k].x, t.points[k].x);
    EXPECT_FLOAT_EQ(back.points[k].y, t.points[k].y);
  }
  ASSERT_EQ(back.boxes.size(), t.boxes.size());
  EXPECT_THROW(alignment_template_from_json({{"points", {{1, 2}}}}), Error);
  EXPECT_THROW(alignment_template_from_json(nlohmann::json::array()), Error);
}

// A synthetic "face": five bright dots placed where a known similarity sends the template.
// Aligning must bring every dot back onto its template position in the crop.
TEST(AlignFace, BringsKnownLandmarksOntoTheTemplate) {
  AlignOptions options;
  options.crop_size = 200;
  const auto& tpl = options.alignment.points;
  // crop -> image: scale 1.6, rotate 15 degrees, shift.
  const cv::Matx23d crop_to_image = make_similarity(1.6, 15.0, 150.0, 40.0);
  cv::Mat image(480, 640, CV_8UC3, cv::Scalar(20, 20, 20));
  FaceDetection face;
  face.has_landmarks = true;
  for (int k = 0; k < 5; ++k) {
    face.landmarks[k] = transform_point(crop_to_image, tpl[k] * 200.f);
    cv::circle(image, cv::Point(cvRound(face.landmarks[k].x), cvRound(face.landmarks[k].y)), 3,
               cv::Scalar(255, 255, 255), cv::FILLED);
  }
  cv::Matx23d m;
  const cv::Mat crop = align_face(image, face, options, &m);
  ASSERT_EQ(crop.size(), cv::Size(200, 200));
  ASSERT_EQ(crop.type(), CV_8UC3);
  EXPECT_NEAR(std::hypot(m(0, 0), m(1, 0)), 1 / 1.6, 1e-3);
  const auto mapped = transform_points(m, face.landmarks);
  for (int k = 0; k < 5; ++k) {
    const cv::Point2f want = tpl[k] * 200.f;
    EXPECT_NEAR(mapped[k].x, want.x, 0.6f);  // the dots were rounded to whole pixels
    EXPECT_NEAR(mapped[k].y, want.y, 0.6f);
    // The dot is really there in the pixels, and the background is not.
    EXPECT_GT(crop.at<cv::Vec3b>(cvRound(want.y), cvRound(want.x))[0], 150) << "landmark " << k;
  }
  EXPECT_LT(crop.at<cv::Vec3b>(100, 5)[0], 40);
}

TEST(AlignFace, OutOfImageAreasAreBlackLikeUtkface) {
  const cv::Mat image(100, 100, CV_8UC3, cv::Scalar(200, 200, 200));
  FaceDetection face;
  face.box = cv::Rect2f(60, 60, 80, 80);  // hangs over the bottom-right corner
  AlignOptions options;
  const cv::Mat crop = align_face(image, face, options);
  EXPECT_EQ(crop.at<cv::Vec3b>(199, 199), cv::Vec3b(0, 0, 0));
  EXPECT_EQ(crop.at<cv::Vec3b>(10, 10), cv::Vec3b(200, 200, 200));
}

TEST(AlignFace, WholeImageBoxOfACropIsTheIdentity) {
  cv::Mat image(200, 200, CV_8UC3);
  cv::randu(image, cv::Scalar::all(0), cv::Scalar::all(255));
  FaceDetection face;
  face.box = cv::Rect2f(0, 0, 200, 200);
  AlignOptions options;
  options.box_convention = "whole_image";
  cv::Matx23d m;
  const cv::Mat crop = align_face(image, face, options, &m);
  EXPECT_NEAR(m(0, 0), 1.0, 1e-9);
  EXPECT_NEAR(m(0, 2), 0.0, 1e-9);
  EXPECT_NEAR(m(1, 2), 0.0, 1e-9);
  EXPECT_EQ(cv::norm(crop, image, cv::NORM_INF), 0.0);
}

TEST(AlignFace, BoxFallbackPutsTheBoxOnItsCalibratedRegion) {
  AlignOptions options;
  options.box_convention = "dlib-hog";
  const cv::Rect2f target = options.alignment.boxes.front().box;  // dlib-hog
  FaceDetection face;
  face.box = cv::Rect2f(300, 100, 50, 50);
  const cv::Matx23d m = alignment_transform(face, options);
  const cv::Point2f centre = transform_point(m, {325, 125});
  EXPECT_NEAR(centre.x, (target.x + target.width / 2) * 200, 1e-3);
  EXPECT_NEAR(centre.y, (target.y + target.height / 2) * 200, 1e-3);
  EXPECT_NEAR(m(0, 0) * 50, (target.width + target.height) / 2 * 200, 1e-3);
}

TEST(AlignFace, ValidatesOptions) {
  AlignOptions options;
  options.crop_size = 2;
  FaceDetection face;
  face.box = cv::Rect2f(0, 0, 10, 10);
  EXPECT_THROW(align_face(cv::Mat(10, 10, CV_8UC3), face, options), Error);
  EXPECT_THROW(align_face(cv::Mat(10, 10, CV_8UC1), face, AlignOptions{}), Error);
}

}  // namespace
}  // namespace faceage::face
