#pragma once
// Mixed precision on CUDA (bfloat16 autocast), written once for LibTorch 1.13 and 2.x, whose
// autocast switches differ (2.4 made them per device and deprecated the CUDA-only ones).

namespace faceage::models {

// Turns bfloat16 autocast on CUDA on for its lifetime when `enabled` (else does nothing); on the way
// out, also when a forward pass throws, it turns autocast off and clears its cast cache.
class CudaAutocast {
 public:
  explicit CudaAutocast(bool enabled);
  ~CudaAutocast();
  CudaAutocast(const CudaAutocast&) = delete;
  CudaAutocast& operator=(const CudaAutocast&) = delete;

 private:
  bool enabled_;
};

}  // namespace faceage::models
