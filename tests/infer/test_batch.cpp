#include "faceage/infer/batch.hpp"

#include <gtest/gtest.h>

#include <filesystem>
#include <sstream>

#include "faceage/core/fs.hpp"
#include "faceage/models/bundle.hpp"
#include "support/quiet_context.hpp"
#include "support/temp_dir.hpp"

namespace faceage::infer {
namespace {

using testing::quiet_context;

ImagePrediction failed(const std::string& source) {
  ImagePrediction prediction;
  prediction.source = source;
  prediction.error = PredictionError{ErrorCode::kNoFace, source + ": no face"};
  return prediction;
}

TEST(RecordWriter, WritesAFileOnlyWhenClosed) {
  testing::TempDir dir;
  const auto path = dir.file("out/records.json");
  std::ostringstream unused;
  RecordWriter writer("json", path, unused);
  writer.write(failed("a.jpg"));
  writer.write(failed("b.jpg"));
  EXPECT_FALSE(std::filesystem::exists(path)) << "a reader never sees half a file";
  writer.close();
  const auto records = nlohmann::json::parse(read_file_text(path));
  ASSERT_EQ(records.size(), 2u);
  EXPECT_EQ(records[1]["file"], "b.jpg");
  EXPECT_EQ(records[1]["error_code"], "no_face");
  EXPECT_TRUE(unused.str().empty());
}

TEST(RecordWriter, CsvToAStreamAndUnknownFormats) {
  std::ostringstream out;
  RecordWriter writer("csv", "", out);
  writer.write(failed("a.jpg"));
  writer.close();
  EXPECT_EQ(out.str(), "file,face,x,y,w,h,age,age_low,age_high,gender,gender_prob,p_minor,quality,unreliable,error\na.jpg,,,,,,,,,,,,,,a.jpg: no face\n");
  try {
    RecordWriter bad("xml", "", out);
    FAIL();
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::kInvalidArgument);
  }
}

TEST(PredictPaths, AFolderScanRecordsEveryImageAndCountsWhatItSkips) {
  testing::TempDir dir;
  models::ModelOptions model;
  models::save_bundle(models::untrained_bundle(model, 64), dir.file("m.fab"));
  std::filesystem::create_directories(dir.file("photos"));
  std::filesystem::copy_file(testing::fixture("faces/astronaut_crop.jpg"), dir.file("photos/crop.jpg"));
  std::filesystem::copy_file(testing::fixture("bad/quadrants.gif"), dir.file("photos/anim.gif"));
  write_file_atomic(dir.file("photos/notes.txt"), std::string("not an image"));

  PredictorOptions options;
  options.model_paths = {dir.file("m.fab")};
  options.precision = models::InferencePrecision::kFloat32;
  Predictor predictor(options, quiet_context());
  PredictRunOptions run;
  run.inputs = {dir.file("photos")};
  run.format = "jsonl";
  run.progress = 0;
  std::ostringstream out;
  const auto summary = predict_paths(predictor, run, quiet_context(), out);
  EXPECT_EQ(summary.images, 2u);
  EXPECT_EQ(summary.failed, 1u);
  EXPECT_EQ(summary.faces, 1u);
  EXPECT_EQ(summary.skipped, std::vector<std::string>{dir.file("photos/notes.txt")});
  std::istringstream lines(out.str());
  std::string first, second;
  std::getline(lines, first);
  std::getline(lines, second);
  const auto gif = nlohmann::json::parse(first);  // sorted: anim.gif before crop.jpg
  EXPECT_EQ(gif["error_code"], "unsupported_media_type");
  EXPECT_NE(gif["error"].get<std::string>().find("GIF"), std::string::npos) << gif;
  EXPECT_TRUE(nlohmann::json::parse(second)["error"].is_null());
  const auto text = format_summary(summary);
  EXPECT_NE(text.find("2 image(s), 1 face(s), 1 failed, 1 skipped (not images)"), std::string::npos) << text;
  EXPECT_NE(text.find("skipped: " + dir.file("photos/notes.txt")), std::string::npos) << text;

  run.inputs = {dir.file("photos/notes.txt") + ".missing"};
  try {
    predict_paths(predictor, run, quiet_context(), out);
    FAIL();
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::kNotFound);
  }
}

}  // namespace
}  // namespace faceage::infer
