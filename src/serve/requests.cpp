#include "requests.hpp"

#include <algorithm>

#include "faceage/core/check.hpp"
#include "faceage/core/strings.hpp"
#include "faceage/serve/http_util.hpp"

namespace faceage::serve {

namespace {
std::string b64_of(const nlohmann::json& item, const std::string& where) {
  if (item.is_string()) return base64_decode(item.get_ref<const std::string&>(), where);
  if (item.is_object()) {
    for (const char* key : {"image", "b64", "data"}) {
      if (item.contains(key) && item[key].is_string()) {
        return base64_decode(item[key].get_ref<const std::string&>(), where + "." + key);
      }
    }
  }
  throw Error(ErrorCode::kInvalidArgument,
              where + " must be a base64 string or an object with a base64 \"image\" (or \"b64\") field");
}

void flatten(const nlohmann::json& data, std::vector<const nlohmann::json*>& out) {
  if (data.is_array()) {
    for (const auto& element : data) flatten(element, out);
  } else {
    out.push_back(&data);
  }
}
}  // namespace

ImageList images_from_json(const nlohmann::json& body) {
  ImageList list;
  const nlohmann::json* items = nullptr;
  if (body.is_array()) {
    items = &body;
  } else if (body.is_object() && body.contains("instances")) {
    items = &body["instances"];
    FACEAGE_CHECK(items->is_array(), ErrorCode::kInvalidArgument, "\"instances\" must be a list");
  } else if (body.is_object() && (body.contains("image") || body.contains("b64"))) {
    list.add_owned(b64_of(body, "body"), "image");
    return list;
  } else {
    throw Error(ErrorCode::kInvalidArgument, "JSON body has no images",
                "send {\"image\": BASE64} or {\"instances\": [{\"image\": BASE64}, ...]}");
  }
  for (std::size_t i = 0; i < items->size(); ++i) {
    const std::string where = "instances[" + std::to_string(i) + "]";
    list.add_owned(b64_of((*items)[i], where), where);
  }
  return list;
}

V2Request parse_v2_request(const nlohmann::json& body) {
  FACEAGE_CHECK(body.is_object(), ErrorCode::kInvalidArgument, "the inference request must be a JSON object");
  V2Request request;
  if (body.contains("id")) {
    FACEAGE_CHECK(body["id"].is_string(), ErrorCode::kInvalidArgument, "\"id\" must be a string");
    request.id = body["id"].get<std::string>();
  }
  FACEAGE_CHECK(body.contains("inputs") && body["inputs"].is_array() && !body["inputs"].empty(),
                ErrorCode::kInvalidArgument, "the inference request needs a non-empty \"inputs\" list");
  const auto& inputs = body["inputs"];
  const nlohmann::json* input = nullptr;
  std::vector<std::string> names;
  for (const auto& candidate : inputs) {
    FACEAGE_CHECK(candidate.is_object() && candidate.contains("name") && candidate["name"].is_string(),
                  ErrorCode::kInvalidArgument, "every input needs a \"name\"");
    names.push_back(candidate["name"].get<std::string>());
    if (names.back() == "image") input = &candidate;
  }
  if (!input && inputs.size() == 1) input = &inputs[0];
  FACEAGE_CHECK(input != nullptr, ErrorCode::kInvalidArgument,
                "no input named \"image\" among: " << join(names, ", "));
  const std::string name = (*input)["name"].get<std::string>();
  FACEAGE_CHECK(input->value("datatype", "") == "BYTES", ErrorCode::kInvalidArgument,
                "input \"" << name << "\" must have datatype BYTES (base64-encoded images), got "
                           << input->value("datatype", nlohmann::json("none")).dump());
  FACEAGE_CHECK(input->contains("shape") && (*input)["shape"].is_array(), ErrorCode::kInvalidArgument,
                "input \"" << name << "\" needs a \"shape\" list");
  std::int64_t expected = 1;
  for (const auto& dim : (*input)["shape"]) {
    FACEAGE_CHECK(dim.is_number_integer() && dim.get<std::int64_t>() >= 0, ErrorCode::kInvalidArgument,
                  "input \"" << name << "\" shape must hold non-negative integers");
    expected *= dim.get<std::int64_t>();
  }
  FACEAGE_CHECK(input->contains("data"), ErrorCode::kInvalidArgument, "input \"" << name << "\" has no \"data\"");
  std::vector<const nlohmann::json*> elements;
  flatten((*input)["data"], elements);
  FACEAGE_CHECK(static_cast<std::int64_t>(elements.size()) == expected, ErrorCode::kInvalidArgument,
                "input \"" << name << "\" has " << elements.size() << " elements but its shape "
                           << (*input)["shape"].dump() << " says " << expected);
  for (std::size_t i = 0; i < elements.size(); ++i) {
    const std::string where = name + "[" + std::to_string(i) + "]";
    request.images.add_owned(b64_of(*elements[i], where), where);
  }
  if (body.contains("outputs")) {
    FACEAGE_CHECK(body["outputs"].is_array(), ErrorCode::kInvalidArgument, "\"outputs\" must be a list");
    for (const auto& output : body["outputs"]) {
      FACEAGE_CHECK(output.is_object() && output.contains("name") && output["name"].is_string(),
                    ErrorCode::kInvalidArgument, "every requested output needs a \"name\"");
      request.outputs.push_back(output["name"].get<std::string>());
      const auto& known = v2_output_names();
      FACEAGE_CHECK(std::find(known.begin(), known.end(), request.outputs.back()) != known.end(),
                    ErrorCode::kInvalidArgument,
                    "unknown output '" << request.outputs.back() << "'; available: " << join(known, ", "));
    }
  }
  return request;
}

const std::vector<std::string>& v2_output_names() {
  static const std::vector<std::string> names = {"predictions", "age",         "age_low",       "age_high",
                                                 "female_prob", "p_minor",     "quality_score", "unreliable",
                                                 "image_index", "box"};
  return names;
}

nlohmann::json v2_model_metadata(const std::string& model_name, const std::string& version) {
  auto tensor = [](const std::string& name, const std::string& type, nlohmann::json shape) {
    return nlohmann::json{{"name", name}, {"datatype", type}, {"shape", std::move(shape)}};
  };
  return {{"name", model_name},
          {"versions", {version}},
          {"platform", "faceage_libtorch"},
          {"inputs", {tensor("image", "BYTES", {-1})}},
          {"outputs",
           {tensor("predictions", "BYTES", {-1}), tensor("age", "FP32", {-1}), tensor("age_low", "FP32", {-1}),
            tensor("age_high", "FP32", {-1}), tensor("female_prob", "FP32", {-1}),
            tensor("p_minor", "FP32", {-1}), tensor("quality_score", "FP32", {-1}), tensor("unreliable", "BOOL", {-1}),
            tensor("image_index", "INT32", {-1}), tensor("box", "FP32", {-1, 4})}}};
}

nlohmann::json image_answer(std::size_t index, const infer::ImagePrediction& prediction) {
  nlohmann::json image = {{"image", index}, {"source", prediction.source}};
  if (prediction.ok()) {
    image["width"] = prediction.width;
    image["height"] = prediction.height;
    image["faces"] = infer::to_json(prediction);
  } else {
    image["faces"] = nlohmann::json::array();
    image["error"] = error_body(prediction.error->code, prediction.error->message)["error"];
  }
  return image;
}

nlohmann::json v2_response(const V2Request& request, const std::vector<infer::ImagePrediction>& predictions,
                           const std::string& model_name, const std::string& version) {
  std::vector<std::string> records;
  std::vector<float> age, age_low, age_high, p_minor, quality, boxes;
  nlohmann::json female = nlohmann::json::array();  // null where no model has a gender head
  std::vector<bool> unreliable;
  std::vector<int> image_index;
  for (std::size_t i = 0; i < predictions.size(); ++i) {
    const auto& p = predictions[i];
    records.push_back(image_answer(i, p).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace));
    for (const auto& face : p.faces) {
      age.push_back(static_cast<float>(face.age));
      age_low.push_back(static_cast<float>(face.age_low));
      age_high.push_back(static_cast<float>(face.age_high));
      female.push_back(face.female_prob ? nlohmann::json(static_cast<float>(*face.female_prob)) : nlohmann::json());
      p_minor.push_back(static_cast<float>(face.p_minor));
      quality.push_back(static_cast<float>(face.quality.score));
      unreliable.push_back(face.unreliable);
      image_index.push_back(static_cast<int>(i));
      boxes.insert(boxes.end(), {face.box.x, face.box.y, face.box.width, face.box.height});
    }
  }
  const auto faces = static_cast<std::int64_t>(age.size());
  nlohmann::json outputs = nlohmann::json::array();
  auto add = [&](const std::string& name, const std::string& type, nlohmann::json shape, nlohmann::json data) {
    if (!request.outputs.empty() &&
        std::find(request.outputs.begin(), request.outputs.end(), name) == request.outputs.end()) {
      return;
    }
    outputs.push_back({{"name", name}, {"datatype", type}, {"shape", std::move(shape)}, {"data", std::move(data)}});
  };
  add("predictions", "BYTES", {static_cast<std::int64_t>(records.size())}, records);
  add("age", "FP32", {faces}, age);
  add("age_low", "FP32", {faces}, age_low);
  add("age_high", "FP32", {faces}, age_high);
  add("female_prob", "FP32", {faces}, female);
  add("p_minor", "FP32", {faces}, p_minor);
  add("quality_score", "FP32", {faces}, quality);
  add("unreliable", "BOOL", {faces}, unreliable);
  add("image_index", "INT32", {faces}, image_index);
  add("box", "FP32", {faces, 4}, boxes);
  nlohmann::json body = {{"model_name", model_name}, {"model_version", version}, {"outputs", std::move(outputs)}};
  if (!request.id.empty()) body["id"] = request.id;
  return body;
}

nlohmann::json v2_error_body(ErrorCode code, const std::string& message) {
  return {{"error", message}, {"code", error_code_name(code)}};
}

void check_image_count(std::size_t count, int limit) {
  FACEAGE_CHECK(count > 0, ErrorCode::kInvalidArgument, "the request holds no image");
  FACEAGE_CHECK(count <= static_cast<std::size_t>(limit), ErrorCode::kTooLarge,
                "the request holds " << count << " images; the limit is " << limit << " (max_images_per_request)");
}

}  // namespace faceage::serve
