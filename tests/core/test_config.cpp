#include "faceage/core/config.hpp"

#include <gtest/gtest.h>

#include "support/temp_dir.hpp"

namespace faceage {

TEST(Config, ReadsTypedValuesByDottedKey) {
  auto config = Config::from_string("train:\n  epochs: 5\n  lr: 0.001\n  name: run\n");
  EXPECT_EQ(config.get<int>("train.epochs"), 5);
  EXPECT_DOUBLE_EQ(config.get<double>("train.lr"), 0.001);
  EXPECT_EQ(config.get<std::string>("train.name"), "run");
  EXPECT_EQ(config.get_or<int>("train.batch", 64), 64);
  EXPECT_FALSE(config.has("train.batch"));
  EXPECT_FALSE(config.has("nope.deeper"));
}

TEST(Config, MissingKeyErrorNamesTheKey) {
  Config config;
  try {
    config.get<int>("train.epochs");
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::kConfig);
    EXPECT_NE(std::string(e.what()).find("train.epochs"), std::string::npos);
  }
}

TEST(Config, WrongTypeIsConfigError) {
  auto config = Config::from_string("a: hello\n");
  EXPECT_THROW(config.get<int>("a"), Error);
}

TEST(Config, OverridesParseYamlScalarsAndKeepSiblings) {
  auto config = Config::from_string("train:\n  epochs: 5\n  lr: 0.1\n");
  config.apply_overrides({"train.epochs=12", "model.arch=resnet18", "train.sizes=[112, 160]"});
  EXPECT_EQ(config.get<int>("train.epochs"), 12);
  EXPECT_DOUBLE_EQ(config.get<double>("train.lr"), 0.1);
  EXPECT_EQ(config.get<std::string>("model.arch"), "resnet18");
  auto sizes = config.get<std::vector<int>>("train.sizes");
  ASSERT_EQ(sizes.size(), 2u);
  EXPECT_EQ(sizes[1], 160);
}

TEST(Config, OverrideWithoutEqualsIsRejected) {
  Config config;
  EXPECT_THROW(config.apply_overrides({"train.epochs"}), Error);
  EXPECT_THROW(config.apply_overrides({"=3"}), Error);
}

TEST(Config, MergeIsDeep) {
  auto base = Config::from_string("a:\n  b: 1\n  c: 2\nd: [1, 2]\n");
  base.merge(Config::from_string("a:\n  c: 3\nd: [4]\n"));
  EXPECT_EQ(base.get<int>("a.b"), 1);
  EXPECT_EQ(base.get<int>("a.c"), 3);
  EXPECT_EQ(base.get<std::vector<int>>("d").size(), 1u);
}

TEST(Config, DumpRoundTripsAndSavesAtomically) {
  testing::TempDir dir;
  auto config = Config::from_string("x:\n  y: 7\n");
  config.set("x.z", "hello");
  config.save(dir.file("resolved.yaml"));
  auto loaded = Config::from_file(dir.file("resolved.yaml"));
  EXPECT_EQ(loaded.get<int>("x.y"), 7);
  EXPECT_EQ(loaded.get<std::string>("x.z"), "hello");
  EXPECT_EQ(loaded.sub("x").get<int>("y"), 7);
}

TEST(Config, MissingFileIsNotFound) {
  try {
    Config::from_file("/nonexistent/config.yaml");
    FAIL();
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::kNotFound);
  }
}

}  // namespace faceage

namespace faceage {

TEST(Config, JsonViewTypesScalars) {
  auto config = Config::from_string("a: 3\nb: 0.5\nc: true\nd: text\ne: [1, x]\nf: ~\ng: '12'\n");
  auto json = config.to_json();
  EXPECT_TRUE(json["a"].is_number_integer());
  EXPECT_EQ(json["a"], 3);
  EXPECT_DOUBLE_EQ(json["b"].get<double>(), 0.5);
  EXPECT_EQ(json["c"], true);
  EXPECT_EQ(json["d"], "text");
  EXPECT_EQ(json["e"][1], "x");
  EXPECT_TRUE(json["f"].is_null());
  EXPECT_EQ(json["g"], "12");
  auto back = Config::from_json(json);
  EXPECT_EQ(back.get<int>("a"), 3);
  EXPECT_EQ(back.get<std::string>("d"), "text");
}

}  // namespace faceage
