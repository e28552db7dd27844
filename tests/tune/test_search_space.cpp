#include "faceage/tune/search_space.hpp"

#include <gtest/gtest.h>

#include "faceage/core/error.hpp"

namespace faceage::tune {
namespace {

SearchSpace parse(const std::string& yaml) { return SearchSpace::from_yaml(YAML::Load(yaml)); }

const char* kSpace = R"(
optim.lr: {type: float, low: 1.0e-4, high: 3.0e-3, log: true}
train.batch_size: {type: int, low: 32, high: 128, step: 32}
loss.age: {type: categorical, choices: [l1, dldl, mean_variance]}
model.width: {type: int, low: 1, high: 64, log: true}
)";

TEST(SearchSpace, ParsesTypesAndEncodingLayout) {
  auto s = parse(kSpace);
  ASSERT_EQ(s.size(), 4u);
  EXPECT_EQ(s.dims(), 1 + 1 + 3 + 1);
  EXPECT_EQ(s.offset(2), 2);
  EXPECT_EQ(s.params()[1].levels(), 4);  // 32, 64, 96, 128
  EXPECT_TRUE(s.params()[0].log);
  EXPECT_EQ(s.params()[2].choices[2], "mean_variance");
}

TEST(SearchSpace, EncodesLogFloatsInLogSpace) {
  auto s = parse(kSpace);
  ParamSet p{std::sqrt(1e-4 * 3e-3), std::int64_t{64}, std::string("dldl"), std::int64_t{8}};
  const auto u = s.encode(p);
  EXPECT_NEAR(u[0], 0.5, 1e-12);        // geometric midpoint
  EXPECT_NEAR(u[1], 1.0 / 3.0, 1e-12);  // level 1 of 0..3
  EXPECT_EQ(u[2], 0.0);
  EXPECT_EQ(u[3], 1.0);
  EXPECT_EQ(u[4], 0.0);
  EXPECT_NEAR(u[5], std::log(8.0) / std::log(64.0), 1e-12);
}

TEST(SearchSpace, IntAndCategoricalRoundTrip) {
  auto s = parse(kSpace);
  std::mt19937_64 rng(3);
  for (int i = 0; i < 200; ++i) {
    const ParamSet p = s.sample(rng);
    EXPECT_NO_THROW(s.validate(p));
    EXPECT_EQ(s.canonical(s.decode(s.encode(p))), s.canonical(p));
    EXPECT_EQ(s.canonical(s.from_json(s.to_json(p))), s.canonical(p));
  }
}

TEST(SearchSpace, DecodeRoundsToTheGridAndArgmax) {
  auto s = parse(kSpace);
  Eigen::VectorXd u(6);
  u << 0.0, 0.45, 0.2, 0.1, 0.7, 1.0;
  const auto p = s.decode(u);
  EXPECT_DOUBLE_EQ(std::get<double>(p[0]), 1e-4);
  EXPECT_EQ(std::get<std::int64_t>(p[1]), 64);  // 0.45 * 3 = 1.35 -> level 1
  EXPECT_EQ(std::get<std::string>(p[2]), "mean_variance");
  EXPECT_EQ(std::get<std::int64_t>(p[3]), 64);
  // project() is idempotent: the rounded point maps to itself.
  const auto once = s.project(u);
  EXPECT_TRUE(s.project(once).isApprox(once));
}

TEST(SearchSpace, StepGridStopsBelowHigh) {
  auto s = parse("n: {type: int, low: 1, high: 10, step: 4}\n");  // 1, 5, 9
  EXPECT_EQ(s.params()[0].levels(), 3);
  Eigen::VectorXd u = Eigen::VectorXd::Constant(1, 1.0);
  EXPECT_EQ(std::get<std::int64_t>(s.decode(u)[0]), 9);
  EXPECT_THROW(s.validate({std::int64_t{4}}), Error);
}

TEST(SearchSpace, FormatsValuesForOverrides) {
  auto s = parse(kSpace);
  EXPECT_EQ(s.format(0, 0.001), "0.001");
  EXPECT_EQ(s.format(1, std::int64_t{96}), "96");
  EXPECT_EQ(s.format(2, std::string("l1")), "l1");
  EXPECT_EQ(format_double(1e-5), "1e-05");
}

void expect_error_naming(const std::string& yaml, const std::string& needle) {
  try {
    parse(yaml);
    FAIL() << "expected an error for: " << yaml;
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::kConfig);
    EXPECT_NE(std::string(e.what()).find(needle), std::string::npos) << e.what();
  }
}

TEST(SearchSpace, ParseErrorsNameTheKey) {
  expect_error_naming("optim.lr: {type: float, low: 1, high: 0.5}\n", "space.optim.lr");
  expect_error_naming("optim.lr: {type: float, low: 0, high: 1, log: true}\n", "space.optim.lr");
  expect_error_naming("a.b: {type: flaot, low: 0, high: 1}\n", "space.a.b");
  expect_error_naming("a.c: {type: categorical, choices: [x]}\n", "space.a.c");
  expect_error_naming("a.d: {type: int, low: 0.5, high: 3}\n", "space.a.d");
  expect_error_naming("a.e: {type: float, low: zero, high: 3}\n", "space.a.e");
  expect_error_naming("a.f: {type: float, low: 0, high: 3, stepp: 1}\n", "space.a.f");
  expect_error_naming("a.g: {low: 0, high: 3}\n", "space.a.g");
  expect_error_naming("a.h: {type: categorical, choices: [x, x]}\n", "space.a.h");
  expect_error_naming("a.i: {type: float, low: 0, high: 3, step: 1}\n", "space.a.i");
  expect_error_naming("[]", "space");
}

TEST(SearchSpace, FromJsonRejectsValuesOutsideTheSpace) {
  auto s = parse(kSpace);
  nlohmann::json j = {{"optim.lr", 0.5}, {"train.batch_size", 64}, {"loss.age", "l1"}, {"model.width", 2}};
  EXPECT_THROW(s.from_json(j), Error);
  j["optim.lr"] = 1e-3;
  EXPECT_NO_THROW(s.from_json(j));
  j["loss.age"] = "l2";
  EXPECT_THROW(s.from_json(j), Error);
  j.erase("loss.age");
  EXPECT_THROW(s.from_json(j), Error);
}

}  // namespace
}  // namespace faceage::tune
