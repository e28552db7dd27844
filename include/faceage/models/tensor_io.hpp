#pragma once
// Crops -> model input, device parsing and process-wide runtime settings for LibTorch.
#include <opencv2/core.hpp>
#include <torch/torch.h>

#include <string>
#include <vector>

#include "faceage/core/context.hpp"
#include "faceage/models/preprocess.hpp"

namespace faceage::models {

// RGB CV_8UC3 crops (any size) -> [B,3,S,S] float32 on the CPU, S = spec.input_size, normalised
// as (rgb/255 - mean)/std. Each crop is resized with INTER_AREA when shrinking and INTER_LINEAR
// when enlarging. kInvalidArgument for an empty batch or a crop that is not a non-empty CV_8UC3.
torch::Tensor images_to_tensor(const std::vector<cv::Mat>& rgb_crops, const PreprocessSpec& spec);

// "cpu", "cuda", "cuda:N" -> a device. kInvalidArgument for anything else, for CUDA when this
// LibTorch has no usable CUDA device ("CUDA not available"), or for an index beyond the count.
torch::Device parse_device(const std::string& device);

// Applies ctx to LibTorch and OpenCV: intra-op threads (LibTorch here starts with 1), inter-op
// threads (settable once per process; later calls leave them), the seed, and OpenCV on one thread
// (faceage's own workers parallelise OpenCV work; see the definition).
void configure_runtime(const faceage::Context& ctx);

}  // namespace faceage::models
