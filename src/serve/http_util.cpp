#include "faceage/serve/http_util.hpp"

#include <array>
#include <cctype>

#include "faceage/core/check.hpp"
#include "faceage/core/strings.hpp"

namespace faceage::serve {

namespace {
constexpr char kAlphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

std::array<std::int8_t, 256> make_decode_table() {
  std::array<std::int8_t, 256> table{};
  table.fill(-1);
  for (int i = 0; i < 64; ++i) table[static_cast<unsigned char>(kAlphabet[i])] = static_cast<std::int8_t>(i);
  table['-'] = 62;  // URL-safe alphabet
  table['_'] = 63;
  return table;
}
}  // namespace

std::string base64_encode(const std::uint8_t* data, std::size_t size) {
  std::string out;
  out.reserve((size + 2) / 3 * 4);
  std::size_t i = 0;
  for (; i + 2 < size; i += 3) {
    const std::uint32_t v = (data[i] << 16) | (data[i + 1] << 8) | data[i + 2];
    out += kAlphabet[(v >> 18) & 63];
    out += kAlphabet[(v >> 12) & 63];
    out += kAlphabet[(v >> 6) & 63];
    out += kAlphabet[v & 63];
  }
  if (i < size) {
    std::uint32_t v = data[i] << 16;
    if (i + 1 < size) v |= data[i + 1] << 8;
    out += kAlphabet[(v >> 18) & 63];
    out += kAlphabet[(v >> 12) & 63];
    out += i + 1 < size ? kAlphabet[(v >> 6) & 63] : '=';
    out += '=';
  }
  return out;
}

std::string base64_decode(std::string_view text, const std::string& what) {
  static const auto table = make_decode_table();
  if (text.substr(0, 5) == "data:") {
    const auto comma = text.find(',');
    FACEAGE_CHECK(comma != std::string_view::npos && text.substr(0, comma).find(";base64") != std::string_view::npos,
                  ErrorCode::kInvalidArgument, what << " is a data: URL without ';base64,'");
    text.remove_prefix(comma + 1);
  }
  std::string out;
  out.reserve(text.size() / 4 * 3);
  std::uint32_t buffer = 0;
  int bits = 0;
  std::size_t padding = 0;
  for (std::size_t i = 0; i < text.size(); ++i) {
    const auto c = static_cast<unsigned char>(text[i]);
    if (c == '=') {
      ++padding;
      continue;
    }
    if (std::isspace(c)) continue;
    FACEAGE_CHECK(padding == 0, ErrorCode::kInvalidArgument, what << " is not valid base64: data after '=' padding");
    const int v = table[c];
    FACEAGE_CHECK(v >= 0, ErrorCode::kInvalidArgument,
                  what << " is not valid base64: unexpected character at offset " << i);
    buffer = (buffer << 6) | static_cast<std::uint32_t>(v);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out += static_cast<char>((buffer >> bits) & 0xFF);
    }
  }
  FACEAGE_CHECK(bits < 6 && padding <= 2, ErrorCode::kInvalidArgument, what << " is not valid base64: truncated");
  return out;
}

std::string media_type(const std::string& content_type) {
  return to_lower(trim(content_type.substr(0, content_type.find(';'))));
}

bool is_image_media_type(const std::string& media) {
  return starts_with(media, "image/") || media == "application/x-image" || media == "application/octet-stream";
}

std::string bearer_token(const std::string& header) {
  const std::string value = trim(header);
  if (value.size() < 7 || to_lower(value.substr(0, 7)) != "bearer ") return {};
  return trim(value.substr(7));
}

bool constant_time_equal(const std::string& a, const std::string& b) {
  unsigned char diff = a.size() == b.size() ? 0 : 1;
  const std::size_t n = std::max(a.size(), b.size());
  for (std::size_t i = 0; i < n; ++i) {
    const unsigned char x = i < a.size() ? static_cast<unsigned char>(a[i]) : 0;
    const unsigned char y = i < b.size() ? static_cast<unsigned char>(b[i]) : 0;
    diff |= static_cast<unsigned char>(x ^ y);
  }
  return diff == 0;
}

nlohmann::json error_body(ErrorCode code, const std::string& message) { return error_body(error_code_name(code), message); }

nlohmann::json error_body(const std::string& code, const std::string& message) {
  return {{"error", {{"code", code}, {"message", message}}}};
}

}  // namespace faceage::serve
