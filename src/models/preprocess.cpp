#include "faceage/models/preprocess.hpp"

#include "faceage/core/error.hpp"

namespace faceage::models {

nlohmann::json to_json(const PreprocessSpec& spec) {
  return {{"input_size", spec.input_size}, {"mean", spec.mean}, {"std", spec.std}};
}

PreprocessSpec preprocess_from_json(const nlohmann::json& json) {
  PreprocessSpec spec;
  try {
    if (!json.is_object()) throw Error(ErrorCode::kModel, "preprocess must be a JSON object, got " + json.dump());
    spec.input_size = json.value("input_size", spec.input_size);
    if (json.contains("mean")) spec.mean = json.at("mean").get<std::array<float, 3>>();
    if (json.contains("std")) spec.std = json.at("std").get<std::array<float, 3>>();
  } catch (const nlohmann::json::exception& e) {
    throw Error(ErrorCode::kModel, std::string("malformed preprocess spec: ") + e.what());
  }
  if (spec.input_size < 16 || spec.input_size > 1024) {
    throw Error(ErrorCode::kModel, "preprocess.input_size must be in [16, 1024], got " + std::to_string(spec.input_size));
  }
  for (float s : spec.std) {
    if (!(s > 0.0f)) throw Error(ErrorCode::kModel, "preprocess.std values must be > 0");
  }
  return spec;
}

}  // namespace faceage::models
