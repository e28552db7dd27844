#include "data/image_header.hpp"

#include <cstring>

#include "faceage/core/error.hpp"

namespace faceage::data::detail {

namespace {

std::uint16_t be16(const std::uint8_t* p) { return static_cast<std::uint16_t>((p[0] << 8) | p[1]); }
std::uint32_t be32(const std::uint8_t* p) {
  return (std::uint32_t(p[0]) << 24) | (std::uint32_t(p[1]) << 16) | (std::uint32_t(p[2]) << 8) | p[3];
}
std::uint16_t le16(const std::uint8_t* p) { return static_cast<std::uint16_t>(p[0] | (p[1] << 8)); }
std::uint32_t le24(const std::uint8_t* p) { return std::uint32_t(p[0]) | (std::uint32_t(p[1]) << 8) | (std::uint32_t(p[2]) << 16); }
std::uint32_t le32(const std::uint8_t* p) { return le24(p) | (std::uint32_t(p[3]) << 24); }

bool has_prefix(const std::uint8_t* data, std::size_t size, const char* magic, std::size_t n, std::size_t at = 0) {
  return size >= at + n && std::memcmp(data + at, magic, n) == 0;
}

[[noreturn]] void bad_header(const std::string& source, const std::string& format, const std::string& why) {
  throw Error(ErrorCode::kUnreadableImage, source + ": malformed " + format + " header (" + why + ")",
              "the file is corrupt or truncated; re-export or remove it");
}

// A TIFF structure: byte order + IFD0 entries. Used both for TIFF files and EXIF blocks.
struct TiffReader {
  const std::uint8_t* data;
  std::size_t size;
  bool little = true;

  std::uint16_t u16(std::size_t at) const { return little ? le16(data + at) : be16(data + at); }
  std::uint32_t u32(std::size_t at) const { return little ? le32(data + at) : be32(data + at); }

  // Calls visit(tag, type, count, value_offset_position) for each IFD0 entry; false if malformed.
  template <class Visit>
  bool for_each_ifd0_entry(Visit visit) {
    if (size < 8) return false;
    if (data[0] == 'I' && data[1] == 'I') {
      little = true;
    } else if (data[0] == 'M' && data[1] == 'M') {
      little = false;
    } else {
      return false;
    }
    if (u16(2) != 42) return false;
    std::uint32_t ifd = u32(4);
    if (ifd < 8 || std::size_t(ifd) + 2 > size) return false;
    std::uint16_t count = u16(ifd);
    for (std::uint32_t i = 0; i < count; ++i) {
      std::size_t entry = std::size_t(ifd) + 2 + std::size_t(i) * 12;
      if (entry + 12 > size) return false;
      visit(u16(entry), u16(entry + 2), u32(entry + 4), entry + 8);
    }
    return true;
  }

