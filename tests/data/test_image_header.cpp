#include "data/image_header.hpp"

#include <gtest/gtest.h>

#include <cstring>
#include <random>

#include "faceage/core/error.hpp"
#include "faceage/core/fs.hpp"
#include "faceage/data/image_io.hpp"
#include "support/temp_dir.hpp"

namespace faceage::data {
namespace {

using faceage::testing::fixture;

void put_le16(std::vector<std::uint8_t>& b, std::size_t at, std::uint32_t v) {
  b[at] = v & 0xff;
  b[at + 1] = (v >> 8) & 0xff;
}
void put_le32(std::vector<std::uint8_t>& b, std::size_t at, std::uint32_t v) {
  put_le16(b, at, v & 0xffff);
  put_le16(b, at + 2, v >> 16);
}

ErrorCode decode_error(const std::vector<std::uint8_t>& bytes) {
  try {
    decode_image(bytes.data(), bytes.size(), {}, "synthetic");
  } catch (const Error& e) {
    return e.code();
  }
  return ErrorCode::kInternal;
}

TEST(ImageHeader, BmpHeaderWithHugeDimensionsIsRefused) {
  std::vector<std::uint8_t> bmp(54, 0);
  bmp[0] = 'B';
  bmp[1] = 'M';
  put_le32(bmp, 14, 40);
  put_le32(bmp, 18, 50000);
  put_le32(bmp, 22, static_cast<std::uint32_t>(-50000));  // top-down rows: negative height
  put_le16(bmp, 28, 24);
  auto info = detail::read_bmp_header(bmp.data(), bmp.size(), "x.bmp");
  EXPECT_EQ(info.width, 50000);
  EXPECT_EQ(info.height, 50000);
  EXPECT_EQ(decode_error(bmp), ErrorCode::kTooLarge);
}

TEST(ImageHeader, WebpVp8xCanvasIsRead) {
  std::vector<std::uint8_t> webp(30, 0);
  std::memcpy(webp.data(), "RIFF", 4);
  put_le32(webp, 4, 22);
  std::memcpy(webp.data() + 8, "WEBPVP8X", 8);
  put_le32(webp, 16, 10);
  // canvas width-1 and height-1 as 24-bit little-endian
  webp[24] = 0x3f, webp[25] = 0x9c, webp[26] = 0x00;  // 39999 -> 40000
  webp[27] = 0x3f, webp[28] = 0x9c, webp[29] = 0x00;
  auto info = detail::read_webp_header(webp.data(), webp.size(), "x.webp");
  EXPECT_EQ(info.width, 40000);
  EXPECT_EQ(info.height, 40000);
  EXPECT_EQ(decode_error(webp), ErrorCode::kTooLarge);
}

TEST(ImageHeader, RealFilesHeadersMatch) {
  auto png = read_file_bytes(fixture("bad/quadrants.png"));
  auto info = detail::read_png_header(png.data(), png.size(), "png");
  EXPECT_EQ(info.width, 60);
  EXPECT_EQ(info.height, 40);
  auto webp = read_file_bytes(fixture("bad/quadrants.webp"));
  info = detail::read_webp_header(webp.data(), webp.size(), "webp");
  EXPECT_EQ(info.width, 60);
  EXPECT_EQ(info.height, 40);
  auto tiff = read_file_bytes(fixture("bad/quadrants.tiff"));
  info = detail::read_tiff_header(tiff.data(), tiff.size(), "tiff");
  EXPECT_EQ(info.width, 60);
  EXPECT_EQ(info.height, 40);
  EXPECT_EQ(info.channels, 3);
  EXPECT_EQ(info.bit_depth, 8);
  auto bmp = read_file_bytes(fixture("bad/quadrants.bmp"));
  info = detail::read_bmp_header(bmp.data(), bmp.size(), "bmp");
  EXPECT_EQ(info.width, 60);
  EXPECT_EQ(info.height, 40);
}

TEST(ImageHeader, TiffWithHugeDimensionsIsRefused) {
  // Little-endian TIFF, IFD0 at 8 with two LONG entries: ImageWidth, ImageLength.
  std::vector<std::uint8_t> tiff(8 + 2 + 2 * 12 + 4, 0);
  std::memcpy(tiff.data(), "II*\0", 4);
  put_le32(tiff, 4, 8);
  put_le16(tiff, 8, 2);
  for (int i = 0; i < 2; ++i) {
    std::size_t e = 10 + i * 12;
    put_le16(tiff, e, 256 + i);
    put_le16(tiff, e + 2, 4);
    put_le32(tiff, e + 4, 1);
    put_le32(tiff, e + 8, 100000);
  }
  EXPECT_EQ(decode_error(tiff), ErrorCode::kTooLarge);
}

TEST(ImageHeader, ExifParserIsBoundsChecked) {
  // Big-endian TIFF block with one Orientation entry = 6.
  std::vector<std::uint8_t> exif{'M', 'M', 0, 42, 0, 0, 0, 8, 0, 1, 0x01, 0x12, 0, 3, 0, 0, 0, 1, 0, 6, 0, 0, 0, 0};
  EXPECT_EQ(detail::parse_exif_orientation(exif.data(), exif.size()), 6);
  for (std::size_t n = 0; n < 20; ++n) EXPECT_EQ(detail::parse_exif_orientation(exif.data(), n), 1) << n;
  auto huge_count = exif;
  huge_count[8] = 0xff;  // 65280 entries claimed in 24 bytes: the one in bounds is read, no more
  EXPECT_EQ(detail::parse_exif_orientation(huge_count.data(), huge_count.size()), 6);
  huge_count[10] = 0x00;  // ...and when that one is not Orientation, nothing is found
  EXPECT_EQ(detail::parse_exif_orientation(huge_count.data(), huge_count.size()), 1);
  auto far_ifd = exif;
  far_ifd[4] = 0x7f;  // IFD offset far past the end
  EXPECT_EQ(detail::parse_exif_orientation(far_ifd.data(), far_ifd.size()), 1);
  auto bad_value = exif;
  bad_value[19] = 9;  // out of range orientation
  EXPECT_EQ(detail::parse_exif_orientation(bad_value.data(), bad_value.size()), 1);
}

TEST(ImageHeader, JpegMarkerScanFindsExifAndAdobe) {
  auto rotated = read_file_bytes(fixture("bad/exif_orientation6.jpg"));
  EXPECT_EQ(detail::scan_jpeg_markers(rotated.data(), rotated.size()).exif_orientation, 6);
  EXPECT_FALSE(detail::scan_jpeg_markers(rotated.data(), rotated.size()).adobe);
  auto cmyk = read_file_bytes(fixture("bad/cmyk.jpg"));
  EXPECT_TRUE(detail::scan_jpeg_markers(cmyk.data(), cmyk.size()).adobe);
}

TEST(ImageHeader, UnsupportedFormatsAreNamed) {
  auto gif = read_file_bytes(fixture("bad/quadrants.gif"));
  EXPECT_EQ(detail::unsupported_format_name(gif.data(), gif.size()), "GIF");
  std::vector<std::uint8_t> heic{0, 0, 0, 24, 'f', 't', 'y', 'p', 'h', 'e', 'i', 'c'};
  EXPECT_EQ(detail::unsupported_format_name(heic.data(), heic.size()), "HEIC");
  std::vector<std::uint8_t> random{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12};
  EXPECT_EQ(detail::unsupported_format_name(random.data(), random.size()), "");
}

// Every prefix and many single-byte corruptions of every fixture: decode either succeeds or throws
// faceage::Error with an input error code; never crashes or throws anything else.
TEST(ImageHeader, TruncatedAndCorruptedInputsNeverCrash) {
  std::mt19937 rng(1234);
  for (const char* name : {"quadrants.jpg", "quadrants.png", "quadrants.bmp", "quadrants.webp", "quadrants.tiff",
                           "cmyk.jpg", "rgb16.png", "rgba.png", "gray_alpha.png", "exif_orientation6.jpg",
                           "exif_orientation8.png"}) {
    SCOPED_TRACE(name);
    const auto bytes = read_file_bytes(fixture(std::string("bad/") + name));
    const std::size_t stride = bytes.size() > 2000 ? 29 : 1;
    auto check = [&](const std::vector<std::uint8_t>& data) {
      try {
        DecodedImage image = decode_image(data.data(), data.size(), {}, name);
        EXPECT_EQ(image.rgb.type(), CV_8UC3);
      } catch (const Error& e) {
        EXPECT_TRUE(e.code() == ErrorCode::kUnreadableImage || e.code() == ErrorCode::kTooLarge ||
                    e.code() == ErrorCode::kUnsupportedMediaType)
            << e.what();
      }
    };
    for (std::size_t n = 0; n < bytes.size(); n += stride) {
      check(std::vector<std::uint8_t>(bytes.begin(), bytes.begin() + static_cast<std::ptrdiff_t>(n)));
    }
    for (int i = 0; i < 100; ++i) {
      auto corrupt = bytes;
      corrupt[rng() % corrupt.size()] = static_cast<std::uint8_t>(rng());
      check(corrupt);
    }
  }
}

}  // namespace
}  // namespace faceage::data
