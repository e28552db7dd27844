#pragma once
// Inference precision. bfloat16 runs the backbone's convolutions in oneDNN's bf16 kernels, faster
// than float32 on CPUs with native bf16 dot products (AVX512_BF16, also on AMX parts): ~10 % at
// batch 1, several times on batches (bench/README.md). The heads and the decoding stay float32. On
// other CPUs bf16 is emulated and slower, so `auto` only picks it where it is native. Accuracy cost:
// docs/decisions/inference-precision.md.
#include <string>

namespace faceage::models {

enum class InferencePrecision { kAuto, kFloat32, kBFloat16 };

const char* precision_name(InferencePrecision precision);  // "auto" | "float32" | "bfloat16"
// kInvalidArgument listing the choices.
InferencePrecision parse_precision(const std::string& name);

// True when this CPU executes bf16 dot products natively (AVX512_BF16).
bool cpu_has_native_bf16();

// kAuto -> kBFloat16 on a CPU device with native bf16, else kFloat32; explicit choices pass through
// (bfloat16 on a CPU without native support is allowed: it is correct, only slower).
InferencePrecision resolve_precision(InferencePrecision requested, const std::string& device);

}  // namespace faceage::models
