#include "faceage/eval/predictions.hpp"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <cmath>

#include "faceage/core/error.hpp"
#include "faceage/core/fs.hpp"
#include "faceage/eval/score.hpp"
#include "support/temp_dir.hpp"

namespace faceage::eval {
namespace {

const char* kPredictCsv =
    "file,face,x,y,w,h,age,age_low,age_high,gender,gender_prob,error\n"
    "a/1.jpg,0,0,0,10,10,30.5,25,36,female,0.9,\n"
    "a/1.jpg,1,0,0,50,40,40,35,45,male,0.8,\n"
    "b/2.jpg,,,,,,,,,,,no_face\n"
    "\"c/3,x.jpg\",0,0,0,5,5,20,,,M,0.7,\r\n"
    "d/4.jpg,0,0,0,5,5,abc,,,,,\n";

TEST(Predictions, ReadsPMinorAndTheQualityFlag) {
  const PredictionsTable t = parse_predictions_csv(
      "file,face,age,p_minor,quality,unreliable,error\n"
      "a.jpg,0,15,0.8123,0.42,0,\n"
      "b.jpg,0,40,0.0100,0.12,1,\n"
      "c.jpg,,,,,,no_face\n");
  ASSERT_EQ(t.rows.size(), 3u);
  EXPECT_DOUBLE_EQ(t.rows[0].p_minor, 0.8123);
  EXPECT_EQ(t.rows[0].unreliable, 0);
  EXPECT_EQ(t.rows[1].unreliable, 1);
  EXPECT_EQ(t.rows[2].unreliable, -1);
  EXPECT_TRUE(std::isnan(parse_predictions_csv("file,age\na.jpg,3\n").rows[0].p_minor));
}

TEST(Predictions, ParsesFaceagePredictCsv) {
  const PredictionsTable t = parse_predictions_csv(kPredictCsv);
  ASSERT_EQ(t.rows.size(), 5u);
  EXPECT_EQ(t.columns.size(), 12u);
  const PredictionRow& r0 = t.rows[0];
  EXPECT_EQ(r0.file, "a/1.jpg");
  EXPECT_DOUBLE_EQ(r0.age, 30.5);
  EXPECT_DOUBLE_EQ(r0.age_low, 25);
  EXPECT_DOUBLE_EQ(r0.age_high, 36);
  EXPECT_EQ(r0.gender, "female");
  EXPECT_DOUBLE_EQ(r0.female_prob, 0.9);  // gender_prob of a female prediction
  EXPECT_DOUBLE_EQ(r0.box_area, 100);
  EXPECT_TRUE(r0.error.empty());
  EXPECT_NEAR(t.rows[1].female_prob, 0.2, 1e-12);  // 1 - P(male)
  EXPECT_EQ(t.rows[2].error, "no_face");
  EXPECT_EQ(t.rows[3].file, "c/3,x.jpg");  // quoted comma, CRLF
  EXPECT_EQ(t.rows[3].gender, "male");
  EXPECT_TRUE(std::isnan(t.rows[3].age_low));
  // A bad number is a failed row naming its line, not an exception.
  EXPECT_NE(t.rows[4].error.find("line 6"), std::string::npos) << t.rows[4].error;
  EXPECT_NE(t.rows[4].error.find("abc"), std::string::npos);
}

TEST(Predictions, SelectsTheLargestFaceAndCountsFailures) {
  const std::vector<FilePrediction> files = select_faces(parse_predictions_csv(kPredictCsv));
  ASSERT_EQ(files.size(), 4u);
  EXPECT_EQ(files[0].file, "a/1.jpg");
  EXPECT_FALSE(files[0].failed);
  EXPECT_EQ(files[0].faces, 2);
  EXPECT_EQ(files[0].chosen.face, 1);  // 50x40 beats 10x10
  EXPECT_DOUBLE_EQ(files[0].chosen.age, 40);
  EXPECT_TRUE(files[1].failed);
  EXPECT_EQ(files[1].error, "no_face");
  EXPECT_FALSE(files[2].failed);
  EXPECT_TRUE(files[3].failed);
}

TEST(Predictions, WithoutBoxesTheLowestFaceIndexWins) {
  const auto files = select_faces(parse_predictions_csv("file,face,age\nx.jpg,1,50\nx.jpg,0,20\nx.jpg,2,70\n"));
  ASSERT_EQ(files.size(), 1u);
  EXPECT_DOUBLE_EQ(files[0].chosen.age, 20);
}

TEST(Predictions, MinimalCsvWithColumnMap) {
  ColumnMap map;
  map.set("file=image");
  map.set("age = pred_age");
  map.set("gender=sex");
  const PredictionsTable t = parse_predictions_csv("\xEF\xBB\xBFimage,pred_age,sex\nx.jpg,33,F\ny.jpg,12.5,\n", map);
  ASSERT_EQ(t.rows.size(), 2u);
  EXPECT_EQ(t.rows[0].file, "x.jpg");
  EXPECT_DOUBLE_EQ(t.rows[0].age, 33);
  EXPECT_EQ(t.rows[0].gender, "female");
  EXPECT_TRUE(std::isnan(t.rows[0].female_prob));
  EXPECT_EQ(t.rows[1].gender, "");
  EXPECT_TRUE(t.rows[1].error.empty());
}

TEST(Predictions, BadHeaderAndMapAreClearErrors) {
  try {
    parse_predictions_csv("image,age\nx.jpg,3\n", {}, "p.csv");
    FAIL();
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::kInvalidArgument);
    EXPECT_NE(std::string(e.what()).find("'file'"), std::string::npos);
    EXPECT_NE(e.hint().find("--map"), std::string::npos);
  }
  EXPECT_THROW(parse_predictions_csv(""), Error);
  ColumnMap map;
  try {
    map.set("years=pred");
    FAIL();
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::kInvalidArgument);
    EXPECT_NE(e.hint().find("age_low"), std::string::npos);
  }
  EXPECT_THROW(map.set("age="), Error);
}