  // A SHORT or LONG scalar stored inline in an entry (count 1).
  std::int64_t scalar(std::uint16_t type, std::uint32_t count, std::size_t value_pos) const {
    if (count != 1) return -1;
    if (type == 3) return u16(value_pos);
    if (type == 4) return u32(value_pos);
    return -1;
  }
};

}  // namespace

std::string unsupported_format_name(const std::uint8_t* data, std::size_t size) {
  if (has_prefix(data, size, "GIF87a", 6) || has_prefix(data, size, "GIF89a", 6)) return "GIF";
  if (has_prefix(data, size, "ftyp", 4, 4) && size >= 12) {
    std::string brand(reinterpret_cast<const char*>(data + 8), 4);
    if (brand == "avif" || brand == "avis") return "AVIF";
    if (brand.rfind("hei", 0) == 0 || brand.rfind("hev", 0) == 0 || brand == "mif1" || brand == "msf1") return "HEIC";
  }
  if (has_prefix(data, size, "\x00\x00\x00\x0cjP  ", 8) || has_prefix(data, size, "\xff\x4f\xff\x51", 4)) return "JPEG 2000";
  if (has_prefix(data, size, "8BPS", 4)) return "PSD";
  if (has_prefix(data, size, "\x00\x00\x01\x00", 4)) return "ICO";
  if (has_prefix(data, size, "%PDF", 4)) return "PDF";
  if (has_prefix(data, size, "\x76\x2f\x31\x01", 4)) return "OpenEXR";
  if (has_prefix(data, size, "<svg", 4) || has_prefix(data, size, "<?xml", 5)) return "SVG/XML";
  if (has_prefix(data, size, "\xff\x0a", 2)) return "JPEG XL";
  return {};
}

HeaderInfo read_png_header(const std::uint8_t* data, std::size_t size, const std::string& source) {
  // Signature (8) + IHDR chunk: length (4) "IHDR" width height depth colour ...
  if (size < 33 || !has_prefix(data, size, "IHDR", 4, 12)) bad_header(source, "PNG", "no IHDR chunk");
  HeaderInfo info;
  info.width = be32(data + 16);
  info.height = be32(data + 20);
  info.bit_depth = data[24];
  switch (data[25]) {
    case 0: info.channels = 1; break;
    case 2: info.channels = 3; break;
    case 3: info.channels = 3; break;  // palette
    case 4: info.channels = 2; break;
    case 6: info.channels = 4; break;
    default: bad_header(source, "PNG", "colour type " + std::to_string(data[25]));
  }
  if (info.bit_depth < 8) info.bit_depth = 8;  // 1/2/4-bit samples are expanded to 8 bits
  // Walk chunk headers (never their data) for an eXIf chunk; stop at IEND or at the end.
  std::size_t pos = 8;
  while (pos + 12 <= size) {
    std::uint32_t length = be32(data + pos);
    const std::uint8_t* type = data + pos + 4;
    if (std::memcmp(type, "IEND", 4) == 0) break;
    if (std::size_t(length) > size - pos - 12) break;
    if (std::memcmp(type, "eXIf", 4) == 0) {
      info.exif_orientation = parse_exif_orientation(data + pos + 8, length);
      break;
    }
    pos += 12 + std::size_t(length);
  }
  return info;
}

HeaderInfo read_bmp_header(const std::uint8_t* data, std::size_t size, const std::string& source) {
  if (size < 26) bad_header(source, "BMP", "shorter than a BMP header");
  std::uint32_t header_size = le32(data + 14);
  HeaderInfo info;
  if (header_size == 12) {  // BITMAPCOREHEADER: 16-bit dimensions
    info.width = le16(data + 18);
    info.height = le16(data + 20);
  } else if (header_size >= 40 && size >= 30) {  // BITMAPINFOHEADER and later
    auto width = static_cast<std::int32_t>(le32(data + 18));
    auto height = static_cast<std::int32_t>(le32(data + 22));  // negative: top-down rows
    info.width = width;
    info.height = height < 0 ? -std::int64_t(height) : height;
    int bits = le16(data + 28);
    info.channels = bits == 32 ? 4 : (bits <= 8 ? 3 : 3);
  } else {
    bad_header(source, "BMP", "unknown DIB header size " + std::to_string(header_size));
  }
  info.bit_depth = 8;
  return info;
}

HeaderInfo read_webp_header(const std::uint8_t* data, std::size_t size, const std::string& source) {
  if (size < 30) bad_header(source, "WebP", "shorter than a WebP header");
  HeaderInfo info;
  info.bit_depth = 8;
  const std::uint8_t* chunk = data + 12;
  const std::uint8_t* payload = chunk + 8;
  if (std::memcmp(chunk, "VP8 ", 4) == 0) {
    // Frame tag (3 bytes), start code 9d 01 2a, then 14-bit width and height.
    if (payload[3] != 0x9d || payload[4] != 0x01 || payload[5] != 0x2a) bad_header(source, "WebP", "bad VP8 start code");
    info.width = le16(payload + 6) & 0x3fff;
    info.height = le16(payload + 8) & 0x3fff;
    info.channels = 3;
  } else if (std::memcmp(chunk, "VP8L", 4) == 0) {
    if (payload[0] != 0x2f) bad_header(source, "WebP", "bad VP8L signature");
    std::uint32_t bits = le32(payload + 1);
    info.width = 1 + (bits & 0x3fff);
    info.height = 1 + ((bits >> 14) & 0x3fff);
    info.channels = (bits >> 28) & 1 ? 4 : 3;
  } else if (std::memcmp(chunk, "VP8X", 4) == 0) {
    std::uint8_t flags = payload[0];
    info.width = 1 + std::int64_t(le24(payload + 4));
    info.height = 1 + std::int64_t(le24(payload + 7));
    info.channels = (flags & 0x10) ? 4 : 3;
    if (flags & 0x08) {  // an EXIF chunk follows somewhere: walk the RIFF chunks
      std::size_t pos = 12;
      while (pos + 8 <= size) {
        std::uint32_t length = le32(data + pos + 4);
        if (std::size_t(length) > size - pos - 8) break;
        if (std::memcmp(data + pos, "EXIF", 4) == 0) {
          const std::uint8_t* exif = data + pos + 8;
          std::size_t n = length;
          if (n >= 6 && std::memcmp(exif, "Exif\0\0", 6) == 0) {  // some writers keep the APP1 prefix
            exif += 6;
            n -= 6;
          }
          info.exif_orientation = parse_exif_orientation(exif, n);
          break;
        }
        pos += 8 + std::size_t(length) + (length & 1);
      }
    }
  } else {
    bad_header(source, "WebP", "unknown first chunk");
  }
  return info;
}

HeaderInfo read_tiff_header(const std::uint8_t* data, std::size_t size, const std::string& source) {
  TiffReader reader{data, size};
  HeaderInfo info;
  std::int64_t samples = 0, bits = 0;
  bool ok = reader.for_each_ifd0_entry([&](std::uint16_t tag, std::uint16_t type, std::uint32_t count, std::size_t pos) {
    switch (tag) {
      case 256: info.width = reader.scalar(type, count, pos); break;
      case 257: info.height = reader.scalar(type, count, pos); break;
      case 258:  // BitsPerSample: inline when count <= 2 shorts, else at an offset; the first is enough
        if (type == 3 && count >= 1) {
          std::size_t at = count <= 2 ? pos : std::size_t(reader.u32(pos));
          if (at + 2 <= size) bits = reader.u16(at);
        }
        break;
      case 277: samples = reader.scalar(type, count, pos); break;
      case 274: {
        std::int64_t o = reader.scalar(type, count, pos);
        if (o >= 1 && o <= 8) info.exif_orientation = static_cast<int>(o);
        break;
      }
      default: break;
    }
  });
  if (!ok) bad_header(source, "TIFF", "unreadable first IFD");
  if (info.width <= 0 || info.height <= 0) bad_header(source, "TIFF", "no image width/length tags");
  info.channels = samples > 0 ? static_cast<int>(samples) : 0;
  info.bit_depth = bits > 0 ? static_cast<int>(bits) : 0;
  return info;
}

int parse_exif_orientation(const std::uint8_t* tiff, std::size_t size) {
  TiffReader reader{tiff, size};
  int orientation = 1;
  reader.for_each_ifd0_entry([&](std::uint16_t tag, std::uint16_t type, std::uint32_t count, std::size_t pos) {
    if (tag != 274) return;
    std::int64_t o = reader.scalar(type, count, pos);
    if (o >= 1 && o <= 8) orientation = static_cast<int>(o);
  });
  return orientation;
}

JpegMarkers scan_jpeg_markers(const std::uint8_t* data, std::size_t size) {
  JpegMarkers out;
  if (size < 4 || data[0] != 0xff || data[1] != 0xd8) return out;
  std::size_t pos = 2;
  bool exif_seen = false;
  while (pos + 4 <= size) {
    if (data[pos] != 0xff) break;  // not at a marker: malformed; leave it to the decoder
    std::uint8_t marker = data[pos + 1];
    if (marker == 0xff) {  // fill byte
      ++pos;
      continue;
    }
    if (marker == 0xda || marker == 0xd9) break;  // start of scan / end of image
    if (marker == 0x01 || (marker >= 0xd0 && marker <= 0xd7)) {  // standalone markers
      pos += 2;
      continue;
    }
    std::size_t length = be16(data + pos + 2);
    if (length < 2 || pos + 2 + length > size) break;
    const std::uint8_t* payload = data + pos + 4;
    std::size_t n = length - 2;
    if (marker == 0xe1 && !exif_seen && n >= 6 && std::memcmp(payload, "Exif\0\0", 6) == 0) {
      exif_seen = true;  // only the first Exif APP1 counts
      out.exif_orientation = parse_exif_orientation(payload + 6, n - 6);
    } else if (marker == 0xee && n >= 5 && std::memcmp(payload, "Adobe", 5) == 0) {
      out.adobe = true;
    }
    pos += 2 + length;
  }
  return out;
}

}  // namespace faceage::data::detail
