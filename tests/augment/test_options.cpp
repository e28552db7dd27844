#include "faceage/augment/options.hpp"

#include <gtest/gtest.h>

#include "faceage/augment/augmenter.hpp"

namespace faceage::augment {
namespace {

// Runs fn, expects an Error with `code` whose message mentions `needle`.
template <class Fn>
void expect_error(Fn fn, ErrorCode code, const std::string& needle) {
  try {
    fn();
    ADD_FAILURE() << "expected an error mentioning " << needle;
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), code) << e.what();
    EXPECT_NE(std::string(e.what()).find(needle), std::string::npos) << e.what();
  }
}

TEST(AugmentPresets, LoadByNameAndValidate) {
  EXPECT_EQ(presets().names(), (std::vector<std::string>{"light", "medium", "none", "strong"}));
  for (const auto& name : presets().names()) {
    EXPECT_NO_THROW(validate(preset(name))) << name;
    EXPECT_FALSE(presets().description(name).empty());
  }
  EXPECT_EQ(to_json(preset("none")), to_json(AugmentOptions{}));
  const auto strong = preset("strong");
  EXPECT_DOUBLE_EQ(strong.rotate_deg, 15.0);
  EXPECT_GT(strong.blur_prob, 0);
  EXPECT_GT(strong.grayscale_prob, 0);
  EXPECT_GT(strong.jpeg_prob, 0);
  EXPECT_GT(strong.erasing_prob, 0);
  const auto light = preset("light");
  EXPECT_DOUBLE_EQ(light.flip_prob, 0.5);
  EXPECT_DOUBLE_EQ(light.rotate_prob, 0.0);
  EXPECT_DOUBLE_EQ(light.erasing_prob, 0.0);
}

TEST(AugmentPresets, UnknownPresetListsNames) {
  expect_error([] { preset("extreme"); }, ErrorCode::kNotFound, "available: light, medium, none, strong");
}

TEST(AugmentOptions, InvalidValuesNameTheKey) {
  auto with = [](auto change) {
    AugmentOptions o;
    change(o);
    return o;
  };
  expect_error([&] { validate(with([](AugmentOptions& o) { o.flip_prob = 1.5; })); }, ErrorCode::kInvalidArgument,
               "'flip_prob'");
  expect_error([&] { validate(with([](AugmentOptions& o) { o.color_prob = -0.1; })); }, ErrorCode::kInvalidArgument,
               "'color_prob'");
  expect_error([&] { validate(with([](AugmentOptions& o) { o.scale_min = 1.2; })); }, ErrorCode::kInvalidArgument,
               "'scale_min' must be <= scale_max");
  expect_error([&] { validate(with([](AugmentOptions& o) { o.hue = 0.7; })); }, ErrorCode::kInvalidArgument,
               "'hue'");
  expect_error([&] { validate(with([](AugmentOptions& o) { o.jpeg_quality_min = 0; })); },
               ErrorCode::kInvalidArgument, "'jpeg_quality_min'");
  expect_error([&] { validate(with([](AugmentOptions& o) { o.rotate_deg = std::nan(""); })); },
               ErrorCode::kInvalidArgument, "'rotate_deg'");
  expect_error([&] { validate(with([](AugmentOptions& o) { o.erasing_area_max = 0.95; })); },
               ErrorCode::kInvalidArgument, "'erasing_area_max'");
  expect_error([] { Augmenter(AugmentOptions{}, 4); }, ErrorCode::kInvalidArgument, "'output_size'");
  expect_error([&] { Augmenter(with([](AugmentOptions& o) { o.blur_sigma_max = -1; }), 112); },
               ErrorCode::kInvalidArgument, "'blur_sigma_max'");
}

TEST(AugmentOptions, FromConfigStartsFromThePresetAndOverrides) {
  const auto config = Config::from_string("augment:\n  preset: medium\n  flip_prob: 0\n  border: constant\n"
                                          "  jpeg_quality_min: 20\n  erasing_fill: mean\n");
  const auto o = from_config(config.sub("augment"));
  const auto medium = preset("medium");
  EXPECT_DOUBLE_EQ(o.flip_prob, 0.0);
  EXPECT_DOUBLE_EQ(o.rotate_deg, medium.rotate_deg);
  EXPECT_DOUBLE_EQ(o.brightness, medium.brightness);
  EXPECT_EQ(o.border, BorderMode::kConstant);
  EXPECT_EQ(o.jpeg_quality_min, 20);
  EXPECT_EQ(o.erasing_fill, ErasingFill::kMean);
  // `augment: strong` is shorthand for a preset; an empty section is the `none` preset.
  EXPECT_EQ(to_json(from_config(Config::from_string("augment: strong\n").sub("augment"))), to_json(preset("strong")));
  EXPECT_EQ(to_json(from_config(Config())), to_json(AugmentOptions{}));
}

TEST(AugmentOptions, FromConfigErrorsNameTheKey) {
  auto load = [](const std::string& yaml) { return from_config(Config::from_string(yaml)); };
  expect_error([&] { load("flip_probability: 0.5\n"); }, ErrorCode::kConfig, "'augment.flip_probability'");
  expect_error([&] { load("flip_prob: lots\n"); }, ErrorCode::kConfig, "'augment.flip_prob'");
  expect_error([&] { load("rotate_deg: 500\n"); }, ErrorCode::kConfig, "'augment.rotate_deg'");
  expect_error([&] { load("border: wrap\n"); }, ErrorCode::kConfig, "'augment.border'");
  expect_error([&] { load("interpolation: nearest\n"); }, ErrorCode::kConfig, "'augment.interpolation'");
  expect_error([&] { load("preset: extreme\n"); }, ErrorCode::kNotFound, "available:");
}

TEST(AugmentOptions, JsonRoundTripsThroughConfig) {
  AugmentOptions o = preset("strong");
  o.interpolation = Interpolation::kCubic;
  o.border = BorderMode::kReplicate;
  const auto json = to_json(o);
  EXPECT_EQ(json.at("rotate_deg"), 15.0);
  EXPECT_EQ(json.at("interpolation"), "cubic");
  // JSON is YAML: the dump reads back as a config section.
  const auto back = from_config(Config::from_string(json.dump()));
  EXPECT_EQ(to_json(back), json);
}

}  // namespace
}  // namespace faceage::augment
