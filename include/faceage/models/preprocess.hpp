#pragma once
// How an aligned face crop becomes model input. Stored in every bundle, so training and serving
// cannot drift apart. Torch-free: the tensor conversion lives in models/tensor_io.hpp.
#include <array>
#include <string>

#include <nlohmann/json.hpp>

namespace faceage::models {

struct PreprocessSpec {
  int input_size = 112;  // the aligned crop is resized to input_size x input_size
  // input = (rgb / 255 - mean) / std, per channel in RGB order.
  // ImageNet torchvision: mean {0.485,0.456,0.406}, std {0.229,0.224,0.225};
  // the shared TF-derived MobileNetV2 wants x/127.5 - 1: mean {0.5,0.5,0.5}, std {0.5,0.5,0.5}.
  std::array<float, 3> mean{0.485f, 0.456f, 0.406f};
  std::array<float, 3> std{0.229f, 0.224f, 0.225f};
};

nlohmann::json to_json(const PreprocessSpec& spec);
PreprocessSpec preprocess_from_json(const nlohmann::json& json);  // kModel on malformed input

}  // namespace faceage::models
