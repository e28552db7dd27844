#pragma once
// Image decoding for every module: bytes or a file -> RGB cv::Mat with EXIF orientation applied.
//
// Contract:
//  - The result is CV_8UC3, RGB channel order, continuous, orientation applied.
//  - Limits are checked before any pixel is decoded: input size against max_bytes, and
//    width*height (read from the format's header) against max_pixels.
//  - Errors are faceage::Error naming the source and the reason:
//      empty / truncated / corrupt / no image signature  -> kUnreadableImage
//      a recognised but unsupported format (GIF, HEIC...) -> kUnsupportedMediaType
//      over max_bytes or max_pixels                       -> kTooLarge
//  - JPEG goes through libturbojpeg (one decompressor cached per thread); PNG, BMP, WebP and
//    TIFF through cv::imdecode(IMREAD_UNCHANGED). 16-bit samples are scaled by 1/257, gray is
//    replicated to RGB, alpha is composited on white.
//  - Thread-safe: no shared mutable state.
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include <opencv2/core.hpp>

namespace faceage::data {

struct DecodeOptions {
  std::int64_t max_pixels = 40'000'000;         // decompression-bomb limit (width*height), from the header
  std::int64_t max_bytes = 64LL * 1024 * 1024;  // input size limit
  bool apply_exif_orientation = true;
};

struct DecodedImage {
  cv::Mat rgb;              // CV_8UC3, RGB channel order, orientation applied, continuous
  std::string format;       // "jpeg" | "png" | "bmp" | "webp" | "tiff"
  int source_channels = 3;  // 1 gray, 2 gray+alpha, 3, 4 (RGBA or CMYK)
  int source_bit_depth = 8; // 8 or 16
  int exif_orientation = 1; // 1..8 as found (1 when none)
};

// The format named by the leading magic bytes: "jpeg", "png", "bmp", "webp", "tiff", or "" when
// the bytes are none of these (including recognised-but-unsupported formats such as GIF).
std::string sniff_image_format(const std::uint8_t* data, std::size_t size);

// Decodes an encoded image held in memory. `source_name` names it in error messages.
DecodedImage decode_image(const std::uint8_t* data, std::size_t size, const DecodeOptions& options,
                          const std::string& source_name);

// Reads and decodes a file: kNotFound when missing; kTooLarge when the file exceeds max_bytes
// (checked from the file size before reading).
DecodedImage read_image(const std::string& path, const DecodeOptions& options = {});

// True for .jpg .jpeg .png .bmp .webp .tif .tiff (case-insensitive).
bool has_image_extension(const std::string& path);

// Files are returned as given (whatever their extension); directories are walked recursively for
// files with an image extension, sorted by path. A missing path is kNotFound.
std::vector<std::string> list_images(const std::vector<std::string>& paths_or_dirs);

// What a scan for images to predict on found: nothing in a folder is dropped without a word.
struct ImageScan {
  // Files given by name, and files in folders that have an image extension or whose first bytes
  // are an image signature (a supported one, or one decode_image names as unsupported, e.g. GIF,
  // so that it gets an error record naming the format).
  std::vector<std::string> images;
  std::vector<std::string> skipped;  // other files in the folders (not images), sorted by path
};
// As list_images, sniffing the first bytes of folder files without an image extension. A
// missing path is kNotFound.
ImageScan scan_images(const std::vector<std::string>& paths_or_dirs);

// Applies an EXIF orientation (1..8) to an image: the stored pixels become the displayed ones.
// Orientation 1 or out-of-range values return the input unchanged (no copy).
cv::Mat apply_exif_orientation(const cv::Mat& image, int orientation);

}  // namespace faceage::data
