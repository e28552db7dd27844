#include "faceage/augment/photometric.hpp"

#include <gtest/gtest.h>

#include <opencv2/imgproc.hpp>

#include "faceage/core/error.hpp"
#include "image_checks.hpp"

namespace faceage::augment {
namespace {

using image_checks::sharpness;

cv::Mat constant(int size, cv::Vec3b colour) { return cv::Mat(size, size, CV_8UC3, cv::Scalar(colour[0], colour[1], colour[2])); }

cv::Mat textured(int size) {
  // Smooth colour gradients plus a grey checkerboard (sharp luma edges): JPEG-sensitive, deterministic.
  cv::Mat img(size, size, CV_8UC3);
  for (int y = 0; y < size; ++y) {
    for (int x = 0; x < size; ++x) {
      const int check = ((x / 6) + (y / 6)) % 2 == 0 ? 60 : 0;
      img.at<cv::Vec3b>(y, x) = cv::Vec3b(static_cast<uchar>(60 + x + check), static_cast<uchar>(60 + y + check),
                                          static_cast<uchar>(120 + check));
    }
  }
  return img;
}

ColorParams jitter(double b, double c, double s, double h) {
  ColorParams p;
  p.apply = true;
  p.brightness = b;
  p.contrast = c;
  p.saturation = s;
  p.hue = h;
  return p;
}

TEST(Color, BrightnessScalesAConstantImage) {
  cv::Mat out;
  apply_color(constant(4, {100, 40, 10}), out, jitter(1.5, 1, 1, 0), {});
  EXPECT_EQ(out.at<cv::Vec3b>(2, 3), cv::Vec3b(150, 60, 15));
  apply_color(constant(4, {100, 40, 10}), out, jitter(3.0, 1, 1, 0), {});
  EXPECT_EQ(out.at<cv::Vec3b>(0, 0), cv::Vec3b(255, 120, 30));  // saturates, no wrap-around
}

TEST(Color, ContrastBlendsWithTheMeanGreyLevel) {
  cv::Mat out;
  // A constant grey image is its own mean: contrast cannot change it.
  apply_color(constant(4, {90, 90, 90}), out, jitter(1, 0.3, 1, 0), {});
  EXPECT_EQ(out.at<cv::Vec3b>(1, 1), cv::Vec3b(90, 90, 90));
  // Half 50, half 150 (mean 100): contrast 2 -> 0 and 200; contrast 0.5 -> 75 and 125.
  cv::Mat two(4, 4, CV_8UC3, cv::Scalar::all(50));
  two.rowRange(2, 4).setTo(cv::Scalar::all(150));
  apply_color(two, out, jitter(1, 2.0, 1, 0), {});
  EXPECT_EQ(out.at<cv::Vec3b>(0, 0), cv::Vec3b(0, 0, 0));
  EXPECT_EQ(out.at<cv::Vec3b>(3, 3), cv::Vec3b(200, 200, 200));
  apply_color(two, out, jitter(1, 0.5, 1, 0), {});
  EXPECT_EQ(out.at<cv::Vec3b>(0, 0), cv::Vec3b(75, 75, 75));
  EXPECT_EQ(out.at<cv::Vec3b>(3, 3), cv::Vec3b(125, 125, 125));
  // Brightness first: 0.5 * {50,150} = {25,75}, mean 50; contrast 2 -> {0, 100}.
  apply_color(two, out, jitter(0.5, 2.0, 1, 0), {});
  EXPECT_EQ(out.at<cv::Vec3b>(0, 0), cv::Vec3b(0, 0, 0));
  EXPECT_EQ(out.at<cv::Vec3b>(3, 3), cv::Vec3b(100, 100, 100));
}

TEST(Color, ZeroSaturationIsLuma) {
  cv::Mat out;
  apply_color(constant(3, {200, 100, 50}), out, jitter(1, 1, 0, 0), {});
  // 0.299*200 + 0.587*100 + 0.114*50 = 124.2
  EXPECT_EQ(out.at<cv::Vec3b>(1, 1), cv::Vec3b(124, 124, 124));
  // Saturation 2 pushes away from grey: 2*x - 124.2 -> 275.8 (255), 75.8, -24.2 (0).
  apply_color(constant(3, {200, 100, 50}), out, jitter(1, 1, 2, 0), {});
  EXPECT_EQ(out.at<cv::Vec3b>(1, 1), cv::Vec3b(255, 76, 0));
}

TEST(Color, GrayscaleGivesEqualChannelsEqualToLuma) {
  const cv::Mat img = textured(32);
  cv::Mat out;
  apply_color(img, out, {}, GrayscaleParams{true});
  cv::Mat grey;
  cv::cvtColor(img, grey, cv::COLOR_RGB2GRAY);
  for (int y = 0; y < 32; ++y) {
    for (int x = 0; x < 32; ++x) {
      const auto px = out.at<cv::Vec3b>(y, x);
      ASSERT_EQ(px[0], px[1]);
      ASSERT_EQ(px[1], px[2]);
      ASSERT_NEAR(px[0], grey.at<uchar>(y, x), 1);
    }
  }
}

TEST(Color, HueShiftMovesHsvHueAndKeepsLuma) {
  const cv::Vec3b red(200, 60, 60);
  auto hsv_hue = [](cv::Vec3b rgb) {
    cv::Mat px(1, 1, CV_8UC3, cv::Scalar(rgb[0], rgb[1], rgb[2])), hsv;
    cv::cvtColor(px, hsv, cv::COLOR_RGB2HSV_FULL);  // hue 0..255 for a full turn
    return hsv.at<cv::Vec3b>(0, 0)[0] * 360.0 / 256.0;
  };
  cv::Mat out;
  apply_color(constant(2, red), out, jitter(1, 1, 1, 0.05), {});
  const auto shifted = out.at<cv::Vec3b>(0, 0);
  // +0.05 turn = +18 degrees towards yellow; YIQ rotation approximates HSV within a few degrees.
  EXPECT_NEAR(hsv_hue(shifted) - hsv_hue(red), 18.0, 6.0);
  auto luma = [](cv::Vec3b p) { return 0.299 * p[0] + 0.587 * p[1] + 0.114 * p[2]; };
  EXPECT_NEAR(luma(shifted), luma(red), 1.5);
  // A full turn is the identity.
  apply_color(constant(2, red), out, jitter(1, 1, 1, 1.0), {});
  EXPECT_LE(cv::norm(out.at<cv::Vec3b>(0, 0), red, cv::NORM_INF), 1);
}

TEST(Color, NothingToApplyCopies) {
  const cv::Mat img = textured(8);
  cv::Mat out;
  apply_color(img, out, {}, {});
  EXPECT_EQ(cv::norm(img, out, cv::NORM_INF), 0);
  EXPECT_NE(img.data, out.data);
}

TEST(Blur, SpreadsAnImpulseSymmetricallyAndKeepsConstants) {
  cv::Mat img(21, 21, CV_8UC3, cv::Scalar::all(0));
  img.at<cv::Vec3b>(10, 10) = cv::Vec3b(255, 255, 255);
  apply_blur(img, 1.0);
  const int centre = img.at<cv::Vec3b>(10, 10)[0];
  // 2-D Gaussian peak for sigma 1: 255 / (2 pi) ~ 40.6.
  EXPECT_NEAR(centre, 40.6, 2.0);
  EXPECT_EQ(img.at<cv::Vec3b>(10, 9)[1], img.at<cv::Vec3b>(10, 11)[1]);
  EXPECT_EQ(img.at<cv::Vec3b>(9, 10)[2], img.at<cv::Vec3b>(11, 10)[2]);
  EXPECT_GT(img.at<cv::Vec3b>(10, 11)[0], img.at<cv::Vec3b>(10, 12)[0]);
  EXPECT_NEAR(cv::sum(img)[0], 255.0, 8.0);
  cv::Mat flat = constant(16, {77, 88, 99});
  apply_blur(flat, 1.3);
  EXPECT_EQ(flat.at<cv::Vec3b>(0, 0), cv::Vec3b(77, 88, 99));
  EXPECT_THROW(apply_blur(flat, 0.0), Error);
}

TEST(Jpeg, QualityChangesBytesButKeepsSize) {
  const cv::Mat original = textured(64);
  cv::Mat high = original.clone(), low = original.clone();
  apply_jpeg(high, 95);
  apply_jpeg(low, 10);
  ASSERT_EQ(high.size(), original.size());
  ASSERT_EQ(low.size(), original.size());
  ASSERT_EQ(low.type(), CV_8UC3);
  EXPECT_GT(cv::norm(original, low, cv::NORM_INF), 0);
  const double err_high = cv::norm(original, high, cv::NORM_L1) / original.total() / 3;
  const double err_low = cv::norm(original, low, cv::NORM_L1) / original.total() / 3;
  EXPECT_LT(err_high, 4.0) << "low " << err_low;
  EXPECT_GT(err_low, err_high * 1.5);
  // Channel order survives: a red image stays red.
  cv::Mat red = constant(16, {220, 20, 20});
  apply_jpeg(red, 50);
  const auto px = red.at<cv::Vec3b>(8, 8);
  EXPECT_GT(px[0], 180);
  EXPECT_LT(px[2], 60);
  EXPECT_THROW(apply_jpeg(red, 0), Error);
  EXPECT_THROW(apply_jpeg(red, 101), Error);
}

TEST(Erasing, MeanFillCoversOnlyTheRectangle) {
  cv::Mat img(10, 10, CV_8UC3, cv::Scalar(10, 20, 30));
  img.rowRange(0, 5).setTo(cv::Scalar(30, 40, 50));  // mean (20, 30, 40)
  const cv::Mat before = img.clone();
  ErasingParams p;
  p.apply = true;
  p.fill = ErasingFill::kMean;
  p.rect = cv::Rect(2, 3, 4, 5);
  apply_erasing(img, p);
  for (int y = 0; y < 10; ++y) {
    for (int x = 0; x < 10; ++x) {
      if (p.rect.contains({x, y})) {
        EXPECT_EQ(img.at<cv::Vec3b>(y, x), cv::Vec3b(20, 30, 40));
      } else {
        EXPECT_EQ(img.at<cv::Vec3b>(y, x), before.at<cv::Vec3b>(y, x));
      }
    }
  }
}

TEST(Erasing, NoiseIsSeededAndClipped) {
  const cv::Mat base(20, 20, CV_8UC3, cv::Scalar::all(0));
  ErasingParams p;
  p.apply = true;
  p.rect = cv::Rect(15, 15, 10, 10);  // half outside: clipped to 5 x 5
  p.noise_seed = 7;
  cv::Mat a = base.clone(), b = base.clone(), c = base.clone();
  apply_erasing(a, p);
  apply_erasing(b, p);
  p.noise_seed = 8;
  apply_erasing(c, p);
  EXPECT_EQ(cv::norm(a, b, cv::NORM_INF), 0);
  EXPECT_GT(cv::norm(a, c, cv::NORM_INF), 0);
  EXPECT_EQ(cv::countNonZero(a.reshape(1)(cv::Rect(0, 0, 45, 15))), 0);
  const cv::Mat region = a(cv::Rect(15, 15, 5, 5)).clone().reshape(1);
  EXPECT_GT(cv::countNonZero(region), 60);  // 75 random bytes, almost none zero
  const double mean = cv::mean(region)[0];
  EXPECT_GT(mean, 90);
  EXPECT_LT(mean, 165);
  p.rect = cv::Rect(30, 30, 5, 5);  // fully outside: nothing happens
  cv::Mat d = base.clone();
  apply_erasing(d, p);
  EXPECT_EQ(cv::countNonZero(d.reshape(1)), 0);
}

TEST(Tone, SepiaWarmsGreyAndFullSepiaIsTheClassicMatrix) {
  cv::Mat img = constant(4, {100, 100, 100});
  ToneParams p;
  p.apply = true;
  p.sepia = 1.0;
  apply_tone(img, p);
  // 100 * row sums of the sepia matrix: 135.1, 120.3, 93.6.
  EXPECT_EQ(img.at<cv::Vec3b>(1, 1), cv::Vec3b(135, 120, 94));
  cv::Mat half = constant(4, {100, 100, 100});
  p.sepia = 0.5;
  apply_tone(half, p);
  const cv::Vec3b h = half.at<cv::Vec3b>(0, 0);
  EXPECT_GT(h[0], h[1]);
  EXPECT_GT(h[1], h[2]);
  EXPECT_LT(h[0], 135);
}

TEST(Tone, CastScalesChannelsAndFadeLiftsBlacksTowardsLightGrey) {
  cv::Mat img = constant(2, {100, 100, 100});
  ToneParams cast;
  cast.apply = true;
  cast.cast = {1.2, 1.0, 0.8};
  apply_tone(img, cast);
  EXPECT_EQ(img.at<cv::Vec3b>(0, 0), cv::Vec3b(120, 100, 80));

  cv::Mat two(4, 4, CV_8UC3, cv::Scalar::all(0));
  two.rowRange(2, 4).setTo(cv::Scalar::all(250));
  ToneParams fade;
  fade.apply = true;
  fade.fade = 0.5;
  apply_tone(two, fade);
  EXPECT_EQ(two.at<cv::Vec3b>(0, 0), cv::Vec3b::all(static_cast<uchar>(kFadeTarget / 2)));  // 0 -> 100
  EXPECT_EQ(two.at<cv::Vec3b>(3, 3), cv::Vec3b(225, 225, 225));                             // 250 -> 225
  ToneParams bad;
  bad.fade = 1.5;
  cv::Mat any = constant(2, {1, 2, 3});
  EXPECT_THROW(apply_tone(any, bad), Error);
  bad.fade = 0;
  bad.cast = {1, -1, 1};
  EXPECT_THROW(apply_tone(any, bad), Error);
}

TEST(Noise, SensorNoiseHasItsSigmaAndGrainIsSharedByChannels) {
  const cv::Mat base = constant(128, {128, 128, 128});
  NoiseParams p;
  p.apply = true;
  p.sensor_sigma = 8.0;
  p.seed = 3;
  cv::Mat a = base.clone(), b = base.clone();
  apply_noise(a, p);
  apply_noise(b, p);
  EXPECT_EQ(cv::norm(a, b, cv::NORM_INF), 0);  // seeded
  cv::Mat diff;
  a.convertTo(diff, CV_64FC3);
  diff -= cv::Scalar::all(128);
  cv::Scalar mean, stddev;
  cv::meanStdDev(diff.reshape(1), mean, stddev);
  EXPECT_NEAR(stddev[0], 8.0, 0.4);
  EXPECT_NEAR(mean[0], 0.0, 0.3);
  std::vector<cv::Mat> channels;
  cv::split(a, channels);
  EXPECT_GT(cv::norm(channels[0], channels[1], cv::NORM_INF), 0);  // independent per channel

  NoiseParams grain;
  grain.apply = true;
  grain.grain_sigma = 10.0;
  grain.grain_size = 2.0;
  grain.seed = 5;
  cv::Mat g = base.clone();
  apply_noise(g, grain);
  cv::split(g, channels);
  EXPECT_EQ(cv::norm(channels[0], channels[1], cv::NORM_INF), 0);  // monochrome grain
  EXPECT_EQ(cv::norm(channels[1], channels[2], cv::NORM_INF), 0);
  EXPECT_GT(cv::norm(g, base, cv::NORM_INF), 10);
  // Clumps: neighbouring pixels correlate, unlike sensor noise.
  cv::Mat left, right;
  channels[0].colRange(0, 127).convertTo(left, CV_64F);
  channels[0].colRange(1, 128).convertTo(right, CV_64F);
  left -= 128;
  right -= 128;
  EXPECT_GT(left.dot(right) / std::sqrt(left.dot(left) * right.dot(right)), 0.3);
  NoiseParams bad;
  bad.grain_size = 0.5;
  EXPECT_THROW(apply_noise(g, bad), Error);
}

TEST(Downscale, LosesDetailKeepsSizeAndIsANoOpAboveTheFaceSize) {
  const cv::Mat base = textured(112);
  cv::Mat img = base.clone();
  ResolutionParams p;
  p.apply = true;
  p.face_pixels = 32;
  apply_downscale(img, p, 112);
  EXPECT_EQ(img.size(), base.size());
  EXPECT_LT(sharpness(img), 0.5 * sharpness(base));
  cv::Mat same = base.clone();
  p.face_pixels = 200;
  apply_downscale(same, p, 112);
  EXPECT_EQ(cv::norm(same, base, cv::NORM_INF), 0);
  // A face covering half the image: the shrink is relative to the face, so a 64-px target on a
  // 56-px face changes nothing, and a 28-px target halves it.
  cv::Mat half = base.clone();
  p.face_pixels = 64;
  apply_downscale(half, p, 56);
  EXPECT_EQ(cv::norm(half, base, cv::NORM_INF), 0);
  p.face_pixels = 28;
  apply_downscale(half, p, 56);
  EXPECT_GT(cv::norm(half, base, cv::NORM_INF), 0);
  p.face_pixels = 2;
  EXPECT_THROW(apply_downscale(half, p, 56), Error);
}

}  // namespace
}  // namespace faceage::augment
