#include "faceage/models/tensor_io.hpp"

#include <opencv2/core/utility.hpp>
#include <opencv2/imgproc.hpp>

#include <mutex>

#include "faceage/core/check.hpp"

namespace faceage::models {

torch::Tensor images_to_tensor(const std::vector<cv::Mat>& rgb_crops, const PreprocessSpec& spec) {
  FACEAGE_CHECK(!rgb_crops.empty(), ErrorCode::kInvalidArgument, "images_to_tensor: empty batch");
  FACEAGE_CHECK(spec.input_size > 0, ErrorCode::kInvalidArgument,
                "preprocess.input_size must be > 0, got " << spec.input_size);
  const int size = spec.input_size;
  const int64_t plane = static_cast<int64_t>(size) * size;
  auto batch = torch::empty({static_cast<int64_t>(rgb_crops.size()), 3, size, size}, torch::kFloat);
  float* out = batch.data_ptr<float>();

  // (v/255 - mean)/std as one lookup per channel and byte value: no per-pixel division.
  float lut[3][256];
  for (int c = 0; c < 3; ++c) {
    for (int v = 0; v < 256; ++v) lut[c][v] = (static_cast<float>(v) / 255.0f - spec.mean[c]) / spec.std[c];
  }

  cv::Mat resized;
  for (size_t i = 0; i < rgb_crops.size(); ++i) {
    const cv::Mat& crop = rgb_crops[i];
    FACEAGE_CHECK(!crop.empty() && crop.type() == CV_8UC3, ErrorCode::kInvalidArgument,
                  "images_to_tensor: crop " << i << " must be a non-empty 8-bit 3-channel RGB image (CV_8UC3), got type "
                                            << crop.type() << " size " << crop.cols << "x" << crop.rows);
    const cv::Mat* src = &crop;
    if (crop.cols != size || crop.rows != size) {
      const bool shrinking = crop.cols > size || crop.rows > size;
      cv::resize(crop, resized, cv::Size(size, size), 0, 0, shrinking ? cv::INTER_AREA : cv::INTER_LINEAR);
      src = &resized;
    }
    float* r = out + static_cast<int64_t>(i) * 3 * plane;
    float* g = r + plane;
    float* b = g + plane;
    for (int y = 0; y < size; ++y) {
      const uint8_t* row = src->ptr<uint8_t>(y);
      const int64_t base = static_cast<int64_t>(y) * size;
      for (int x = 0; x < size; ++x) {
        r[base + x] = lut[0][row[3 * x]];
        g[base + x] = lut[1][row[3 * x + 1]];
        b[base + x] = lut[2][row[3 * x + 2]];
      }
    }
  }
  return batch;
}

torch::Device parse_device(const std::string& device) {
  if (device == "cpu") return torch::Device(torch::kCPU);
  int index = 0;
  if (device == "cuda") {
    index = 0;
  } else if (device.rfind("cuda:", 0) == 0 && device.size() > 5 &&
             device.find_first_not_of("0123456789", 5) == std::string::npos && device.size() <= 8) {
    index = std::stoi(device.substr(5));
  } else {
    throw Error(ErrorCode::kInvalidArgument, "unknown device '" + device + "'", "use cpu, cuda or cuda:N");
  }
  if (!torch::cuda::is_available()) {
    throw Error(ErrorCode::kInvalidArgument, "device '" + device + "' requested but CUDA not available",
                "use --device cpu, or a LibTorch built with CUDA on a machine with a GPU");
  }
  const auto count = static_cast<int>(torch::cuda::device_count());
  FACEAGE_CHECK(index < count, ErrorCode::kInvalidArgument,
                "device '" << device << "' does not exist: " << count << " CUDA device(s) visible");
  return torch::Device(torch::kCUDA, static_cast<c10::DeviceIndex>(index));
}

void configure_runtime(const faceage::Context& ctx) {
  const int threads = std::max(1, ctx.threads);
  torch::set_num_threads(threads);
  // LibTorch allows the inter-op pool size to be set only once, before it is first used: a
  // process-wide once is the only correct scope for it.
  static std::once_flag interop_once;
  std::call_once(interop_once, [threads] {
    try {
      torch::set_num_interop_threads(std::max(1, std::min(threads, 4)));
    } catch (const c10::Error&) {
      // Already started by someone else: keep its setting.
    }
  });
  // OpenCV runs single-threaded: faceage parallelises its OpenCV work itself (face pipelines of
  // predict, eval and serve; the training loader's workers), and OpenCV's own pool on top of that
  // only adds hand-offs. Measured (2026-12-06, 2-core AVX-512 VM, YuNet 160x120 on a 200x200
  // face): 1.35 ms a call on one thread against 2.54 ms and 2.5x the CPU time on two, 2.9 against
  // 1.8 ms of CPU a call with two callers at once (docs/decisions/inference-threads.md).
  cv::setNumThreads(1);
  torch::manual_seed(ctx.seed);
}

}  // namespace faceage::models
