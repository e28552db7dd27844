#include "serve/requests.hpp"

#include <gtest/gtest.h>

#include <map>

#include "faceage/core/error.hpp"
#include "faceage/serve/http_util.hpp"
#include "support/error_code.hpp"

namespace faceage::serve {
namespace {

using faceage::testing::error_of;

TEST(Requests, JsonBodiesInEveryAcceptedShape) {
  const auto a = base64_encode("AAA"), b = base64_encode("BB");
  auto single = images_from_json({{"image", a}});
  ASSERT_EQ(single.items.size(), 1u);
  EXPECT_EQ(single.items[0].bytes, "AAA");
  auto instances = images_from_json({{"instances", {{{"image", a}}, {{"b64", b}}, b}}});
  ASSERT_EQ(instances.items.size(), 3u);
  EXPECT_EQ(instances.items[1].bytes, "BB");
  EXPECT_EQ(instances.items[2].source, "instances[2]");
  auto list = images_from_json(nlohmann::json::array({a, b}));
  ASSERT_EQ(list.items.size(), 2u);
  EXPECT_EQ(list.items[0].bytes, "AAA");  // views stay valid as more items are added
}

TEST(Requests, MalformedJsonBodiesAreBadRequests) {
  EXPECT_EQ(error_of([] { images_from_json({{"foo", 1}}); }), ErrorCode::kInvalidArgument);
  EXPECT_EQ(error_of([] { images_from_json({{"instances", 3}}); }), ErrorCode::kInvalidArgument);
  EXPECT_EQ(error_of([] { images_from_json({{"instances", {1}}}); }), ErrorCode::kInvalidArgument);
  EXPECT_EQ(error_of([] { images_from_json({{"image", "***"}}); }), ErrorCode::kInvalidArgument);
}

TEST(Requests, V2BytesInputWithShapeAndOutputs) {
  const auto a = base64_encode("AAA"), b = base64_encode("BB");
  nlohmann::json body = {
      {"id", "r1"},
      {"inputs", {{{"name", "image"}, {"shape", {2}}, {"datatype", "BYTES"}, {"data", {a, b}}}}},
      {"outputs", {{{"name", "age"}}}}};
  auto request = parse_v2_request(body);
  EXPECT_EQ(request.id, "r1");
  ASSERT_EQ(request.images.items.size(), 2u);
  EXPECT_EQ(request.images.items[1].bytes, "BB");
  EXPECT_EQ(request.outputs, std::vector<std::string>{"age"});
  // Nested data is flattened row-major.
  body["inputs"][0]["shape"] = {1, 2};
  body["inputs"][0]["data"] = nlohmann::json::array({nlohmann::json::array({a, b})});
  EXPECT_EQ(parse_v2_request(body).images.items.size(), 2u);
}

TEST(Requests, V2RejectsWrongTypesShapesAndNames) {
  const auto a = base64_encode("AAA");
  auto with = [&](nlohmann::json input) { return nlohmann::json{{"inputs", {input}}}; };
  EXPECT_EQ(error_of([&] { parse_v2_request(with({{"name", "image"}, {"shape", {1}}, {"datatype", "FP32"}, {"data", {1.0}}})); }),
            ErrorCode::kInvalidArgument);
  EXPECT_EQ(error_of([&] { parse_v2_request(with({{"name", "image"}, {"shape", {2}}, {"datatype", "BYTES"}, {"data", {a}}})); }),
            ErrorCode::kInvalidArgument);
  EXPECT_EQ(error_of([&] { parse_v2_request({{"inputs", nlohmann::json::array()}}); }), ErrorCode::kInvalidArgument);
  EXPECT_EQ(error_of([&] { parse_v2_request(nlohmann::json::array()); }), ErrorCode::kInvalidArgument);
  nlohmann::json two = {{"inputs",
                         {{{"name", "x"}, {"shape", {1}}, {"datatype", "BYTES"}, {"data", {a}}},
                          {{"name", "y"}, {"shape", {1}}, {"datatype", "BYTES"}, {"data", {a}}}}}};
  EXPECT_EQ(error_of([&] { parse_v2_request(two); }), ErrorCode::kInvalidArgument);
  // A single input may have any name.
  EXPECT_EQ(parse_v2_request(with({{"name", "x"}, {"shape", {1}}, {"datatype", "BYTES"}, {"data", {a}}})).images.items.size(), 1u);
}

TEST(Requests, ImageCountLimits) {
  EXPECT_EQ(error_of([] { check_image_count(0, 4); }), ErrorCode::kInvalidArgument);
  EXPECT_EQ(error_of([] { check_image_count(5, 4); }), ErrorCode::kTooLarge);
  EXPECT_NO_THROW(check_image_count(4, 4));
}

TEST(Requests, V2RejectsUnknownOutputsWhenParsing) {
  nlohmann::json body = {{"inputs", {{{"name", "image"}, {"shape", {1}}, {"datatype", "BYTES"}, {"data", {base64_encode("A")}}}}},
                         {"outputs", {{{"name", "wrinkles"}}}}};
  try {
    parse_v2_request(body);
    FAIL() << "accepted an unknown output";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::kInvalidArgument);
    EXPECT_NE(std::string(e.what()).find("available: predictions, age"), std::string::npos) << e.what();
  }
}

TEST(Requests, V2ResponseEncodesFacesPerOutputAndImagesAsTheirAnswers) {
  infer::ImagePrediction ok;
  ok.source = "image[0]";
  ok.width = 100;
  ok.height = 80;
  for (int i = 0; i < 2; ++i) {
    infer::FacePrediction face;
    face.face = i;
    face.box = cv::Rect2f(10.f * i, 5, 20, 20);
    face.age = 30 + i;
    if (i == 0) {  // the second face as from a model without a gender head
      face.gender = "female";
      face.female_prob = face.gender_prob = 0.75;
    }
    ok.faces.push_back(face);
  }
  infer::ImagePrediction bad;
  bad.source = "image[1]";
  bad.error = infer::PredictionError{ErrorCode::kNoFace, "image[1]: no face"};
  V2Request request;
  const auto body = v2_response(request, {ok, bad}, "faceage", "v1");
  EXPECT_EQ(body["model_name"], "faceage");
  EXPECT_FALSE(body.contains("id"));
  std::map<std::string, nlohmann::json> outputs;
  for (const auto& output : body["outputs"]) outputs[output["name"]] = output;
  ASSERT_EQ(outputs.size(), v2_output_names().size());
  EXPECT_EQ(outputs["age"]["shape"], nlohmann::json::array({2}));
  EXPECT_EQ(outputs["box"]["shape"], nlohmann::json::array({2, 4}));
  EXPECT_EQ(outputs["image_index"]["data"], nlohmann::json::array({0, 0}));
  EXPECT_EQ(outputs["female_prob"]["data"][0], 0.75);
  EXPECT_TRUE(outputs["female_prob"]["data"][1].is_null());
  ASSERT_EQ(outputs["predictions"]["shape"], nlohmann::json::array({2}));
  EXPECT_EQ(nlohmann::json::parse(outputs["predictions"]["data"][0].get<std::string>()), image_answer(0, ok));
  const auto failed = nlohmann::json::parse(outputs["predictions"]["data"][1].get<std::string>());
  EXPECT_EQ(failed["error"]["code"], "no_face");
  EXPECT_TRUE(failed["faces"].empty());

  request.id = "r2";
  request.outputs = {"age"};
  const auto only_age = v2_response(request, {ok}, "faceage", "v1");
  EXPECT_EQ(only_age["id"], "r2");
  ASSERT_EQ(only_age["outputs"].size(), 1u);
  EXPECT_EQ(v2_error_body(ErrorCode::kNotFound, "gone"), (nlohmann::json{{"error", "gone"}, {"code", "not_found"}}));
}

}  // namespace
}  // namespace faceage::serve
