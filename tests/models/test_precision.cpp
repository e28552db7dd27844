#include "faceage/models/precision.hpp"

#include <gtest/gtest.h>

#include "faceage/core/error.hpp"
#include "faceage/models/batchnorm.hpp"

namespace faceage::models {
namespace {

TEST(Precision, ParsesNamesAndListsTheChoices) {
  EXPECT_EQ(parse_precision("auto"), InferencePrecision::kAuto);
  EXPECT_EQ(parse_precision("float32"), InferencePrecision::kFloat32);
  EXPECT_EQ(parse_precision("bf16"), InferencePrecision::kBFloat16);
  EXPECT_STREQ(precision_name(parse_precision("bfloat16")), "bfloat16");
  try {
    parse_precision("half");
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::kInvalidArgument);
    EXPECT_NE(std::string(e.what()).find("available: auto, bfloat16, float32"), std::string::npos) << e.what();
  }
}

TEST(Precision, AutoPicksBFloat16OnlyOnCpusWithNativeSupport) {
  EXPECT_EQ(resolve_precision(InferencePrecision::kAuto, "cuda:0"), InferencePrecision::kFloat32);
  EXPECT_EQ(resolve_precision(InferencePrecision::kAuto, "cpu"),
            cpu_has_native_bf16() ? InferencePrecision::kBFloat16 : InferencePrecision::kFloat32);
  EXPECT_EQ(resolve_precision(InferencePrecision::kBFloat16, "cpu"), InferencePrecision::kBFloat16);
  EXPECT_EQ(resolve_precision(InferencePrecision::kFloat32, "cpu"), InferencePrecision::kFloat32);
}

AgeGenderModel seeded_model() {
  torch::manual_seed(11);
  ModelOptions options;
  options.arch = "mobilenet_v2";
  return create_model(options);
}

TEST(Precision, BFloat16BackboneStaysCloseToFloat32AndReturnsFloatOutputs) {
  auto reference = seeded_model();
  auto bf16 = seeded_model();
  optimize_for_inference(reference, InferencePrecision::kFloat32);
  optimize_for_inference(bf16, InferencePrecision::kBFloat16);
  EXPECT_EQ(bf16->backbone()->parameters().front().scalar_type(), torch::kBFloat16);
  EXPECT_EQ(reference->backbone()->parameters().front().scalar_type(), torch::kFloat32);

  torch::manual_seed(3);
  const auto x = torch::randn({4, 3, 96, 96});
  torch::NoGradGuard no_grad;
  const auto expected = reference->forward(x);
  const auto got = bf16->forward(x);
  for (const auto* t : {&got.features, &got.age, &got.age_logits, &got.gender_logits}) {
    EXPECT_EQ(t->scalar_type(), torch::kFloat32);
  }
  // bf16 keeps 8 mantissa bits: features within a few per cent of their scale, not bit-equal.
  const double scale = expected.features.abs().max().item<double>();
  const double feature_error = (got.features - expected.features).abs().max().item<double>();
  EXPECT_GT(feature_error, 0.0);
  EXPECT_LE(feature_error, 0.05 * scale);
  EXPECT_LE((got.age - expected.age).abs().max().item<double>(), 0.5);
}

}  // namespace
}  // namespace faceage::models
