#pragma once
// The ErrorCode a call throws as faceage::Error, for tests of typed errors; kInternal when it
// throws none (no test expects kInternal from a bad input).
#include <functional>

#include "faceage/core/error.hpp"

namespace faceage::testing {

inline ErrorCode error_of(const std::function<void()>& call) {
  try {
    call();
  } catch (const Error& e) {
    return e.code();
  }
  return ErrorCode::kInternal;
}

}  // namespace faceage::testing
