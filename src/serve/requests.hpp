#pragma once
// Request bodies -> lists of encoded images, for every route that accepts images, and the Open
// Inference Protocol v2 answers beside their parsing. Torch-free.
// Errors are faceage::Error: kInvalidArgument (400) for malformed bodies, kTooLarge (413) for too
// many images, kUnsupportedMediaType (415) for content types no route reads.
#include <deque>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "faceage/infer/predictor.hpp"

namespace faceage::serve {

struct ImageList {
  struct Item {
    std::string_view bytes;
    std::string source;  // a name for messages and records ("upload.jpg", "instances[2]")
  };
  std::vector<Item> items;
  std::deque<std::string> storage;  // owns decoded base64 (a deque never moves its strings)

  void add_view(std::string_view bytes, std::string source) { items.push_back({bytes, std::move(source)}); }
  void add_owned(std::string bytes, std::string source) {
    storage.push_back(std::move(bytes));
    items.push_back({storage.back(), std::move(source)});
  }
};

// {"image": b64} | {"instances": [{"image": b64} | {"b64": b64} | b64, ...]} | [same items...]
// (SageMaker /invocations and /v1/predict with application/json).
ImageList images_from_json(const nlohmann::json& body);

// Open Inference Protocol v2 request: the BYTES input named "image" (or the only input), data as
// base64 strings (or {"b64": ...}), nested arrays flattened row-major; shape must match. Requested
// outputs must be among v2_output_names() (kInvalidArgument listing them).
struct V2Request {
  ImageList images;
  std::string id;
  std::vector<std::string> outputs;  // requested output names (empty: all)
};
V2Request parse_v2_request(const nlohmann::json& body);

// The outputs of the v2 infer route: "predictions" (one JSON record per image, as /invocations
// gives it), and per face "age", "age_low", "age_high", "female_prob" (null without a gender
// head), "image_index", "box" [x, y, w, h].
const std::vector<std::string>& v2_output_names();
// GET /v2/models/{name}: the model's inputs and outputs with datatypes and shapes.
nlohmann::json v2_model_metadata(const std::string& model_name, const std::string& version);
// The infer response: the requested outputs (all when none was named) of `predictions`.
nlohmann::json v2_response(const V2Request& request, const std::vector<infer::ImagePrediction>& predictions,
                           const std::string& model_name, const std::string& version);
// The v2 protocol's error body {"error": "message"}; the code rides along for clients.
nlohmann::json v2_error_body(ErrorCode code, const std::string& message);

// One image's entry in the answers of /v1/predict, /invocations and v2's "predictions": index,
// source, size, faces (to_json records, largest face first) or the error.
nlohmann::json image_answer(std::size_t index, const infer::ImagePrediction& prediction);

// Throws kTooLarge when `count` exceeds `limit`, and kInvalidArgument when it is 0.
void check_image_count(std::size_t count, int limit);

}  // namespace faceage::serve
