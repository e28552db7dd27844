#pragma once
// The Context tests run the library with: two threads, only errors logged.
#include "faceage/core/context.hpp"

namespace faceage::testing {

inline Context quiet_context() {
  ContextOptions options;
  options.threads = 2;
  options.log_level = "error";
  return Context::make(options);
}

}  // namespace faceage::testing
