#include "faceage/monitor/profile.hpp"

#include <gtest/gtest.h>

#include "monitor/synthetic_faces.hpp"
#include "support/error_code.hpp"
#include "support/temp_dir.hpp"

namespace faceage::monitor {
namespace {

using faceage::testing::error_of;
using faceage::testing::TempDir;

TEST(ReferenceProfile, SummarisesEachFeature) {
  // 1..10: mean 5.5, population std sqrt(8.25) = 2.872281.
  const auto p = profile_feature({1, 2, 3, 4, 5, 6, 7, 8, 9, 10}, {/*bins=*/5, /*quantiles=*/3});
  EXPECT_EQ(p.count, 10u);
  EXPECT_DOUBLE_EQ(p.mean, 5.5);
  EXPECT_NEAR(p.std, 2.872281, 1e-6);
  ASSERT_EQ(p.cuts.size(), 4u);  // 2.8, 4.6, 6.4, 8.2
  EXPECT_NEAR(p.cuts[0], 2.8, 1e-12);
  ASSERT_EQ(p.fractions.size(), 5u);
  for (double f : p.fractions) EXPECT_DOUBLE_EQ(f, 0.2);
  EXPECT_EQ(p.quantiles, (std::vector<double>{1, 5.5, 10}));
}

TEST(ReferenceProfile, RoundTripsThroughJson) {
  TempDir tmp;
  const auto profile = build_reference_profile(testing::synthetic_faces(200, 1), "synthetic");
  EXPECT_EQ(profile.features.size(), monitored_features().size());
  save_reference_profile(profile, tmp.file("profile.json"));
  const auto back = load_reference_profile(tmp.file("profile.json"));
  EXPECT_EQ(back.source, "synthetic");
  ASSERT_EQ(back.features.size(), profile.features.size());
  const auto& a = profile.features.at("brightness");
  const auto& b = back.features.at("brightness");
  EXPECT_EQ(a.count, b.count);
  EXPECT_EQ(a.cuts, b.cuts);
  EXPECT_EQ(a.fractions, b.fractions);
  EXPECT_EQ(a.quantiles, b.quantiles);
}

TEST(ReferenceProfile, MalformedJsonNamesTheKey) {
  EXPECT_EQ(error_of([] { reference_profile_from_json({{"format", "other"}}); }), ErrorCode::kConfig);
  nlohmann::json bad = {{"format", kProfileFormat},
                        {"features", {{"age", {{"count", 3}, {"mean", 1}, {"std", 0}, {"cuts", {1.0}},
                                               {"fractions", {1.0}}, {"quantiles", {1.0, 2.0}}}}}}};
  try {
    reference_profile_from_json(bad);
    FAIL() << "accepted one fraction for two bins";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::kConfig);
    EXPECT_NE(std::string(e.what()).find("features.age"), std::string::npos) << e.what();
  }
  bad["features"]["age"].erase("quantiles");
  EXPECT_EQ(error_of([&] { reference_profile_from_json(bad); }), ErrorCode::kConfig);
  EXPECT_EQ(error_of([] { build_reference_profile({}, "nothing"); }), ErrorCode::kInvalidArgument);
}

}  // namespace
}  // namespace faceage::monitor