GroundTruth truth(const std::string& file, double age, const std::string& gender = "", int race = -1,
                  const std::string& split = "") {
  GroundTruth t;
  t.file = file;
  t.path = "/data/set/" + file;
  t.age = age;
  t.gender = gender;
  t.race = race;
  t.split = split;
  return t;
}

FilePrediction pred(const std::string& file, double age, bool failed = false) {
  FilePrediction p;
  p.file = file;
  p.failed = failed;
  p.error = failed ? "no_face" : "";
  p.faces = failed ? 0 : 1;
  p.chosen.file = file;
  p.chosen.age = age;
  return p;
}

TEST(Predictions, MatchesByPathThenBasenameAndReportsBothWays) {
  const std::vector<GroundTruth> t = {truth("a/1.jpg", 35, "female", 0), truth("x/b/2.jpg", 20),
                                      truth("c/3.jpg", 50),              truth("d/4.jpg", 8),
                                      truth("e/5.jpg", 60),              truth("f/dup.jpg", 1),
                                      truth("g/dup.jpg", 2)};
  const std::vector<FilePrediction> p = {pred("./a/1.jpg", 30),           // exact after normalising
                                         pred("2.jpg", 0, true),          // basename, failed
                                         pred("/data/set/c/3.jpg", 55),   // resolved path
                                         pred("d/4.jpg", 0, true),        // failed
                                         pred("zzz.jpg", 3),              // nothing
                                         pred("dup.jpg", 4),              // ambiguous basename
                                         pred("a/1.jpg", 99)};            // duplicate of the first
  const MatchReport r = match_predictions(p, t);
  EXPECT_EQ(r.prediction_files, 7);
  EXPECT_EQ(r.matched, 4);
  EXPECT_EQ(r.matched_by_basename, 1);
  EXPECT_EQ(r.failed_files, 2);
  EXPECT_EQ(r.unmatched_predictions, 2);
  EXPECT_EQ(r.ambiguous_basename, 1);
  EXPECT_EQ(r.duplicate_predictions, 1);
  EXPECT_EQ(r.missing_predictions, 3);  // e/5, f/dup, g/dup
  ASSERT_EQ(r.records.size(), 2u);
  EXPECT_EQ(r.records[0].file, "a/1.jpg");
  EXPECT_DOUBLE_EQ(r.records[0].true_age, 35);
  EXPECT_DOUBLE_EQ(r.records[0].pred_age, 30);  // the first prediction wins
  EXPECT_EQ(r.records[0].true_gender, "female");
  EXPECT_EQ(r.records[0].race, 0);
  EXPECT_EQ(r.records[1].file, "c/3.jpg");
  ASSERT_EQ(r.failed.size(), 2u);
  EXPECT_EQ(r.failed[0], "x/b/2.jpg: no_face");
  EXPECT_EQ(r.unmatched_prediction_files, (std::vector<std::string>{"zzz.jpg", "dup.jpg"}));
  EXPECT_EQ(r.missing_prediction_files, (std::vector<std::string>{"e/5.jpg", "f/dup.jpg", "g/dup.jpg"}));
  EXPECT_EQ(to_json(r)["failed_files"], 2);

  MatchOptions no_base;
  no_base.basename_fallback = false;
  EXPECT_EQ(match_predictions(p, t, no_base).matched_by_basename, 0);
}

TEST(Predictions, SplitFilter) {
  const std::vector<GroundTruth> t = {truth("a.jpg", 10, "", -1, "train"), truth("b.jpg", 20, "", -1, "test"),
                                      truth("c.jpg", 30, "", -1, "test")};
  MatchOptions o;
  o.split = "test";
  const MatchReport r = match_predictions({pred("a.jpg", 11), pred("b.jpg", 21)}, t, o);
  ASSERT_EQ(r.records.size(), 1u);
  EXPECT_EQ(r.records[0].file, "b.jpg");
  EXPECT_EQ(r.outside_split, 1);
  EXPECT_EQ(r.missing_predictions, 1);
}

TEST(Predictions, ScoresAFileAgainstAManifest) {
  testing::TempDir dir;
  write_file_atomic(dir.file("data/manifest.csv"),
                    std::string("file,age,gender,race,split\nimg/p1.jpg,30,female,0,test\nimg/p2.jpg,10,male,1,test\n"
                                "img/p3.jpg,70,male,,test\n"));
  write_file_atomic(dir.file("pred.csv"), std::string("file,age,gender,gender_prob,error\n"
                                                      "p1.jpg,34,female,0.9,\nimg/p2.jpg,9,male,0.6,\n"
                                                      "img/p3.jpg,,,,no_face\nother.jpg,5,,,\n"));
  const ScoreResult s = score_predictions(dir.file("pred.csv"), dir.file("data/manifest.csv"));
  EXPECT_EQ(s.match.matched, 3);
  EXPECT_EQ(s.match.matched_by_basename, 1);
  EXPECT_EQ(s.match.failed_files, 1);
  EXPECT_EQ(s.match.unmatched_predictions, 1);
  EXPECT_EQ(s.metrics.age.count, 2);
  EXPECT_DOUBLE_EQ(s.metrics.age.mae, 2.5);  // |34-30|, |9-10|
  EXPECT_DOUBLE_EQ(s.metrics.gender.accuracy, 1.0);
  EXPECT_FALSE(s.image_root.empty());
}

}  // namespace
}  // namespace faceage::eval
