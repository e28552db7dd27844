#include "faceage/monitor/feedback.hpp"

#include <gtest/gtest.h>

#include <cmath>

namespace faceage::monitor {
namespace {

LabelledFace labelled(double predicted_age, double true_age, double female_prob, const std::string& gender) {
  LabelledFace f;
  f.predicted.output.age = predicted_age;
  f.predicted.output.gender_probability = female_prob;
  f.true_age = true_age;
  f.true_gender = gender;
  return f;
}

TEST(Feedback, MaeByTrueAgeBandAndGenderAccuracy) {
  // Bands by true age: 25 and 29 are "18-29", 45 is "40-49".
  const std::vector<LabelledFace> faces = {labelled(27, 25, 0.9, "female"), labelled(35, 29, 0.2, "female"),
                                           labelled(40, 45, 0.1, "male"), labelled(44, 45, std::nan(""), "")};
  const auto summary = summarize_feedback(faces);
  EXPECT_EQ(summary.count, 4u);
  EXPECT_DOUBLE_EQ(summary.mae, (2 + 6 + 5 + 1) / 4.0);
  ASSERT_EQ(summary.by_band.size(), static_cast<std::size_t>(eval::kNumAgeBands));
  for (const auto& band : summary.by_band) {
    if (band.label == "18-29") {
      EXPECT_EQ(band.count, 2);
      EXPECT_DOUBLE_EQ(band.mae, 4.0);
    } else if (band.label == "40-49") {
      EXPECT_EQ(band.count, 2);
      EXPECT_DOUBLE_EQ(band.mae, 3.0);
    } else {
      EXPECT_EQ(band.count, 0) << band.label;
      EXPECT_TRUE(std::isnan(band.mae));
    }
  }
  // Three faces have a true gender and a prediction; the second (P(female) 0.2) is wrong.
  EXPECT_EQ(summary.gender_count, 3);
  EXPECT_DOUBLE_EQ(summary.gender_accuracy, 2.0 / 3.0);
  const auto json = to_json(summary);
  EXPECT_EQ(json["by_band"]["18-29"]["count"], 2);
  EXPECT_TRUE(json["by_band"]["0-2"]["mae"].is_null());
}

TEST(Feedback, EmptyFeedbackHasNoNumbers) {
  const auto summary = summarize_feedback({});
  EXPECT_EQ(summary.count, 0u);
  EXPECT_TRUE(std::isnan(summary.mae));
  EXPECT_TRUE(std::isnan(summary.gender_accuracy));
  EXPECT_TRUE(to_json(summary)["mae"].is_null());
}

}  // namespace
}  // namespace faceage::monitor
