#pragma once
// Request bodies -> lists of encoded images, for every route that accepts images. Torch-free.
// Errors are faceage::Error: kInvalidArgument (400) for malformed bodies, kTooLarge (413) for too
// many images, kUnsupportedMediaType (415) for content types no route reads.
#include <deque>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

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
// base64 strings (or {"b64": ...}), nested arrays flattened row-major; shape must match.
struct V2Request {
  ImageList images;
  std::string id;
  std::vector<std::string> outputs;  // requested output names (empty: all)
};
V2Request parse_v2_request(const nlohmann::json& body);

// Throws kTooLarge when `count` exceeds `limit`, and kInvalidArgument when it is 0.
void check_image_count(std::size_t count, int limit);

}  // namespace faceage::serve
