#include "faceage/serve/http_util.hpp"

#include <gtest/gtest.h>

namespace faceage::serve {
namespace {

TEST(HttpUtil, Base64MatchesRfc4648Vectors) {
  // RFC 4648 section 10.
  const std::pair<std::string, std::string> vectors[] = {{"", ""},           {"f", "Zg=="},        {"fo", "Zm8="},
                                                         {"foo", "Zm9v"},    {"foob", "Zm9vYg=="}, {"fooba", "Zm9vYmE="},
                                                         {"foobar", "Zm9vYmFy"}};
  for (const auto& [plain, encoded] : vectors) {
    EXPECT_EQ(base64_encode(plain), encoded);
    EXPECT_EQ(base64_decode(encoded), plain);
  }
}

TEST(HttpUtil, Base64DecodeAcceptsUnpaddedUrlSafeWhitespaceAndDataUrls) {
  EXPECT_EQ(base64_decode("Zm9vYg"), "foob");
  EXPECT_EQ(base64_decode("Zm9v\nYmFy\n"), "foobar");
  EXPECT_EQ(base64_decode("data:image/png;base64,Zm9v"), "foo");
  std::string binary = {'\xfb', '\xff'};
  EXPECT_EQ(base64_encode(binary), "+/8=");
  EXPECT_EQ(base64_decode("-_8"), binary);
}

TEST(HttpUtil, Base64DecodeRejectsGarbage) {
  EXPECT_THROW(base64_decode("Zm9v*"), Error);
  EXPECT_THROW(base64_decode("Zg==Zg"), Error);
  EXPECT_THROW(base64_decode("Z"), Error);
  EXPECT_THROW(base64_decode("data:text/plain,hello"), Error);
  try {
    base64_decode("!!", "instances[3]");
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::kInvalidArgument);
    EXPECT_NE(std::string(e.what()).find("instances[3]"), std::string::npos);
  }
}

TEST(HttpUtil, MediaTypes) {
  EXPECT_EQ(media_type("Image/JPEG; charset=binary"), "image/jpeg");
  EXPECT_EQ(media_type(""), "");
  EXPECT_TRUE(is_image_media_type("image/png"));
  EXPECT_TRUE(is_image_media_type("application/x-image"));
  EXPECT_FALSE(is_image_media_type("text/plain"));
}

TEST(HttpUtil, BearerTokens) {
  EXPECT_EQ(bearer_token("Bearer abc"), "abc");
  EXPECT_EQ(bearer_token("bearer  abc "), "abc");
  EXPECT_EQ(bearer_token("Basic abc"), "");
  EXPECT_EQ(bearer_token(""), "");
  EXPECT_TRUE(constant_time_equal("abc", "abc"));
  EXPECT_FALSE(constant_time_equal("abc", "abd"));
  EXPECT_FALSE(constant_time_equal("abc", "abcd"));
  EXPECT_FALSE(constant_time_equal("", "a"));
}

TEST(HttpUtil, ErrorBodyUsesTheStableCodeName) {
  const auto body = error_body(ErrorCode::kNoFace, "no face in x.jpg");
  EXPECT_EQ(body["error"]["code"], "no_face");
  EXPECT_EQ(body["error"]["message"], "no face in x.jpg");
}

}  // namespace
}  // namespace faceage::serve
