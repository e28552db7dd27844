#include "faceage/data/image_io.hpp"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <thread>

#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include "faceage/core/error.hpp"
#include "faceage/core/fs.hpp"
#include "support/temp_dir.hpp"

namespace faceage::data {
namespace {

using faceage::testing::fixture;

std::string bad(const std::string& name) { return fixture("bad/" + name); }

// The corpus's quadrant pattern, stored 60x40: TL red, TR green, BL blue, BR white.
const cv::Vec3b kRed{255, 0, 0}, kGreen{0, 255, 0}, kBlue{0, 0, 255}, kWhite{255, 255, 255}, kBlack{0, 0, 0};

::testing::AssertionResult near_colour(const cv::Mat& rgb, int x, int y, cv::Vec3b expected, int tolerance) {
  const cv::Vec3b got = rgb.at<cv::Vec3b>(y, x);
  for (int c = 0; c < 3; ++c) {
    if (std::abs(int(got[c]) - int(expected[c])) > tolerance) {
      return ::testing::AssertionFailure() << "pixel (" << x << "," << y << ") is " << int(got[0]) << "," << int(got[1])
                                           << "," << int(got[2]) << "; expected " << int(expected[0]) << ","
                                           << int(expected[1]) << "," << int(expected[2]) << " +-" << tolerance;
    }
  }
  return ::testing::AssertionSuccess();
}

void expect_rgb_image(const DecodedImage& image, int width, int height) {
  EXPECT_EQ(image.rgb.type(), CV_8UC3);
  EXPECT_TRUE(image.rgb.isContinuous());
  EXPECT_EQ(image.rgb.cols, width);
  EXPECT_EQ(image.rgb.rows, height);
}

void expect_quadrants(const DecodedImage& image, int tolerance) {
  expect_rgb_image(image, 60, 40);
  EXPECT_TRUE(near_colour(image.rgb, 15, 10, kRed, tolerance));
  EXPECT_TRUE(near_colour(image.rgb, 45, 10, kGreen, tolerance));
  EXPECT_TRUE(near_colour(image.rgb, 15, 30, kBlue, tolerance));
  EXPECT_TRUE(near_colour(image.rgb, 45, 30, kWhite, tolerance));
}

ErrorCode error_of(const std::string& path, const DecodeOptions& options = {}, std::string* message = nullptr) {
  try {
    read_image(path, options);
  } catch (const Error& e) {
    if (message) *message = e.what();
    return e.code();
  }
  ADD_FAILURE() << path << " decoded without an error";
  return ErrorCode::kInternal;
}

TEST(ImageIo, SniffsFormatsFromMagicBytes) {
  auto sniff = [](const std::string& name) {
    auto bytes = read_file_bytes(bad(name));
    return sniff_image_format(bytes.data(), bytes.size());
  };
  EXPECT_EQ(sniff("quadrants.jpg"), "jpeg");
  EXPECT_EQ(sniff("quadrants.png"), "png");
  EXPECT_EQ(sniff("quadrants.bmp"), "bmp");
  EXPECT_EQ(sniff("quadrants.webp"), "webp");
  EXPECT_EQ(sniff("quadrants.tiff"), "tiff");
  EXPECT_EQ(sniff("quadrants.gif"), "");
  EXPECT_EQ(sniff("random_bytes.jpg"), "");
  EXPECT_EQ(sniff_image_format(nullptr, 0), "");
}

TEST(ImageIo, DecodesBaselineJpegAsRgb) {
  DecodedImage image = read_image(bad("quadrants.jpg"));
  EXPECT_EQ(image.format, "jpeg");
  EXPECT_EQ(image.source_channels, 3);
  EXPECT_EQ(image.source_bit_depth, 8);
  EXPECT_EQ(image.exif_orientation, 1);
  expect_quadrants(image, 8);
}

TEST(ImageIo, TurbojpegMatchesOpenCvDecoder) {
  auto bytes = read_file_bytes(bad("quadrants.jpg"));
  DecodedImage ours = decode_image(bytes.data(), bytes.size(), {}, "quadrants.jpg");
  cv::Mat bgr = cv::imdecode(cv::Mat(1, static_cast<int>(bytes.size()), CV_8UC1, bytes.data()), cv::IMREAD_COLOR);
  cv::Mat rgb;
  cv::cvtColor(bgr, rgb, cv::COLOR_BGR2RGB);
  double max_diff = cv::norm(ours.rgb, rgb, cv::NORM_INF);
  EXPECT_LE(max_diff, 2.0);
}

TEST(ImageIo, OtherFormatsDecodeExactly) {
  for (const char* name : {"quadrants.png", "quadrants.bmp", "quadrants.webp", "quadrants.tiff"}) {
    SCOPED_TRACE(name);
    DecodedImage image = read_image(bad(name));
    expect_quadrants(image, 0);
    EXPECT_EQ(image.source_bit_depth, 8);
  }
  EXPECT_EQ(read_image(bad("quadrants.webp")).format, "webp");
  EXPECT_EQ(read_image(bad("quadrants.tiff")).format, "tiff");
  EXPECT_EQ(read_image(bad("quadrants.bmp")).format, "bmp");
}

TEST(ImageIo, CmykJpegColoursAreRight) {
  DecodedImage image = read_image(bad("cmyk.jpg"));
  EXPECT_EQ(image.format, "jpeg");
  EXPECT_EQ(image.source_channels, 4);
  expect_quadrants(image, 12);
}

TEST(ImageIo, SixteenBitPngIsScaledTo8Bit) {
  DecodedImage image = read_image(bad("rgb16.png"));
  EXPECT_EQ(image.source_bit_depth, 16);
  EXPECT_EQ(image.source_channels, 3);
  expect_rgb_image(image, 16, 8);
  // 65535, 32896, 0 divided by 257: channel order must be RGB, not BGR.
  EXPECT_TRUE(near_colour(image.rgb, 3, 3, cv::Vec3b(255, 128, 0), 0));
}

TEST(ImageIo, RgbaIsCompositedOnWhite) {
  DecodedImage image = read_image(bad("rgba.png"));
  EXPECT_EQ(image.source_channels, 4);
  expect_rgb_image(image, 60, 40);
  EXPECT_TRUE(near_colour(image.rgb, 15, 10, kRed, 0));    // opaque
  EXPECT_TRUE(near_colour(image.rgb, 45, 10, kWhite, 0));  // fully transparent black
  EXPECT_TRUE(near_colour(image.rgb, 15, 30, cv::Vec3b(127, 127, 255), 1));  // blue at alpha 128
}

TEST(ImageIo, GrayJpegAndGrayAlphaPng) {
  DecodedImage gray = read_image(bad("gray.jpg"));
  EXPECT_EQ(gray.source_channels, 1);
  expect_rgb_image(gray, 60, 40);
  EXPECT_TRUE(near_colour(gray.rgb, 10, 20, cv::Vec3b(50, 50, 50), 3));
  EXPECT_TRUE(near_colour(gray.rgb, 50, 20, cv::Vec3b(200, 200, 200), 3));

  DecodedImage la = read_image(bad("gray_alpha.png"));
  EXPECT_EQ(la.source_channels, 2);
  expect_rgb_image(la, 60, 40);
  EXPECT_TRUE(near_colour(la.rgb, 10, 20, kBlack, 0));
  EXPECT_TRUE(near_colour(la.rgb, 50, 20, kWhite, 0));
}

TEST(ImageIo, ExifOrientation6RotatesClockwise) {
  DecodedImage image = read_image(bad("exif_orientation6.jpg"));
  EXPECT_EQ(image.exif_orientation, 6);
  expect_rgb_image(image, 40, 60);
  EXPECT_TRUE(near_colour(image.rgb, 10, 15, kBlue, 10));   // top-left
  EXPECT_TRUE(near_colour(image.rgb, 30, 15, kRed, 10));    // top-right
  EXPECT_TRUE(near_colour(image.rgb, 10, 45, kWhite, 10));  // bottom-left
  EXPECT_TRUE(near_colour(image.rgb, 30, 45, kGreen, 10));  // bottom-right
}

TEST(ImageIo, ExifOrientation3Rotates180) {
  DecodedImage image = read_image(bad("exif_orientation3.jpg"));
  EXPECT_EQ(image.exif_orientation, 3);
  expect_rgb_image(image, 60, 40);
  EXPECT_TRUE(near_colour(image.rgb, 15, 10, kWhite, 10));
  EXPECT_TRUE(near_colour(image.rgb, 45, 10, kBlue, 10));
  EXPECT_TRUE(near_colour(image.rgb, 15, 30, kGreen, 10));
  EXPECT_TRUE(near_colour(image.rgb, 45, 30, kRed, 10));
}

TEST(ImageIo, PngExifOrientation8RotatesCounterClockwise) {
  DecodedImage image = read_image(bad("exif_orientation8.png"));
  EXPECT_EQ(image.exif_orientation, 8);
  expect_rgb_image(image, 40, 60);
  EXPECT_TRUE(near_colour(image.rgb, 10, 15, kGreen, 0));
  EXPECT_TRUE(near_colour(image.rgb, 30, 15, kWhite, 0));
  EXPECT_TRUE(near_colour(image.rgb, 10, 45, kRed, 0));
  EXPECT_TRUE(near_colour(image.rgb, 30, 45, kBlue, 0));
}

TEST(ImageIo, OrientationCanBeLeftAlone) {
  DecodeOptions options;
  options.apply_exif_orientation = false;
  DecodedImage image = read_image(bad("exif_orientation6.jpg"), options);
  EXPECT_EQ(image.exif_orientation, 6);
  expect_quadrants(image, 10);
}

TEST(ImageIo, AllEightOrientationsMatchTheExifDefinition) {
  const cv::Mat stored = (cv::Mat_<std::uint8_t>(2, 3) << 1, 2, 3, 4, 5, 6);
  auto as_vector = [](const cv::Mat& m) {
    std::vector<int> v;
    for (int y = 0; y < m.rows; ++y)
      for (int x = 0; x < m.cols; ++x) v.push_back(m.at<std::uint8_t>(y, x));
    return std::make_pair(m.rows, v);
  };
  using Expected = std::pair<int, std::vector<int>>;
  EXPECT_EQ(as_vector(apply_exif_orientation(stored, 1)), (Expected{2, {1, 2, 3, 4, 5, 6}}));
  EXPECT_EQ(as_vector(apply_exif_orientation(stored, 2)), (Expected{2, {3, 2, 1, 6, 5, 4}}));
  EXPECT_EQ(as_vector(apply_exif_orientation(stored, 3)), (Expected{2, {6, 5, 4, 3, 2, 1}}));
  EXPECT_EQ(as_vector(apply_exif_orientation(stored, 4)), (Expected{2, {4, 5, 6, 1, 2, 3}}));
  EXPECT_EQ(as_vector(apply_exif_orientation(stored, 5)), (Expected{3, {1, 4, 2, 5, 3, 6}}));
  EXPECT_EQ(as_vector(apply_exif_orientation(stored, 6)), (Expected{3, {4, 1, 5, 2, 6, 3}}));
  EXPECT_EQ(as_vector(apply_exif_orientation(stored, 7)), (Expected{3, {6, 3, 5, 2, 4, 1}}));
  EXPECT_EQ(as_vector(apply_exif_orientation(stored, 8)), (Expected{3, {3, 6, 2, 5, 1, 4}}));
  EXPECT_EQ(as_vector(apply_exif_orientation(stored, 9)), (Expected{2, {1, 2, 3, 4, 5, 6}}));
}

TEST(ImageIo, BadInputsGiveTheirErrorCodesAndNameTheFile) {
  std::string message;
  EXPECT_EQ(error_of(bad("truncated.jpg"), {}, &message), ErrorCode::kUnreadableImage);
  EXPECT_NE(message.find("truncated.jpg"), std::string::npos) << message;
  EXPECT_EQ(error_of(bad("random_bytes.jpg"), {}, &message), ErrorCode::kUnreadableImage);
  EXPECT_NE(message.find("random_bytes.jpg"), std::string::npos) << message;
  EXPECT_EQ(error_of(bad("empty.jpg"), {}, &message), ErrorCode::kUnreadableImage);
  EXPECT_NE(message.find("empty"), std::string::npos) << message;
  EXPECT_EQ(error_of(bad("quadrants.gif"), {}, &message), ErrorCode::kUnsupportedMediaType);
  EXPECT_NE(message.find("GIF"), std::string::npos) << message;
  EXPECT_EQ(error_of(bad("huge_dims.png"), {}, &message), ErrorCode::kTooLarge);
  EXPECT_NE(message.find("30000x30000"), std::string::npos) << message;
  EXPECT_EQ(error_of(bad("huge_dims.jpg"), {}, &message), ErrorCode::kTooLarge);
  EXPECT_NE(message.find("60000x60000"), std::string::npos) << message;
  EXPECT_EQ(error_of(bad("does_not_exist.jpg")), ErrorCode::kNotFound);
}

TEST(ImageIo, LimitsAreConfigurable) {
  DecodeOptions small_pixels;
  small_pixels.max_pixels = 60 * 40 - 1;
  EXPECT_EQ(error_of(bad("quadrants.jpg"), small_pixels), ErrorCode::kTooLarge);
  EXPECT_EQ(error_of(bad("quadrants.webp"), small_pixels), ErrorCode::kTooLarge);
  small_pixels.max_pixels = 60 * 40;
  EXPECT_NO_THROW(read_image(bad("quadrants.jpg"), small_pixels));

  DecodeOptions small_bytes;
  small_bytes.max_bytes = 100;
  EXPECT_EQ(error_of(bad("quadrants.jpg"), small_bytes), ErrorCode::kTooLarge);
  auto bytes = read_file_bytes(bad("quadrants.jpg"));
  EXPECT_THROW(decode_image(bytes.data(), bytes.size(), small_bytes, "x"), Error);
}

TEST(ImageIo, TruncatedPngIsUnreadable) {
  auto bytes = read_file_bytes(bad("quadrants.png"));
  bytes.resize(bytes.size() / 2);
  try {
    decode_image(bytes.data(), bytes.size(), {}, "half.png");
    FAIL() << "a truncated PNG decoded";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::kUnreadableImage);
  }
}

TEST(ImageIo, DecodingIsThreadSafe) {
  auto bytes = read_file_bytes(bad("quadrants.jpg"));
  const cv::Mat reference = decode_image(bytes.data(), bytes.size(), {}, "ref").rgb;
  std::vector<std::thread> threads;
  std::vector<int> mismatches(4, 0);
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 50; ++i) {
        cv::Mat got = decode_image(bytes.data(), bytes.size(), {}, "t").rgb;
        if (cv::norm(got, reference, cv::NORM_INF) != 0) ++mismatches[t];
        // A failure on the same thread must not poison its cached decompressor.
        try {
          decode_image(bytes.data(), bytes.size() / 2, {}, "half");
        } catch (const Error&) {
        }
      }
    });
  }
  for (auto& th : threads) th.join();
  for (int m : mismatches) EXPECT_EQ(m, 0);
}

