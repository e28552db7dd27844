#include "faceage/models/autocast.hpp"

#include <ATen/autocast_mode.h>
#include <torch/version.h>

namespace faceage::models {
namespace {

// LibTorch 2.4 made the autocast switches per device (at::autocast::set_autocast_enabled(kCUDA, ..));
// the CUDA-only set_enabled / set_autocast_gpu_dtype of 1.13 became deprecated wrappers that warn
// on every call (each training step) and may be removed.
#if TORCH_VERSION_MAJOR > 2 || (TORCH_VERSION_MAJOR == 2 && TORCH_VERSION_MINOR >= 4)
void set_cuda_autocast(bool enabled) {
  if (enabled) at::autocast::set_autocast_dtype(at::kCUDA, at::kBFloat16);
  at::autocast::set_autocast_enabled(at::kCUDA, enabled);
}
#else
void set_cuda_autocast(bool enabled) {
  at::autocast::set_enabled(enabled);
  if (enabled) at::autocast::set_autocast_gpu_dtype(at::kBFloat16);
}
#endif

}  // namespace

CudaAutocast::CudaAutocast(bool enabled) : enabled_(enabled) {
  if (enabled_) set_cuda_autocast(true);
}

CudaAutocast::~CudaAutocast() {
  if (!enabled_) return;
  at::autocast::clear_cache();
  set_cuda_autocast(false);
}

}  // namespace faceage::models
