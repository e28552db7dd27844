#include "faceage/data/image_io.hpp"

#include <turbojpeg.h>

#include <algorithm>
#include <climits>
#include <cstdio>
#include <cstring>
#include <filesystem>

#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include "data/image_header.hpp"
#include "faceage/core/error.hpp"
#include "faceage/core/fs.hpp"
#include "faceage/core/strings.hpp"

namespace faceage::data {

namespace fs = std::filesystem;

namespace {

constexpr const char* kSupported = "supported: JPEG, PNG, BMP, WebP, TIFF";

void check_dimensions(std::int64_t width, std::int64_t height, const DecodeOptions& options,
                      const std::string& source) {
  if (width <= 0 || height <= 0) {
    throw Error(ErrorCode::kUnreadableImage, source + ": the header gives invalid dimensions " +
                                                 std::to_string(width) + "x" + std::to_string(height));
  }
  // Both are < 2^32, so the product cannot overflow int64.
  if (width * height > options.max_pixels) {
    throw Error(ErrorCode::kTooLarge,
                source + ": " + std::to_string(width) + "x" + std::to_string(height) + " pixels exceeds the limit of " +
                    std::to_string(options.max_pixels) + " pixels",
                "downscale the image, or raise DecodeOptions.max_pixels if it is legitimate");
  }
}

// One turbojpeg decompressor per thread: a cache, never shared between threads.
struct TurboHandle {
  tjhandle handle = tjInitDecompress();
  ~TurboHandle() {
    if (handle) tjDestroy(handle);
  }
  // TurboJPEG 2.1 leaves a handle mid-header after a failed tjDecompressHeader3 (the next call
  // then reports bogus errors on good files), so a handle that saw an error is replaced.
  void reset() {
    if (handle) tjDestroy(handle);
    handle = tjInitDecompress();
  }
};

TurboHandle& thread_decompressor() {
  thread_local TurboHandle holder;
  if (!holder.handle) holder.reset();
  if (!holder.handle) throw Error(ErrorCode::kInternal, "tjInitDecompress failed: " + std::string(tjGetErrorStr2(nullptr)));
  return holder;
}

// libjpeg warnings that mean the pixels are incomplete or invented: truncation and corrupt
// entropy data. "N extraneous bytes before marker" is the one common harmless warning
// (some cameras write padding) and is accepted; so are informational warnings.
bool is_damaging_jpeg_warning(const std::string& message) {
  if (message.find("extraneous bytes") != std::string::npos) return false;
  return message.find("Premature end") != std::string::npos || message.find("Corrupt JPEG data") != std::string::npos ||
         message.find("Invalid SOS") != std::string::npos || message.find("Bogus") != std::string::npos;
}

void decode_jpeg(const std::uint8_t* data, std::size_t size, const DecodeOptions& options, const std::string& source,
                 DecodedImage& out) {
  TurboHandle& holder = thread_decompressor();
  tjhandle tj = holder.handle;
  int width = 0, height = 0, subsamp = 0, colorspace = 0;
  if (tjDecompressHeader3(tj, data, static_cast<unsigned long>(size), &width, &height, &subsamp, &colorspace) != 0) {
    const std::string message = tjGetErrorStr2(tj);
    holder.reset();
    throw Error(ErrorCode::kUnreadableImage, source + ": unreadable JPEG header: " + message,
                "the file is corrupt or truncated; re-export or remove it");
  }
  check_dimensions(width, height, options, source);
  const detail::JpegMarkers markers = detail::scan_jpeg_markers(data, size);
  out.exif_orientation = markers.exif_orientation;
  out.source_bit_depth = 8;

  const bool cmyk = colorspace == TJCS_CMYK || colorspace == TJCS_YCCK;
  out.source_channels = colorspace == TJCS_GRAY ? 1 : (cmyk ? 4 : 3);
  cv::Mat decoded(height, width, cmyk ? CV_8UC4 : CV_8UC3);
  // LIMITSCANS refuses progressive JPEGs with absurd scan counts (a CPU-exhaustion attack).
  const int flags = TJFLAG_LIMITSCANS;
  if (tjDecompress2(tj, data, static_cast<unsigned long>(size), decoded.data, width, 0, height,
                    cmyk ? TJPF_CMYK : TJPF_RGB, flags) != 0) {
    const std::string message = tjGetErrorStr2(tj);
    const bool fatal = tjGetErrorCode(tj) == TJERR_FATAL;
    holder.reset();
    if (fatal || is_damaging_jpeg_warning(message)) {
      throw Error(ErrorCode::kUnreadableImage, source + ": corrupt or truncated JPEG: " + message,
                  "the file is damaged; re-export or remove it");
    }
  }
  if (cmyk) {
    // Adobe (Photoshop, Pillow, libjpeg with an APP14 marker) stores CMYK inverted: 255 = no ink,
    // so R = C*K/255. Without the marker the values are plain ink amounts.
    cv::Mat rgb(height, width, CV_8UC3);
    const bool inverted = markers.adobe;
    const std::uint8_t* src = decoded.data;
    std::uint8_t* dst = rgb.data;
    const std::size_t n = static_cast<std::size_t>(width) * static_cast<std::size_t>(height);
    for (std::size_t i = 0; i < n; ++i, src += 4, dst += 3) {
      unsigned c = src[0], m = src[1], y = src[2], k = src[3];
      if (!inverted) {
        c = 255 - c;
        m = 255 - m;
        y = 255 - y;
        k = 255 - k;
      }
      dst[0] = static_cast<std::uint8_t>((c * k + 127) / 255);
      dst[1] = static_cast<std::uint8_t>((m * k + 127) / 255);
      dst[2] = static_cast<std::uint8_t>((y * k + 127) / 255);
    }
    out.rgb = std::move(rgb);
  } else {
    out.rgb = std::move(decoded);
  }
}

// Composites BGRA on white and swaps to RGB in one pass.
cv::Mat bgra_on_white_to_rgb(const cv::Mat& bgra) {
  cv::Mat rgb(bgra.rows, bgra.cols, CV_8UC3);
  for (int y = 0; y < bgra.rows; ++y) {
    const std::uint8_t* src = bgra.ptr<std::uint8_t>(y);
    std::uint8_t* dst = rgb.ptr<std::uint8_t>(y);
    for (int x = 0; x < bgra.cols; ++x, src += 4, dst += 3) {
      const unsigned a = src[3], white = 255u * (255u - a);
      dst[0] = static_cast<std::uint8_t>((src[2] * a + white + 127) / 255);
      dst[1] = static_cast<std::uint8_t>((src[1] * a + white + 127) / 255);
      dst[2] = static_cast<std::uint8_t>((src[0] * a + white + 127) / 255);
    }
  }
  return rgb;
}

void decode_with_opencv(const std::uint8_t* data, std::size_t size, const DecodeOptions& options,
                        const std::string& source, DecodedImage& out) {
  detail::HeaderInfo header;
  if (out.format == "png") {
    header = detail::read_png_header(data, size, source);
  } else if (out.format == "bmp") {
    header = detail::read_bmp_header(data, size, source);
  } else if (out.format == "webp") {
    header = detail::read_webp_header(data, size, source);
  } else {
    header = detail::read_tiff_header(data, size, source);
  }
  check_dimensions(header.width, header.height, options, source);
  out.exif_orientation = header.exif_orientation;
  if (size > static_cast<std::size_t>(INT_MAX)) {
    throw Error(ErrorCode::kTooLarge, source + ": more than 2 GiB of encoded data");
  }

  cv::Mat raw;
  try {
    // imdecode only reads the buffer; the Mat header just wraps it without copying.
    const cv::Mat buffer(1, static_cast<int>(size), CV_8UC1, const_cast<std::uint8_t*>(data));
    raw = cv::imdecode(buffer, cv::IMREAD_UNCHANGED);
  } catch (const cv::Exception& e) {
    throw Error(ErrorCode::kUnreadableImage, source + ": corrupt " + out.format + " data: " + e.what());
  }
  if (raw.empty()) {
    throw Error(ErrorCode::kUnreadableImage, source + ": corrupt or truncated " + out.format + " data",
                "the file is damaged; re-export or remove it");
  }
  check_dimensions(raw.cols, raw.rows, options, source);  // belt and braces: the decoder's own view

  out.source_channels = header.channels > 0 ? header.channels : raw.channels();
  const int depth = raw.depth();
  if (depth == CV_16U) {
    out.source_bit_depth = 16;
    cv::Mat eight;
    raw.convertTo(eight, CV_8U, 1.0 / 257.0);
    raw = std::move(eight);
  } else if (depth == CV_8U) {
    out.source_bit_depth = header.bit_depth == 16 ? 16 : 8;
  } else {
    throw Error(ErrorCode::kUnsupportedMediaType,
                source + ": " + out.format + " with " + std::to_string(raw.elemSize1() * 8) +
                    "-bit or floating-point samples is not supported (8 or 16-bit integer only)");
  }
  switch (raw.channels()) {
    case 1: cv::cvtColor(raw, out.rgb, cv::COLOR_GRAY2RGB); break;
    case 3: cv::cvtColor(raw, out.rgb, cv::COLOR_BGR2RGB); break;
    case 4: out.rgb = bgra_on_white_to_rgb(raw); break;
    case 2: {  // gray + alpha: expand to BGRA first
      std::vector<cv::Mat> planes;
      cv::split(raw, planes);
      cv::Mat bgra;
      cv::merge(std::vector<cv::Mat>{planes[0], planes[0], planes[0], planes[1]}, bgra);
      out.rgb = bgra_on_white_to_rgb(bgra);
      break;
    }
    default:
      throw Error(ErrorCode::kUnsupportedMediaType,
                  source + ": " + std::to_string(raw.channels()) + "-channel images are not supported");
  }
}

}  // namespace

std::string sniff_image_format(const std::uint8_t* data, std::size_t size) {
  if (!data) return {};
  if (size >= 3 && data[0] == 0xff && data[1] == 0xd8 && data[2] == 0xff) return "jpeg";
  if (size >= 8 && std::memcmp(data, "\x89PNG\r\n\x1a\n", 8) == 0) return "png";
  if (size >= 12 && std::memcmp(data, "RIFF", 4) == 0 && std::memcmp(data + 8, "WEBP", 4) == 0) return "webp";
  if (size >= 4 && (std::memcmp(data, "II*\0", 4) == 0 || std::memcmp(data, "MM\0*", 4) == 0)) return "tiff";
  if (size >= 2 && data[0] == 'B' && data[1] == 'M') return "bmp";
  return {};
}

cv::Mat apply_exif_orientation(const cv::Mat& image, int orientation) {
  cv::Mat out;
  switch (orientation) {
    case 2: cv::flip(image, out, 1); break;                          // mirror left-right
    case 3: cv::rotate(image, out, cv::ROTATE_180); break;
    case 4: cv::flip(image, out, 0); break;                          // mirror top-bottom
    case 5: cv::transpose(image, out); break;                        // mirror along the main diagonal
    case 6: cv::rotate(image, out, cv::ROTATE_90_CLOCKWISE); break;
    case 7: cv::transpose(image, out); cv::flip(out, out, -1); break;  // mirror along the anti-diagonal
    case 8: cv::rotate(image, out, cv::ROTATE_90_COUNTERCLOCKWISE); break;
    default: return image;
  }
  return out;
}

DecodedImage decode_image(const std::uint8_t* data, std::size_t size, const DecodeOptions& options,
                          const std::string& source_name) {
  const std::string& source = source_name.empty() ? std::string("<image>") : source_name;
  if (size == 0 || !data) {
    throw Error(ErrorCode::kUnreadableImage, source + ": empty input (0 bytes)", "the file is empty; remove it");
  }
  if (static_cast<std::int64_t>(size) > options.max_bytes) {
    throw Error(ErrorCode::kTooLarge,
                source + ": " + std::to_string(size) + " bytes exceeds the limit of " + std::to_string(options.max_bytes) +
                    " bytes",
                "use a smaller file, or raise DecodeOptions.max_bytes");
  }
  DecodedImage out;
  out.format = sniff_image_format(data, size);
  if (out.format.empty()) {
    std::string known = detail::unsupported_format_name(data, size);
    if (!known.empty()) {
      throw Error(ErrorCode::kUnsupportedMediaType, source + ": " + known + " images are not supported",
                  std::string(kSupported) + "; convert the image to one of these");
    }
    throw Error(ErrorCode::kUnreadableImage, source + ": not an image (no known image signature)",
                std::string(kSupported) + "; the file may be corrupt or mislabelled");
  }
  if (out.format == "jpeg") {
    decode_jpeg(data, size, options, source, out);
  } else {
    decode_with_opencv(data, size, options, source, out);
  }
  if (options.apply_exif_orientation && out.exif_orientation != 1) {
    out.rgb = apply_exif_orientation(out.rgb, out.exif_orientation);
  }
  if (!out.rgb.isContinuous()) out.rgb = out.rgb.clone();
  return out;
}

DecodedImage read_image(const std::string& path, const DecodeOptions& options) {
  std::error_code ec;
  const auto status = fs::status(path, ec);
  if (ec || !fs::exists(status)) throw Error(ErrorCode::kNotFound, path + ": file does not exist");
  if (fs::is_directory(status)) throw Error(ErrorCode::kInvalidArgument, path + ": is a directory, not an image file");
  const auto file_size = fs::file_size(path, ec);
  if (!ec && static_cast<std::int64_t>(file_size) > options.max_bytes) {
    throw Error(ErrorCode::kTooLarge,
                path + ": " + std::to_string(file_size) + " bytes exceeds the limit of " +
                    std::to_string(options.max_bytes) + " bytes",
                "use a smaller file, or raise DecodeOptions.max_bytes");
  }
  const std::vector<std::uint8_t> bytes = read_file_bytes(path);
  return decode_image(bytes.data(), bytes.size(), options, path);
}

bool has_image_extension(const std::string& path) {
  const std::string ext = to_lower(fs::path(path).extension().string());
  return ext == ".jpg" || ext == ".jpeg" || ext == ".png" || ext == ".bmp" || ext == ".webp" || ext == ".tif" ||
         ext == ".tiff";
}

namespace {

// Walks `paths_or_dirs`: given files go to `on_given`, regular files found in folders (sorted
// by path per folder) to `on_found`.
template <class Given, class Found>
void walk_inputs(const std::vector<std::string>& paths_or_dirs, Given&& on_given, Found&& on_found) {
  for (const auto& item : paths_or_dirs) {
    std::error_code ec;
    const auto status = fs::status(item, ec);
    if (ec || !fs::exists(status)) {
      throw Error(ErrorCode::kNotFound, "'" + item + "' does not exist", "check the path");
    }
    if (!fs::is_directory(status)) {
      on_given(item);
      continue;
    }
    std::vector<std::string> found;
    for (fs::recursive_directory_iterator it(item, fs::directory_options::skip_permission_denied, ec), end;
         !ec && it != end; it.increment(ec)) {
      if (it->is_regular_file(ec)) found.push_back(it->path().string());
    }
    if (ec) throw Error(ErrorCode::kIo, "cannot list '" + item + "': " + ec.message());
    std::sort(found.begin(), found.end());
    for (const auto& path : found) on_found(path);
  }
}

// An image signature (supported, or a known unsupported image format) in the file's first bytes.
// Documents (PDF, XML) beside photos are not images; an .svg file is.
bool starts_like_an_image(const std::string& path) {
  std::uint8_t head[64] = {};
  std::FILE* file = std::fopen(path.c_str(), "rb");
  if (!file) return false;
  const std::size_t size = std::fread(head, 1, sizeof head, file);
  std::fclose(file);
  if (!sniff_image_format(head, size).empty()) return true;
  const std::string unsupported = detail::unsupported_format_name(head, size);
  if (unsupported == "PDF") return false;
  if (unsupported == "SVG/XML") return to_lower(fs::path(path).extension().string()) == ".svg";
  return !unsupported.empty();
}

}  // namespace

std::vector<std::string> list_images(const std::vector<std::string>& paths_or_dirs) {
  std::vector<std::string> out;
  auto keep = [&](const std::string& path) { out.push_back(path); };
  walk_inputs(paths_or_dirs, keep, [&](const std::string& path) {
    if (has_image_extension(fs::path(path).filename().string())) keep(path);
  });
  return out;
}

ImageScan scan_images(const std::vector<std::string>& paths_or_dirs) {
  ImageScan scan;
  walk_inputs(
      paths_or_dirs, [&](const std::string& path) { scan.images.push_back(path); },
      [&](const std::string& path) {
        const bool image = has_image_extension(fs::path(path).filename().string()) || starts_like_an_image(path);
        (image ? scan.images : scan.skipped).push_back(path);
      });
  return scan;
}

}  // namespace faceage::data