TEST(ImageIo, ImageExtensions) {
  EXPECT_TRUE(has_image_extension("a/b.JPG"));
  EXPECT_TRUE(has_image_extension("x.jpeg"));
  EXPECT_TRUE(has_image_extension("x.Tif"));
  EXPECT_TRUE(has_image_extension("x.webp"));
  EXPECT_TRUE(has_image_extension("x.jpg.chip.jpg"));
  EXPECT_FALSE(has_image_extension("x.gif"));
  EXPECT_FALSE(has_image_extension("x.txt"));
  EXPECT_FALSE(has_image_extension("jpg"));
}

TEST(ImageIo, ListImagesWalksFoldersSortedAndKeepsFilesAsGiven) {
  testing::TempDir dir;
  for (const char* name : {"b/2.jpg", "b/1.PNG", "a.jpeg", "notes.txt", "c/d/e.webp"}) {
    write_file_atomic(dir.file(name), std::string("x"));
  }
  auto images = list_images({dir.path().string(), dir.file("notes.txt")});
  std::vector<std::string> expected{dir.file("a.jpeg"), dir.file("b/1.PNG"), dir.file("b/2.jpg"), dir.file("c/d/e.webp"),
                                    dir.file("notes.txt")};
  EXPECT_EQ(images, expected);
  try {
    list_images({dir.file("missing")});
    FAIL();
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::kNotFound);
  }
}

