#pragma once
// Checks that stay on in release builds (never `assert` for validation).
//   FACEAGE_CHECK(cond, code, message)  -> throws Error(code, message) when cond is false
//   FACEAGE_ENSURE(cond, message)       -> internal invariant; throws kInternal with file:line
#include <sstream>

#include "faceage/core/error.hpp"

namespace faceage::detail {
[[noreturn]] void throw_internal(const char* file, int line, const char* expr, const std::string& message);
}  // namespace faceage::detail

#define FACEAGE_CHECK(cond, code, message)                                  \
  do {                                                                      \
    if (!(cond)) {                                                          \
      std::ostringstream faceage_check_os_;                                 \
      faceage_check_os_ << message;                                         \
      throw ::faceage::Error((code), faceage_check_os_.str());              \
    }                                                                       \
  } while (false)

#define FACEAGE_ENSURE(cond, message)                                                  \
  do {                                                                                 \
    if (!(cond)) {                                                                     \
      std::ostringstream faceage_check_os_;                                            \
      faceage_check_os_ << message;                                                    \
      ::faceage::detail::throw_internal(__FILE__, __LINE__, #cond, faceage_check_os_.str()); \
    }                                                                                  \
  } while (false)
