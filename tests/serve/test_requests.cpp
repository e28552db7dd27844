#include "serve/requests.hpp"

#include <gtest/gtest.h>

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

}  // namespace
}  // namespace faceage::serve
