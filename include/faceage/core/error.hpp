#pragma once
// One error type for the whole library. Every failure carries a code; the code is mapped once to
// a process exit code (exit_code) and once to an HTTP status (http_status). Messages say what went
// wrong and, in `hint`, what to do next.
#include <stdexcept>
#include <string>

namespace faceage {

enum class ErrorCode {
  kInvalidArgument,       // a flag, option or request field has a bad value
  kConfig,                // a config file or key is missing or malformed
  kNotFound,              // a file, model or named entry does not exist
  kUnreadableImage,       // bytes that are not a decodable image (corrupt, truncated, empty)
  kUnsupportedMediaType,  // a format or content type faceage does not read
  kTooLarge,              // an image or request above the configured limits
  kNoFace,                // the image decoded but no face was found
  kModel,                 // a bundle or checkpoint that cannot be loaded or does not fit
  kNotReady,              // the service has no model loaded yet
  kIo,                    // reading or writing the file system failed
  kCancelled,             // interrupted by the user or a signal
  kUnauthorized,          // a request without valid credentials (bearer token)
  kForbidden,             // credentials or origin not allowed this operation
  kInternal,              // a bug: an invariant did not hold
};

// Stable snake_case name of a code ("no_face"), used in JSON and CSV outputs.
const char* error_code_name(ErrorCode code);
// Process exit code for a command that failed with this code (see docs/cli.md).
int exit_code(ErrorCode code);
// HTTP status for a request that failed with this code.
int http_status(ErrorCode code);

class Error : public std::runtime_error {
 public:
  Error(ErrorCode code, const std::string& message, std::string hint = {});
  ErrorCode code() const noexcept { return code_; }
  const std::string& hint() const noexcept { return hint_; }
  // "message (hint)" when a hint exists.
  std::string full_message() const;

 private:
  ErrorCode code_;
  std::string hint_;
};

// Exit codes that are not errors of a single code.
inline constexpr int kExitOk = 0;
inline constexpr int kExitPartialFailure = 1;  // a batch finished but some items failed

}  // namespace faceage
