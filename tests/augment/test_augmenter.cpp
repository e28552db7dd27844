#include "faceage/augment/augmenter.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <thread>

#include <opencv2/imgproc.hpp>

#include "faceage/augment/random.hpp"

namespace faceage::augment {
namespace {

// Typical aligned 200x200 crop landmarks; index 0 (right eye) at smaller x.
const Landmarks kLandmarks{cv::Point2f(70.3f, 85.6f), cv::Point2f(129.8f, 84.9f), cv::Point2f(100.2f, 115.4f),
                           cv::Point2f(78.7f, 145.1f), cv::Point2f(121.4f, 145.8f)};
// A distinct colour per landmark index, so a swapped index shows as the wrong colour.
const cv::Vec3f kColours[5] = {{1, 0, 0}, {0, 1, 0}, {0, 0, 1}, {1, 1, 0}, {0, 1, 1}};

// Dark image with a small bright Gaussian dot (sigma 2 px) of each landmark's colour.
cv::Mat dots_image() {
  cv::Mat img(200, 200, CV_8UC3, cv::Scalar::all(5));
  for (int i = 0; i < 5; ++i) {
    const auto c = kLandmarks[i];
    for (int y = static_cast<int>(c.y) - 8; y <= static_cast<int>(c.y) + 8; ++y) {
      for (int x = static_cast<int>(c.x) - 8; x <= static_cast<int>(c.x) + 8; ++x) {
        const double d2 = (x - c.x) * (x - c.x) + (y - c.y) * (y - c.y);
        const double v = 250.0 * std::exp(-d2 / (2 * 2.0 * 2.0));
        auto& px = img.at<cv::Vec3b>(y, x);
        for (int ch = 0; ch < 3; ++ch) px[ch] = cv::saturate_cast<uchar>(px[ch] + v * kColours[i][ch]);
      }
    }
  }
  return img;
}

// Brightness of a pixel in colour `colour`: on-channels minus off-channels.
double match(const cv::Vec3b& px, const cv::Vec3f& colour) {
  double on = 0, off = 0;
  for (int ch = 0; ch < 3; ++ch) (colour[ch] > 0 ? on : off) += px[ch];
  return on - 2 * off;
}

AugmentOptions geometric_only() {
  AugmentOptions o;
  o.flip_prob = 0.5;
  o.scale_min = 0.8;
  o.scale_max = 1.25;
  o.aspect_min = 0.9;
  o.aspect_max = 1.1;
  o.translate = 0.1;
  o.rotate_prob = 0.8;
  o.rotate_deg = 30;
  o.border = BorderMode::kConstant;
  return o;
}

bool same_bytes(const cv::Mat& a, const cv::Mat& b) {
  return a.size() == b.size() && a.type() == b.type() && cv::norm(a, b, cv::NORM_INF) == 0;
}

TEST(Augmenter, LandmarksFollowTheImage) {
  const cv::Mat img = dots_image();
  int flips = 0, rotations = 0;
  for (int output : {112, 160}) {
    Augmenter augmenter(geometric_only(), output);
    for (std::uint64_t seed = 0; seed < 100; ++seed) {
      std::mt19937_64 rng(seed);
      const auto params = augmenter.sample(rng);
      flips += params.flip.flip;
      rotations += params.affine.angle_deg != 0;
      const auto out = augmenter.apply(img, kLandmarks, params);
      ASSERT_EQ(out.image.size(), cv::Size(output, output));
      for (int i = 0; i < 5; ++i) {
        // After a flip, output index i shows the dot of the source's mirrored index.
        const int source = params.flip.flip ? std::array<int, 5>{1, 0, 2, 4, 3}[i] : i;
        const cv::Point2f p = out.landmarks[i];
        double best = -1e9;
        cv::Point best_at;
        for (int y = static_cast<int>(p.y) - 6; y <= static_cast<int>(p.y) + 6; ++y) {
          for (int x = static_cast<int>(p.x) - 6; x <= static_cast<int>(p.x) + 6; ++x) {
            if (x < 0 || y < 0 || x >= output || y >= output) continue;
            const double m = match(out.image.at<cv::Vec3b>(y, x), kColours[source]);
            if (m > best) {
              best = m;
              best_at = {x, y};
            }
          }
        }
        EXPECT_GT(best, 60) << "seed " << seed << " landmark " << i << ": no dot of the right colour";
        EXPECT_LE(std::hypot(best_at.x - p.x, best_at.y - p.y), 1.5)
            << "seed " << seed << " landmark " << i << " at " << p << ", dot at " << best_at;
      }
      if (params.flip.flip) {
        EXPECT_LT(out.landmarks[0].x, out.landmarks[1].x) << "eye order after flip";
      }
    }
  }
  // The seeds really exercised flips and rotations.
  EXPECT_GT(flips, 60);
  EXPECT_GT(rotations, 120);
}

TEST(Augmenter, FlipSwapsIndicesAndKeepsSemanticOrder) {
  Augmenter augmenter({}, 200);
  AugmentParams params;
  params.flip.flip = true;
  const auto out = augmenter.apply(dots_image(), kLandmarks, params, cv::Rect2f(50, 60, 100, 110));
  // The subject's right eye (index 0) is still the one at smaller x.
  EXPECT_LT(out.landmarks[0].x, out.landmarks[1].x);
  EXPECT_LT(out.landmarks[3].x, out.landmarks[4].x);
  EXPECT_NEAR(out.landmarks[0].x, 199 - kLandmarks[1].x, 1e-4);
  EXPECT_NEAR(out.landmarks[0].y, kLandmarks[1].y, 1e-4);
  EXPECT_NEAR(out.landmarks[2].x, 199 - kLandmarks[2].x, 1e-4);
  EXPECT_NEAR(out.landmarks[3].x, 199 - kLandmarks[4].x, 1e-4);
  ASSERT_TRUE(out.box.has_value());
  EXPECT_NEAR(out.box->x, 50, 1e-4);  // 200 - 50 - 100
  EXPECT_NEAR(out.box->width, 100, 1e-4);
  EXPECT_NEAR(out.box->y, 60, 1e-4);
}

TEST(Augmenter, NonePresetEqualsAPlainResize) {
  const cv::Mat img = dots_image();
  Augmenter augmenter(preset("none"), 112);
  std::mt19937_64 rng(3);
  const auto out = augmenter(img, kLandmarks, rng, cv::Rect2f(0, 0, 200, 200));
  cv::Mat expected;
  cv::resize(img, expected, cv::Size(112, 112), 0, 0, cv::INTER_LINEAR);
  EXPECT_TRUE(same_bytes(out.image, expected));
  EXPECT_TRUE(same_bytes(out.image, resize_for_eval(img, 112)));
  EXPECT_NEAR(out.landmarks[2].x, (kLandmarks[2].x + 0.5) * 0.56 - 0.5, 1e-4);
  EXPECT_NEAR(out.box->width, 112, 1e-4);
}

TEST(Augmenter, SameSeedSameBytesDifferentSeedDifferentBytes) {
  const cv::Mat img = dots_image();
  Augmenter augmenter(preset("strong"), 112);
  std::mt19937_64 a(42), b(42), c(43);
  for (int i = 0; i < 20; ++i) {
    const auto x = augmenter(img, kLandmarks, a);
    const auto y = augmenter(img, kLandmarks, b);
    const auto z = augmenter(img, kLandmarks, c);
    ASSERT_TRUE(same_bytes(x.image, y.image)) << "sample " << i;
    EXPECT_EQ(to_json(augmenter.sample(a)), to_json(augmenter.sample(b)));
    EXPECT_FALSE(same_bytes(x.image, z.image)) << "sample " << i;
  }
}

TEST(Augmenter, EachTransformDrawsFromItsOwnValue) {
  // Switching blur off must not change what flip and affine drew for the same seed.
  AugmentOptions with_blur = preset("strong");
  AugmentOptions without_blur = with_blur;
  without_blur.blur_prob = 0;
  std::mt19937_64 a(9), b(9);
  for (int i = 0; i < 50; ++i) {
    const auto p = Augmenter(with_blur, 112).sample(a);
    const auto q = Augmenter(without_blur, 112).sample(b);
    EXPECT_EQ(p.flip.flip, q.flip.flip);
    EXPECT_EQ(p.affine.angle_deg, q.affine.angle_deg);
    EXPECT_EQ(p.jpeg.quality, q.jpeg.quality);
    EXPECT_EQ(p.erasing.rect, q.erasing.rect);
    EXPECT_FALSE(q.blur.apply);
  }
}

TEST(Augmenter, PrintAndSensorTransformsDrawAfterTheOlderOnes) {
  // Turning the real-photo transforms on must leave every older draw of a preset as it was, so
  // runs of the old presets keep their samples.
  AugmentOptions old = preset("strong");
  AugmentOptions with_new = old;
  with_new.sepia_prob = with_new.cast_prob = with_new.fade_prob = 1.0;
  with_new.downscale_prob = with_new.noise_prob = with_new.grain_prob = 1.0;
  std::mt19937_64 a(17), b(17);
  for (int i = 0; i < 50; ++i) {
    const auto p = Augmenter(old, 112).sample(a);
    const auto q = Augmenter(with_new, 112).sample(b);
    EXPECT_FALSE(p.tone.apply || p.resolution.apply || p.noise.apply);
    EXPECT_TRUE(q.tone.apply && q.resolution.apply && q.noise.apply);
    EXPECT_GT(q.tone.sepia, 0);
    EXPECT_GT(q.tone.fade, 0);
    EXPECT_GT(q.noise.sensor_sigma, 0);
    EXPECT_GT(q.noise.grain_sigma, 0);
    nlohmann::json older = to_json(q);
    for (const char* key : {"tone", "resolution", "noise"}) older.erase(key);
    nlohmann::json expected = to_json(p);
    for (const char* key : {"tone", "resolution", "noise"}) expected.erase(key);
    EXPECT_EQ(older, expected);
  }
}

TEST(Augmenter, RealPhotoPresetDrawsEachShiftAtItsRate) {
  const AugmentOptions o = preset("real_photo");
  Augmenter augmenter(o, 112);
  std::mt19937_64 rng(23);
  int sepia = 0, fade = 0, down = 0, grain = 0;
  const int n = 4000;
  for (int i = 0; i < n; ++i) {
    const auto p = augmenter.sample(rng);
    sepia += p.tone.sepia > 0;
    fade += p.tone.fade > 0;
    grain += p.noise.grain_sigma > 0;
    if (p.resolution.apply) {
      ++down;
      ASSERT_GE(p.resolution.face_pixels, o.downscale_min);
      ASSERT_LE(p.resolution.face_pixels, o.downscale_max);
    }
  }
  EXPECT_NEAR(sepia / double(n), o.sepia_prob, 0.03);
  EXPECT_NEAR(fade / double(n), o.fade_prob, 0.03);
  EXPECT_NEAR(down / double(n), o.downscale_prob, 0.03);
  EXPECT_NEAR(grain / double(n), o.grain_prob, 0.03);
  // Applied: right size, same bytes for the same seed.
  std::mt19937_64 x(4), y(4);
  for (int i = 0; i < 20; ++i) {
    const auto first = augmenter(dots_image(), kLandmarks, x);
    const auto second = augmenter(dots_image(), kLandmarks, y);
    ASSERT_EQ(first.image.size(), cv::Size(112, 112));
    EXPECT_TRUE(same_bytes(first.image, second.image));
  }
}

TEST(Augmenter, SampledParamsStayInTheirRanges) {
  const AugmentOptions o = preset("strong");
  Augmenter augmenter(o, 112);
  std::mt19937_64 rng(5);
  int flips = 0, erasings = 0, jpegs = 0;
  const int n = 4000;
  for (int i = 0; i < n; ++i) {
    const auto p = augmenter.sample(rng);
    flips += p.flip.flip;
    jpegs += p.jpeg.apply;
    ASSERT_LE(std::abs(p.affine.angle_deg), o.rotate_deg);
    ASSERT_GE(p.affine.scale, o.scale_min);
    ASSERT_LE(p.affine.scale, o.scale_max);
    ASSERT_GE(p.affine.aspect, o.aspect_min - 1e-12);
    ASSERT_LE(p.affine.aspect, o.aspect_max + 1e-12);
    ASSERT_LE(std::abs(p.affine.tx), o.translate);
    ASSERT_GE(p.jpeg.quality, o.jpeg_quality_min);
    ASSERT_LE(p.jpeg.quality, o.jpeg_quality_max);
    ASSERT_LE(std::abs(p.color.hue), o.hue);
    if (p.erasing.apply) {
      ++erasings;
      ASSERT_TRUE((p.erasing.rect & cv::Rect(0, 0, 112, 112)) == p.erasing.rect) << p.erasing.rect;
      const double area = p.erasing.rect.area() / (112.0 * 112.0);
      ASSERT_GT(area, o.erasing_area_min * 0.8);
      ASSERT_LT(area, o.erasing_area_max * 1.2);
    }
  }
  EXPECT_NEAR(flips / double(n), o.flip_prob, 0.03);
  EXPECT_NEAR(jpegs / double(n), o.jpeg_prob, 0.03);
  EXPECT_NEAR(erasings / double(n), o.erasing_prob, 0.03);
}

TEST(Augmenter, StrongPresetOnNonSquareInput) {
  cv::Mat img(220, 180, CV_8UC3);
  cv::randu(img, 0, 256);
  Augmenter augmenter(preset("strong"), 160);
  std::mt19937_64 rng(1);
  for (int i = 0; i < 30; ++i) {
    const auto out = augmenter(img, kLandmarks, rng);
    ASSERT_EQ(out.image.size(), cv::Size(160, 160));
    ASSERT_EQ(out.image.type(), CV_8UC3);
  }
}

TEST(Augmenter, BadImagesAreClearErrors) {
  Augmenter augmenter(preset("medium"), 112);
  std::mt19937_64 rng(1);
  for (const cv::Mat& bad : {cv::Mat(), cv::Mat(50, 50, CV_8UC1, cv::Scalar(0)), cv::Mat(50, 50, CV_8UC4, cv::Scalar(0)),
                             cv::Mat(50, 50, CV_32FC3, cv::Scalar(0))}) {
    try {
      augmenter(bad, kLandmarks, rng);
      ADD_FAILURE() << "expected an error";
    } catch (const Error& e) {
      EXPECT_EQ(e.code(), ErrorCode::kInvalidArgument);
    }
  }
  AugmentParams params;
  params.affine.scale = 0;
  EXPECT_THROW(augmenter.apply(dots_image(), kLandmarks, params), Error);
}

TEST(Augmenter, SharedAcrossThreadsGivesTheSameResults) {
  const cv::Mat img = dots_image();
  const Augmenter augmenter(preset("strong"), 112);
  auto run = [&](std::uint64_t seed, std::vector<cv::Mat>& out) {
    std::mt19937_64 rng(seed);
    for (int i = 0; i < 10; ++i) out.push_back(augmenter(img, kLandmarks, rng).image);
  };
  std::vector<cv::Mat> a1, b1, a2, b2;
  run(1, a1);
  run(2, b1);
  std::thread ta([&] { run(1, a2); });
  std::thread tb([&] { run(2, b2); });
  ta.join();
  tb.join();
  for (int i = 0; i < 10; ++i) {
    EXPECT_TRUE(same_bytes(a1[i], a2[i]));
    EXPECT_TRUE(same_bytes(b1[i], b2[i]));
  }
}

TEST(RandomStream, MatchesSplitMix64AndDrawsInRange) {
  RandomStream s(0);
  EXPECT_EQ(s.next(), 0xE220A8397B1DCDAFULL);  // published first SplitMix64 output for seed 0
  RandomStream r(123);
  double sum = 0;
  bool saw_lo = false, saw_hi = false;
  for (int i = 0; i < 10000; ++i) {
    const double u = r.uniform01();
    ASSERT_GE(u, 0.0);
    ASSERT_LT(u, 1.0);
    sum += u;
    const int k = r.uniform_int(3, 7);
    ASSERT_GE(k, 3);
    ASSERT_LE(k, 7);
    saw_lo |= k == 3;
    saw_hi |= k == 7;
  }
  EXPECT_NEAR(sum / 10000, 0.5, 0.02);
  EXPECT_TRUE(saw_lo && saw_hi);
  double m = 0, m2 = 0;
  for (int i = 0; i < 10000; ++i) {
    const double z = r.normal();
    m += z;
    m2 += z * z;
  }
  EXPECT_NEAR(m / 10000, 0.0, 0.05);
  EXPECT_NEAR(m2 / 10000, 1.0, 0.05);
}

}  // namespace
}  // namespace faceage::augment
