#pragma once
// Private: cheap, bounds-checked readers for image headers and EXIF orientation. They never
// decode pixels, so limits can be enforced before any large allocation.
#include <cstddef>
#include <cstdint>
#include <string>

namespace faceage::data::detail {

struct HeaderInfo {
  std::int64_t width = 0;
  std::int64_t height = 0;
  int channels = 0;       // 0 when the header does not say cheaply
  int bit_depth = 0;      // 0 when the header does not say cheaply
  int exif_orientation = 1;
};

// Name of a recognised image format that faceage does not decode ("GIF", "HEIC", ...), or "".
std::string unsupported_format_name(const std::uint8_t* data, std::size_t size);

// Width/height (and orientation where present) of PNG, BMP, WebP and TIFF data.
// Throws Error(kUnreadableImage) naming `source` when the header is missing or malformed.
HeaderInfo read_png_header(const std::uint8_t* data, std::size_t size, const std::string& source);
HeaderInfo read_bmp_header(const std::uint8_t* data, std::size_t size, const std::string& source);
HeaderInfo read_webp_header(const std::uint8_t* data, std::size_t size, const std::string& source);
HeaderInfo read_tiff_header(const std::uint8_t* data, std::size_t size, const std::string& source);

// EXIF orientation from a TIFF-structured block (the body of an Exif APP1 segment after
// "Exif\0\0", a PNG eXIf chunk, a WebP EXIF chunk). 1 when absent or malformed.
int parse_exif_orientation(const std::uint8_t* tiff, std::size_t size);

struct JpegMarkers {
  int exif_orientation = 1;
  bool adobe = false;  // an APP14 "Adobe" segment: CMYK is stored inverted
};
// Walks the JPEG markers before the first SOS (never reads entropy-coded data).
JpegMarkers scan_jpeg_markers(const std::uint8_t* data, std::size_t size);

}  // namespace faceage::data::detail
