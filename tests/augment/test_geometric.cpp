#include "faceage/augment/geometric.hpp"

#include <gtest/gtest.h>

#include <opencv2/imgproc.hpp>

#include "faceage/augment/augmenter.hpp"
#include "faceage/core/error.hpp"

namespace faceage::augment {
namespace {

cv::Mat pattern(int width, int height, int seed) {
  cv::Mat img(height, width, CV_8UC3);
  cv::RNG rng(seed);
  rng.fill(img, cv::RNG::UNIFORM, 0, 256);
  return img;
}

void expect_point(const cv::Point2f& actual, double x, double y, double tol = 1e-4) {
  EXPECT_NEAR(actual.x, x, tol);
  EXPECT_NEAR(actual.y, y, tol);
}

bool same_bytes(const cv::Mat& a, const cv::Mat& b) {
  return a.size() == b.size() && a.type() == b.type() && cv::norm(a, b, cv::NORM_INF) == 0;
}

TEST(GeometricMatrix, IdentityParamsAreACentreAlignedResize) {
  const auto m = geometric_matrix({200, 200}, {112, 112}, {}, {});
  // cv::resize maps x_out = (x_src + 0.5) * 112/200 - 0.5.
  expect_point(transform_point(m, {0, 0}), 0.5 * 0.56 - 0.5, 0.5 * 0.56 - 0.5);
  expect_point(transform_point(m, {99.5f, 99.5f}), 55.5, 55.5);
  expect_point(transform_point(m, {199, 0}), 199.5 * 0.56 - 0.5, 0.5 * 0.56 - 0.5);
}

TEST(GeometricMatrix, ScaleAspectRotationAndShiftAboutTheCentre) {
  const cv::Size size(101, 101);  // centre (50, 50)
  AffineParams zoom;
  zoom.scale = 2.0;
  expect_point(transform_point(geometric_matrix(size, size, {}, zoom), {60, 50}), 70, 50);

  AffineParams stretch;
  stretch.aspect = 4.0;  // x * 2, y * 0.5
  expect_point(transform_point(geometric_matrix(size, size, {}, stretch), {60, 60}), 70, 55);

  AffineParams rotate;
  rotate.angle_deg = 90;  // counter-clockwise as displayed: right of centre -> above centre
  expect_point(transform_point(geometric_matrix(size, size, {}, rotate), {60, 50}), 50, 40);
  rotate.angle_deg = 30;
  const auto p = transform_point(geometric_matrix(size, size, {}, rotate), {60, 50});
  EXPECT_NEAR(p.x, 50 + 10 * std::cos(CV_PI / 6), 1e-4);
  EXPECT_NEAR(p.y, 50 - 10 * std::sin(CV_PI / 6), 1e-4);

  AffineParams shift;
  shift.tx = 0.1;
  shift.ty = -0.2;
  expect_point(transform_point(geometric_matrix(size, size, {}, shift), {50, 50}), 50 + 10.1, 50 - 20.2);

  FlipParams flip{true};
  expect_point(transform_point(geometric_matrix(size, size, flip, {}), {0, 7}), 100, 7);
}

TEST(GeometricMatrix, FlipOfAKnownPatternMatchesCvFlipExactly) {
  const cv::Mat img = pattern(9, 9, 1);
  Augmenter augmenter({}, 9);
  AugmentParams params;
  params.flip.flip = true;
  Landmarks lm{cv::Point2f(2, 3), cv::Point2f(6, 3), cv::Point2f(4, 5), cv::Point2f(3, 7), cv::Point2f(5, 7)};
  const auto out = augmenter.apply(img, lm, params);
  cv::Mat expected;
  cv::flip(img, expected, 1);
  EXPECT_TRUE(same_bytes(out.image, expected));
  // Right eye (index 0) was at x=6 after mirroring the left eye; indices swap so order holds.
  expect_point(out.landmarks[0], 2, 3);
  expect_point(out.landmarks[1], 6, 3);
  expect_point(out.landmarks[2], 4, 5);
  expect_point(out.landmarks[3], 3, 7);
  expect_point(out.landmarks[4], 5, 7);
}

TEST(GeometricMatrix, Rotation90OfASmallAsymmetricImageMatchesCvRotate) {
  const cv::Mat img = pattern(9, 9, 2);
  Augmenter augmenter({}, 9);
  AugmentParams params;
  params.affine.angle_deg = 90;
  const auto out = augmenter.apply(img, Landmarks{}, params);
  cv::Mat expected;
  cv::rotate(img, expected, cv::ROTATE_90_COUNTERCLOCKWISE);
  EXPECT_TRUE(same_bytes(out.image, expected));
  // The right-middle pixel ends up top-middle.
  EXPECT_EQ(out.image.at<cv::Vec3b>(0, 4), img.at<cv::Vec3b>(4, 8));
  params.affine.angle_deg = -90;
  cv::rotate(img, expected, cv::ROTATE_90_CLOCKWISE);
  EXPECT_TRUE(same_bytes(augmenter.apply(img, Landmarks{}, params).image, expected));
}

TEST(GeometricMatrix, IntegerTranslationShiftsPixels) {
  const cv::Mat img = pattern(8, 8, 3);
  Augmenter augmenter({}, 8);
  AugmentParams params;
  params.affine.tx = 0.25;  // 2 px right
  params.affine.ty = 0.125;  // 1 px down
  const auto out = augmenter.apply(img, Landmarks{}, params);
  for (int y = 1; y < 8; ++y) {
    for (int x = 2; x < 8; ++x) EXPECT_EQ(out.image.at<cv::Vec3b>(y, x), img.at<cv::Vec3b>(y - 1, x - 2));
  }
}

TEST(GeometricMatrix, BoxesMoveAsEdgeCoordinates) {
  const auto flip = geometric_matrix({100, 100}, {100, 100}, FlipParams{true}, {});
  const auto box = transform_box(flip, {0, 0, 10, 20});
  EXPECT_NEAR(box.x, 90, 1e-4);
  EXPECT_NEAR(box.y, 0, 1e-4);
  EXPECT_NEAR(box.width, 10, 1e-4);
  EXPECT_NEAR(box.height, 20, 1e-4);

  const auto half = transform_box(geometric_matrix({200, 200}, {100, 100}, {}, {}), {20, 40, 60, 80});
  EXPECT_NEAR(half.x, 10, 1e-4);
  EXPECT_NEAR(half.y, 20, 1e-4);
  EXPECT_NEAR(half.width, 30, 1e-4);
  EXPECT_NEAR(half.height, 40, 1e-4);

  AffineParams rotate;
  rotate.angle_deg = 90;  // a 20 x 10 box centred on the image becomes 10 x 20
  const auto turned = transform_box(geometric_matrix({100, 100}, {100, 100}, {}, rotate), {40, 45, 20, 10});
  EXPECT_NEAR(turned.x, 45, 1e-4);
  EXPECT_NEAR(turned.y, 40, 1e-4);
  EXPECT_NEAR(turned.width, 10, 1e-4);
  EXPECT_NEAR(turned.height, 20, 1e-4);
}

TEST(EvalHelpers, ResizeForEvalIsAPlainResize) {
  const cv::Mat img = pattern(200, 200, 4);
  cv::Mat expected;
  cv::resize(img, expected, cv::Size(112, 112), 0, 0, cv::INTER_LINEAR);
  EXPECT_TRUE(same_bytes(resize_for_eval(img, 112), expected));
  const cv::Mat same = resize_for_eval(img, 200);
  EXPECT_TRUE(same_bytes(same, img));
  EXPECT_NE(same.data, img.data);  // a copy the caller owns
}

TEST(EvalHelpers, ResizeForEvalRejectsBadInput) {
  EXPECT_THROW(resize_for_eval(cv::Mat(), 112), Error);
  EXPECT_THROW(resize_for_eval(cv::Mat(10, 10, CV_8UC1, cv::Scalar(0)), 112), Error);
  EXPECT_THROW(resize_for_eval(cv::Mat(10, 10, CV_8UC3, cv::Scalar(0)), 0), Error);
  try {
    resize_for_eval(cv::Mat(10, 10, CV_32FC3, cv::Scalar(0)), 112);
    FAIL();
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::kInvalidArgument);
  }
}

TEST(EvalHelpers, HflipMirrorsImageAndLandmarks) {
  const cv::Mat img = pattern(7, 4, 5);
  const cv::Mat flipped = hflip(img);
  EXPECT_EQ(flipped.at<cv::Vec3b>(1, 0), img.at<cv::Vec3b>(1, 6));
  const Landmarks lm{cv::Point2f(1, 1), cv::Point2f(5, 1.5f), cv::Point2f(3, 2), cv::Point2f(2, 3), cv::Point2f(4.5f, 3)};
  const Landmarks m = hflip_landmarks(lm, 7);
  expect_point(m[0], 1, 1.5);  // the old left eye (x=5) mirrored to x=1 is now the right eye
  expect_point(m[1], 5, 1);
  expect_point(m[2], 3, 2);
  expect_point(m[3], 1.5, 3);
  expect_point(m[4], 4, 3);
  const Landmarks back = hflip_landmarks(m, 7);
  for (int i = 0; i < 5; ++i) expect_point(back[i], lm[i].x, lm[i].y);
}

}  // namespace
}  // namespace faceage::augment
