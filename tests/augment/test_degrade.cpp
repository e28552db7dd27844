#include "faceage/augment/degrade.hpp"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <map>

#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include "faceage/core/error.hpp"
#include "image_checks.hpp"
#include "faceage/core/fs.hpp"
#include "faceage/data/csv.hpp"
#include "faceage/data/image_io.hpp"
#include "faceage/data/manifest.hpp"
#include "support/temp_dir.hpp"

namespace faceage::augment {
namespace {

using image_checks::sharpness;

// A face-sized test card: colour gradients and a grey checkerboard (detail that blur and
// resolution loss remove, colour that grayscale removes).
cv::Mat card(int size = 200) {
  cv::Mat img(size, size, CV_8UC3);
  for (int y = 0; y < size; ++y) {
    for (int x = 0; x < size; ++x) {
      const int check = ((x / 5) + (y / 5)) % 2 == 0 ? 50 : 0;
      img.at<cv::Vec3b>(y, x) = cv::Vec3b(static_cast<uchar>(40 + x / 2 + check),
                                          static_cast<uchar>(200 - y / 2 - check / 2), static_cast<uchar>(90 + check));
    }
  }
  return img;
}

double luma_stddev(const cv::Mat& rgb) {
  cv::Mat gray;
  cv::cvtColor(rgb, gray, cv::COLOR_RGB2GRAY);
  cv::Scalar mean, stddev;
  cv::meanStdDev(gray, mean, stddev);
  return stddev[0];
}

// Params with nothing applied; tests switch on one degradation at a time.
DegradeParams nothing() { return DegradeParams{}; }

DegradedImage degrade(const DegradeParams& params, const cv::Mat& input = card()) {
  return Degrader(DegradeOptions{}).apply(input, params);
}

TEST(Degrade, NothingDrawnKeepsThePixels) {
  const DegradedImage out = degrade(nothing());
  EXPECT_EQ(cv::norm(out.rgb, card(), cv::NORM_INF), 0);
  EXPECT_EQ(out.face, cv::Rect(0, 0, 200, 200));
  EXPECT_EQ(out.jpeg_quality, kPlainJpegQuality);
  EXPECT_TRUE(degradation_names(nothing()).empty());
}

TEST(Degrade, EachDegradationMovesTheImageItsWay) {
  const cv::Mat clean = card();

  DegradeParams gray = nothing();
  gray.photometric.grayscale.apply = true;
  std::vector<cv::Mat> ch;
  cv::split(degrade(gray).rgb, ch);
  EXPECT_EQ(cv::norm(ch[0], ch[1], cv::NORM_INF), 0);
  EXPECT_EQ(cv::norm(ch[1], ch[2], cv::NORM_INF), 0);

  DegradeParams sepia = gray;
  sepia.photometric.tone.apply = true;
  sepia.photometric.tone.sepia = 1.0;
  const cv::Scalar toned = cv::mean(degrade(sepia).rgb);
  EXPECT_GT(toned[0], toned[1]);  // warm: R > G > B
  EXPECT_GT(toned[1], toned[2]);

  DegradeParams fade = nothing();
  fade.photometric.tone.apply = true;
  fade.photometric.tone.fade = 0.4;
  EXPECT_LT(luma_stddev(degrade(fade).rgb), 0.7 * luma_stddev(clean));

  DegradeParams blur = nothing();
  blur.photometric.blur.apply = true;
  blur.photometric.blur.sigma = 1.0;
  EXPECT_LT(sharpness(degrade(blur).rgb), 0.3 * sharpness(clean));

  DegradeParams down = nothing();
  down.photometric.resolution.apply = true;
  down.photometric.resolution.face_pixels = 40;
  const DegradedImage small = degrade(down);
  EXPECT_EQ(small.rgb.size(), clean.size());
  EXPECT_LT(sharpness(small.rgb), 0.3 * sharpness(clean));

  DegradeParams noise = nothing();
  noise.photometric.noise.apply = true;
  noise.photometric.noise.sensor_sigma = 10;
  EXPECT_NEAR(cv::norm(degrade(noise).rgb, clean, cv::NORM_L2) / std::sqrt(200.0 * 200 * 3), 10.0, 1.5);

  // JPEG happens in encode_degraded: a low quality gives other, fewer bytes.
  DegradeParams jpeg = nothing();
  jpeg.photometric.jpeg.apply = true;
  jpeg.photometric.jpeg.quality = 20;
  const DegradedImage compressed = degrade(jpeg);
  EXPECT_EQ(compressed.jpeg_quality, 20);
  EXPECT_EQ(cv::norm(compressed.rgb, clean, cv::NORM_INF), 0);  // not applied twice
  const auto low = encode_degraded(compressed);
  const auto high = encode_degraded(degrade(nothing()));
  EXPECT_NE(low, high);
  EXPECT_LT(low.size(), high.size() * 0.6);
  const auto decoded = data::decode_image(low.data(), low.size(), {}, "low");
  EXPECT_EQ(decoded.rgb.size(), clean.size());
  EXPECT_GT(cv::norm(decoded.rgb, clean, cv::NORM_INF), 20);

  DegradeParams canvas = nothing();
  canvas.canvas.apply = true;
  canvas.canvas.face_scale = 0.5;
  canvas.canvas.width_ratio = 3.0;
  canvas.canvas.height_ratio = 2.0;
  canvas.canvas.x = 1.0;
  canvas.canvas.y = 0.0;
  const DegradedImage pasted = degrade(canvas);
  EXPECT_EQ(pasted.rgb.size(), cv::Size(300, 200));
  EXPECT_EQ(pasted.face, cv::Rect(200, 0, 100, 100));
  cv::Mat expected;
  cv::resize(clean, expected, cv::Size(100, 100), 0, 0, cv::INTER_AREA);
  EXPECT_EQ(cv::norm(pasted.rgb(pasted.face), expected, cv::NORM_INF), 0);
}

TEST(Degrade, CanvasBackgroundsAreLargerThanTheFaceAndVary) {
  for (Background background : {Background::kSolid, Background::kGradient, Background::kBlotches}) {
    CanvasParams p;
    p.apply = true;
    p.face_scale = 0.8;
    p.width_ratio = 2.5;
    p.height_ratio = 1.7;
    p.x = 0.3;
    p.y = 0.6;
    p.background = background;
    p.colour_a = {10, 200, 30};
    p.colour_b = {250, 20, 90};
    p.seed = 11;
    cv::Rect face;
    const cv::Mat canvas = place_on_canvas(card(), p, &face);
    EXPECT_EQ(canvas.size(), cv::Size(400, 272));
    EXPECT_EQ(face.size(), cv::Size(160, 160));
    EXPECT_EQ(face & cv::Rect(0, 0, canvas.cols, canvas.rows), face);
    const cv::Mat corner = canvas(cv::Rect(0, 0, 20, 20));
    if (background == Background::kSolid) {
      EXPECT_EQ(corner.at<cv::Vec3b>(5, 5), cv::Vec3b(10, 200, 30));
    } else {
      EXPECT_NE(canvas.at<cv::Vec3b>(0, 0), canvas.at<cv::Vec3b>(canvas.rows - 1, 0)) << static_cast<int>(background);
    }
  }
  CanvasParams bad;
  bad.face_scale = 1.5;
  EXPECT_THROW(place_on_canvas(card(), bad), Error);
}

TEST(Degrade, SameSeedSameParamsAndBytes) {
  const Degrader degrader(DegradeOptions{});
  int differing = 0;
  for (std::size_t row = 0; row < 20; ++row) {
    std::mt19937_64 a(degrade_row_seed(42, row)), b(degrade_row_seed(42, row)), c(degrade_row_seed(43, row));
    const auto pa = degrader.sample(a), pb = degrader.sample(b), pc = degrader.sample(c);
    EXPECT_EQ(to_json(pa.photometric), to_json(pb.photometric));
    EXPECT_EQ(encode_degraded(degrader.apply(card(), pa)), encode_degraded(degrader.apply(card(), pb)));
    differing += encode_degraded(degrader.apply(card(), pa)) != encode_degraded(degrader.apply(card(), pc));
    // The degrade preset never moves the face by itself.
    EXPECT_FALSE(pa.photometric.flip.flip);
    EXPECT_EQ(pa.photometric.affine.scale, 1.0);
    EXPECT_FALSE(pa.photometric.erasing.apply);
  }
  EXPECT_GE(differing, 19);
  // A training preset's warp is ignored here too.
  DegradeOptions real;
  real.preset = "real_photo";
  std::mt19937_64 rng(1);
  const Degrader from_training(real);
  for (int i = 0; i < 20; ++i) {
    const AugmentParams p = from_training.sample(rng).photometric;
    EXPECT_TRUE(is_identity(p.flip, p.affine));
  }
}

TEST(Degrade, SamplingCoversEveryDegradation) {
  const Degrader degrader(DegradeOptions{});
  std::map<std::string, int> seen;
  for (std::size_t row = 0; row < 400; ++row) {
    std::mt19937_64 rng(degrade_row_seed(7, row));
    for (const auto& name : degradation_names(degrader.sample(rng))) ++seen[name.substr(0, name.find_first_of("0123456789"))];
  }
  for (const char* name : {"canvas", "grayscale", "sepia", "cast", "fade", "blur", "downscale", "noise", "grain", "jpeg"}) {
    EXPECT_GT(seen[name], 40) << name;
  }
}

TEST(Degrade, BadOptionsAreClearErrors) {
  DegradeOptions unknown;
  unknown.preset = "grimy";
  EXPECT_THROW(Degrader{unknown}, Error);
  DegradeOptions bad;
  bad.canvas.size_min = 0.5;
  EXPECT_THROW(Degrader{bad}, Error);
}

TEST(DegradeManifest, KeepsLabelsRecordsDegradationsAndListsBadImages) {
  testing::TempDir dir;
  const std::vector<std::pair<int, std::string>> labels{{3, "female"}, {41, "male"}, {77, ""}, {25, "female"}};
  data::Manifest input;
  input.base_dir = dir.path().string();
  for (std::size_t i = 0; i < labels.size(); ++i) {
    data::ManifestRow row;
    row.file = "in/face" + std::to_string(i) + ".png";
    row.age = labels[i].first;
    row.gender = labels[i].second;
    row.subject = "s" + std::to_string(i);
    input.rows.push_back(row);
  }
  std::filesystem::create_directories(dir.path() / "in");
  for (std::size_t i = 0; i < labels.size(); ++i) {
    if (i == 2) {
      write_file_atomic(dir.file("in/face2.png"), std::string("not an image"));
    } else {
      cv::imwrite(dir.file(input.rows[i].file), card(120 + 10 * static_cast<int>(i)));
    }
  }
  data::write_manifest(input, dir.file("in.csv"));

  DegradeManifestOptions options;
  options.manifest = dir.file("in.csv");
  options.out_dir = dir.file("out");
  options.seed = 5;
  options.progress = 0;
  const DegradeReport report = degrade_manifest(options);
  EXPECT_EQ(report.rows, 4u);
  EXPECT_EQ(report.written, 3u);
  ASSERT_EQ(report.failed, 1u);
  EXPECT_EQ(report.failures[0].first, "in/face2.png");

  const data::Manifest out = data::read_manifest(report.manifest_path);
  ASSERT_EQ(out.rows.size(), 3u);
  const std::size_t kept[3] = {0, 1, 3};
  for (std::size_t k = 0; k < 3; ++k) {
    const auto& row = out.rows[k];
    EXPECT_EQ(row.age, labels[kept[k]].first);
    EXPECT_EQ(row.gender, labels[kept[k]].second);
    EXPECT_EQ(row.subject, input.rows[kept[k]].subject);
    EXPECT_EQ(data::read_image(row.path).format, "jpeg");
  }
  const data::CsvTable table = data::read_csv(report.manifest_path);
  const int column = table.column("degradations");
  ASSERT_GE(column, 0);
  for (const auto& fields : table.rows) EXPECT_FALSE(fields[column].empty());
  const data::CsvTable failures = data::read_csv(report.failures_path);
  ASSERT_EQ(failures.rows.size(), 1u);
  EXPECT_EQ(failures.rows[0][0], "in/face2.png");

  // Reproducible: the same seed writes the same bytes.
  const auto first = read_file_bytes(out.rows[1].path);
  degrade_manifest(options);
  EXPECT_EQ(read_file_bytes(out.rows[1].path), first);
}

}  // namespace
}  // namespace faceage::augment
