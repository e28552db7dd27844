#pragma once
// Torch-free helpers the routes use: base64, media types, bearer tokens, JSON error bodies.
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "faceage/core/error.hpp"

namespace faceage::serve {

std::string base64_encode(const std::uint8_t* data, std::size_t size);
inline std::string base64_encode(const std::string& bytes) {
  return base64_encode(reinterpret_cast<const std::uint8_t*>(bytes.data()), bytes.size());
}
// Accepts the standard and URL-safe alphabets, optional padding, whitespace and a
// "data:...;base64," prefix; anything else is kInvalidArgument naming `what`.
std::string base64_decode(std::string_view text, const std::string& what = "base64 data");

// "image/jpeg; charset=x" -> "image/jpeg" (lower case, parameters dropped).
std::string media_type(const std::string& content_type);
bool is_image_media_type(const std::string& media);  // image/* and application/x-image, application/octet-stream

// The token of "Authorization: Bearer TOKEN" ("" when absent or another scheme).
std::string bearer_token(const std::string& authorization_header);
// Compares in time independent of where the strings differ (tokens are secrets).
bool constant_time_equal(const std::string& a, const std::string& b);

// {"error": {"code": "no_face", "message": "..."}}
nlohmann::json error_body(ErrorCode code, const std::string& message);
nlohmann::json error_body(const std::string& code, const std::string& message);

}  // namespace faceage::serve
