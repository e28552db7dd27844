#include "faceage/core/error.hpp"

#include <gtest/gtest.h>

#include "faceage/core/check.hpp"

namespace faceage {

TEST(Error, CodesMapToDistinctNamesExitCodesAndHttpStatuses) {
  EXPECT_STREQ(error_code_name(ErrorCode::kNoFace), "no_face");
  EXPECT_EQ(http_status(ErrorCode::kNoFace), 422);
  EXPECT_EQ(http_status(ErrorCode::kInvalidArgument), 400);
  EXPECT_EQ(http_status(ErrorCode::kTooLarge), 413);
  EXPECT_EQ(http_status(ErrorCode::kUnsupportedMediaType), 415);
  EXPECT_EQ(http_status(ErrorCode::kNotReady), 503);
  EXPECT_EQ(http_status(ErrorCode::kInternal), 500);
  EXPECT_EQ(http_status(ErrorCode::kUnauthorized), 401);
  EXPECT_STREQ(error_code_name(ErrorCode::kForbidden), "forbidden");
  EXPECT_EQ(http_status(ErrorCode::kForbidden), 403);
  EXPECT_EQ(exit_code(ErrorCode::kInvalidArgument), 2);
  EXPECT_NE(exit_code(ErrorCode::kNoFace), 0);
  EXPECT_NE(exit_code(ErrorCode::kNoFace), kExitPartialFailure);
}

TEST(Error, FullMessageCarriesHint) {
  Error e(ErrorCode::kNotFound, "model 'x' not found", "pass --model PATH");
  EXPECT_EQ(e.full_message(), "model 'x' not found (pass --model PATH)");
}

TEST(Check, ThrowsWithStreamedMessage) {
  int size = 3;
  try {
    FACEAGE_CHECK(size > 5, ErrorCode::kInvalidArgument, "size must be > 5, got " << size);
    FAIL();
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::kInvalidArgument);
    EXPECT_STREQ(e.what(), "size must be > 5, got 3");
  }
}

TEST(Check, EnsureIsInternalAndNamesTheExpression) {
  try {
    FACEAGE_ENSURE(1 + 1 == 3, "arithmetic");
    FAIL();
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::kInternal);
    EXPECT_NE(std::string(e.what()).find("1 + 1 == 3"), std::string::npos);
  }
}

}  // namespace faceage
