#include "faceage/core/error.hpp"

#include "faceage/core/check.hpp"

namespace faceage {

// The one table from codes to names, exit codes and HTTP statuses.
namespace {
struct CodeInfo {
  ErrorCode code;
  const char* name;
  int exit_code;
  int http_status;
};
constexpr CodeInfo kCodes[] = {
    {ErrorCode::kInvalidArgument, "invalid_argument", 2, 400},
    {ErrorCode::kConfig, "config", 3, 400},
    {ErrorCode::kNotFound, "not_found", 4, 404},
    {ErrorCode::kUnreadableImage, "unreadable_image", 5, 400},
    {ErrorCode::kUnsupportedMediaType, "unsupported_media_type", 5, 415},
    {ErrorCode::kTooLarge, "too_large", 5, 413},
    {ErrorCode::kNoFace, "no_face", 6, 422},
    {ErrorCode::kModel, "model", 7, 500},
    {ErrorCode::kNotReady, "not_ready", 8, 503},
    {ErrorCode::kIo, "io", 9, 500},
    {ErrorCode::kCancelled, "cancelled", 130, 499},
    {ErrorCode::kUnauthorized, "unauthorized", 77, 401},  // 77: EX_NOPERM
    {ErrorCode::kForbidden, "forbidden", 77, 403},
    {ErrorCode::kInternal, "internal", 70, 500},
};

const CodeInfo& info(ErrorCode code) {
  for (const auto& entry : kCodes) {
    if (entry.code == code) return entry;
  }
  return kCodes[sizeof(kCodes) / sizeof(kCodes[0]) - 1];
}
}  // namespace

const char* error_code_name(ErrorCode code) { return info(code).name; }
int exit_code(ErrorCode code) { return info(code).exit_code; }
int http_status(ErrorCode code) { return info(code).http_status; }

Error::Error(ErrorCode code, const std::string& message, std::string hint)
    : std::runtime_error(message), code_(code), hint_(std::move(hint)) {}

std::string Error::full_message() const {
  if (hint_.empty()) return what();
  return std::string(what()) + " (" + hint_ + ")";
}

namespace detail {
void throw_internal(const char* file, int line, const char* expr, const std::string& message) {
  throw Error(ErrorCode::kInternal, std::string("internal check failed: ") + expr + " at " + file + ":" +
                                        std::to_string(line) + (message.empty() ? "" : ": " + message),
              "this is a bug in faceage; please report it with the command that caused it");
}
}  // namespace detail

}  // namespace faceage
