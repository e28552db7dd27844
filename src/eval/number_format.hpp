#pragma once
// Private to eval: numbers as the text summary and the HTML report print them.
#include <cmath>
#include <cstdio>
#include <string>

namespace faceage::eval {

// `value` printed with `format`, or `missing` when it is not finite (no data).
inline std::string format_number(double value, const char* format, const std::string& missing) {
  if (!std::isfinite(value)) return missing;
  char buf[64];
  std::snprintf(buf, sizeof buf, format, value);
  return buf;
}
// A fraction as "12.3%", or `missing`.
inline std::string format_percent(double fraction, const std::string& missing) {
  return std::isfinite(fraction) ? format_number(100 * fraction, "%.1f", missing) + "%" : missing;
}

}  // namespace faceage::eval