TEST(ImageIo, ScanImagesDropsNothingSilently) {
  testing::TempDir dir;
  for (const char* name : {"a.jpg", "notes.txt", "doc.pdf"}) write_file_atomic(dir.file(name), std::string("x"));
  write_file_atomic(dir.file("anim.gif"), std::string("GIF89a-rest-of-a-gif"));          // unsupported format
  write_file_atomic(dir.file("photo.dat"), std::string("\xff\xd8\xff\xe0-a-jpeg"));  // an image by content
  write_file_atomic(dir.file("x.pdf"), std::string("%PDF-1.4"));                           // a document, not an image
  const auto scan = scan_images({dir.path().string(), dir.file("notes.txt")});
  const std::vector<std::string> images{dir.file("a.jpg"), dir.file("anim.gif"), dir.file("photo.dat"),
                                        dir.file("notes.txt")};
  EXPECT_EQ(scan.images, images) << "given files are kept as given; folder files by extension or content";
  const std::vector<std::string> skipped{dir.file("doc.pdf"), dir.file("notes.txt"), dir.file("x.pdf")};
  EXPECT_EQ(scan.skipped, skipped);
  try {
    scan_images({dir.file("missing")});
    FAIL();
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::kNotFound);
  }
}

TEST(ImageIo, RealUtkfaceImageDecodes) {
  const std::string dir = std::string(FACEAGE_SOURCE_DIR) + "/../shared/data/utkface/images";
  const std::string path = dir + "/100_0_0_20170112213500903.jpg.chip.jpg";
  if (!std::filesystem::exists(path)) GTEST_SKIP() << "UTKFace not available at " << dir;
  DecodedImage image = read_image(path);
  EXPECT_EQ(image.format, "jpeg");
  expect_rgb_image(image, 200, 200);
}

}  // namespace
}  // namespace faceage::data
