#include "faceage/eval/score.hpp"

#include <gtest/gtest.h>

#include "faceage/core/fs.hpp"
#include "support/error_code.hpp"
#include "support/temp_dir.hpp"

namespace faceage::eval {
namespace {

TEST(Score, FormatSummaryStatesMatchesMetricsAndBands) {
  testing::TempDir dir;
  write_file_atomic(dir.file("manifest.csv"),
                    std::string("file,age,gender,split\na.jpg,30,female,test\nb.jpg,10,male,test\nc.jpg,70,male,test\n"));
  write_file_atomic(dir.file("pred.csv"), std::string("file,age,gender,gender_prob,error\n"
                                                      "a.jpg,34,female,0.9,\nb.jpg,9,male,0.6,\nc.jpg,,,,no_face\n"));
  const ScoreResult s = score_predictions(dir.file("pred.csv"), dir.file("manifest.csv"));
  check_scored(s);
  const std::string text = format_summary(s);
  EXPECT_EQ(text.rfind("scored 2 files (prediction files 3, matched 3, by basename 0)\n", 0), 0u) << text;
  EXPECT_NE(text.find("failed 1, unmatched predictions 0"), std::string::npos) << text;
  EXPECT_NE(text.find("age       MAE 2.50"), std::string::npos) << text;
  EXPECT_NE(text.find("gender    accuracy 100.0% (n=2)"), std::string::npos) << text;
  EXPECT_NE(text.find("band        n      MAE    bias\n"), std::string::npos) << text;
}

TEST(Score, NothingScoredIsAnErrorSayingWhy) {
  testing::TempDir dir;
  write_file_atomic(dir.file("manifest.csv"), std::string("file,age\na.jpg,30\n"));
  write_file_atomic(dir.file("pred.csv"), std::string("file,age\nother.jpg,34\n"));
  const ScoreResult s = score_predictions(dir.file("pred.csv"), dir.file("manifest.csv"));
  EXPECT_EQ(faceage::testing::error_of([&] { check_scored(s); }), ErrorCode::kInvalidArgument);
}

}  // namespace
}  // namespace faceage::eval
