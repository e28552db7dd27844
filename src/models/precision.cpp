#include "faceage/models/precision.hpp"

#include "faceage/core/error.hpp"

namespace faceage::models {

const char* precision_name(InferencePrecision precision) {
  switch (precision) {
    case InferencePrecision::kAuto: return "auto";
    case InferencePrecision::kFloat32: return "float32";
    case InferencePrecision::kBFloat16: return "bfloat16";
  }
  return "?";
}

InferencePrecision parse_precision(const std::string& name) {
  if (name == "auto") return InferencePrecision::kAuto;
  if (name == "float32" || name == "fp32") return InferencePrecision::kFloat32;
  if (name == "bfloat16" || name == "bf16") return InferencePrecision::kBFloat16;
  throw Error(ErrorCode::kInvalidArgument, "unknown precision '" + name + "'; available: auto, bfloat16, float32");
}

bool cpu_has_native_bf16() {
#if defined(__x86_64__) && defined(__GNUC__)
  return __builtin_cpu_supports("avx512bf16");
#else
  return false;
#endif
}

InferencePrecision resolve_precision(InferencePrecision requested, const std::string& device) {
  if (requested != InferencePrecision::kAuto) return requested;
  const bool cpu = device.empty() || device == "cpu";
  return cpu && cpu_has_native_bf16() ? InferencePrecision::kBFloat16 : InferencePrecision::kFloat32;
}

}  // namespace faceage::models
