#include "faceage/infer/batch.hpp"

#include <gtest/gtest.h>

#include <filesystem>
#include <sstream>
#include <streambuf>

#include "faceage/core/fs.hpp"
#include "faceage/data/csv.hpp"
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


// An untrained bundle: these tests check the stream's records, order and timing, not accuracy.
PredictorOptions stream_predictor(const testing::TempDir& dir, int batch_size) {
  models::ModelOptions model;
  models::save_bundle(models::untrained_bundle(model, 64), dir.file("m.fab"));
  PredictorOptions options;
  options.model_paths = {dir.file("m.fab")};
  options.precision = models::InferencePrecision::kFloat32;
  options.batch_size = batch_size;
  return options;
}

std::vector<nlohmann::json> json_lines(const std::string& text) {
  std::vector<nlohmann::json> records;
  std::istringstream lines(text);
  for (std::string line; std::getline(lines, line);) records.push_back(nlohmann::json::parse(line));
  return records;
}

// Hands out one line per underflow and notes how many records `out` held at that moment.
// in_avail() answers as a pipe would: `arrived` says whether the next line is already written.
class LineFeed : public std::streambuf {
 public:
  LineFeed(std::vector<std::string> lines, bool arrived, const std::ostringstream& out)
      : lines_(std::move(lines)), arrived_(arrived), out_(out) {}
  std::vector<std::size_t> records_when_read;

 protected:
  int_type underflow() override {
    if (gptr() < egptr()) return traits_type::to_int_type(*gptr());
    if (next_ == lines_.size()) return traits_type::eof();
    records_when_read.push_back(json_lines(out_.str()).size());
    current_ = lines_[next_++] + "\n";
    setg(current_.data(), current_.data(), current_.data() + current_.size());
    return traits_type::to_int_type(*gptr());
  }
  std::streamsize showmanyc() override {
    if (next_ == lines_.size()) return -1;
    return arrived_ ? 1 : 0;
  }

 private:
  std::vector<std::string> lines_;
  bool arrived_;
  const std::ostringstream& out_;
  std::size_t next_ = 0;
  std::string current_;
};

TEST(PredictStream, EachRecordIsOutBeforeALineNotYetWrittenIsAwaited) {
  testing::TempDir dir;
  Predictor predictor(stream_predictor(dir, 32), quiet_context());
  const std::string crop = testing::fixture("faces/astronaut_crop.jpg");
  std::ostringstream out;
  LineFeed feed({crop, crop, crop}, /*arrived=*/false, out);
  std::istream in(&feed);
  StreamRunOptions options;
  options.progress = 0;
  const auto summary = predict_stream(predictor, in, out, options, quiet_context());
  // A producer that writes line k+1 only after reading record k (a coprocess) never deadlocks.
  EXPECT_EQ(feed.records_when_read, (std::vector<std::size_t>{0, 1, 2}));
  EXPECT_EQ(summary.images, 3u);
  EXPECT_EQ(json_lines(out.str()).size(), 3u);
}

TEST(PredictStream, LinesAlreadyWrittenAreBatchedUpToTheBatchSize) {
  testing::TempDir dir;
  Predictor predictor(stream_predictor(dir, 2), quiet_context());
  const std::string crop = testing::fixture("faces/astronaut_crop.jpg");
  std::ostringstream out;
  LineFeed feed({crop, crop, crop, crop, crop}, /*arrived=*/true, out);
  std::istream in(&feed);
  StreamRunOptions options;
  options.progress = 0;
  predict_stream(predictor, in, out, options, quiet_context());
  // Lines 1-2 run together, then 3-4, then 5 alone at the end of the input.
  EXPECT_EQ(feed.records_when_read, (std::vector<std::size_t>{0, 0, 2, 2, 4}));
  EXPECT_EQ(json_lines(out.str()).size(), 5u);
}

TEST(PredictStream, BadLinesAndFailedImagesAreRecordsInInputOrder) {
  testing::TempDir dir;
  Predictor predictor(stream_predictor(dir, 32), quiet_context());
  const std::string crop = testing::fixture("faces/astronaut_crop.jpg");
  const std::string long_line(kMaxStreamLineBytes + 1, 'a');
  const std::string input = crop + "\r\n" +                          // CRLF
                            "\n" +                                   // empty: skipped
                            dir.file("missing.jpg") + "\n" +         // no such file
                            long_line + "\n" +                       // not a path
                            std::string("a\0b.jpg", 7) + "\n" +      // NUL byte
                            "\xff\xfe.jpg\n" +                        // not UTF-8: valid JSON still
                            testing::fixture("bad/quadrants.gif") + "\n" +
                            std::string(kMaxStreamLineBytes, 'b') + "\r\n" +  // at the limit, CR aside: a path
                            crop;                                    // no final newline
  std::istringstream in(input);
  std::ostringstream out;
  StreamRunOptions options;
  options.progress = 0;
  const auto summary = predict_stream(predictor, in, out, options, quiet_context());
  const auto records = json_lines(out.str());
  ASSERT_EQ(records.size(), 8u) << out.str();
  EXPECT_EQ(records[0]["file"], crop);
  EXPECT_TRUE(records[0]["error"].is_null()) << records[0];
  EXPECT_EQ(records[1]["error_code"], "not_found") << records[1];
  EXPECT_EQ(records[2]["error_code"], "invalid_argument");
  EXPECT_EQ(records[2]["file"], std::string(64, 'a') + "...");
  EXPECT_NE(records[2]["error"].get<std::string>().find("line 4: longer than 4096 bytes"), std::string::npos)
      << records[2];
  EXPECT_EQ(records[3]["error_code"], "invalid_argument");
  EXPECT_EQ(records[3]["file"], std::string("a\0b.jpg", 7));
  EXPECT_EQ(records[4]["face"], nullptr);
  EXPECT_FALSE(records[4]["error"].is_null());
  EXPECT_EQ(records[5]["error_code"], "unsupported_media_type");
  EXPECT_EQ(records[6]["file"].get<std::string>().size(), kMaxStreamLineBytes);
  EXPECT_EQ(records[6]["error_code"], "not_found") << "a line of the limit's length is tried as a path";
  EXPECT_EQ(records[7]["file"], crop);
  EXPECT_TRUE(records[7]["error"].is_null());
  EXPECT_EQ(summary.images, 8u);
  EXPECT_EQ(summary.failed, 6u);
  EXPECT_EQ(summary.faces, 2u);
}

TEST(PredictStream, EmptyInputIsNoErrorAndAnUnwritableOutputIs) {
  testing::TempDir dir;
  Predictor predictor(stream_predictor(dir, 32), quiet_context());
  StreamRunOptions options;
  options.progress = 0;
  options.format = "csv";
  std::istringstream empty;
  std::ostringstream out;
  const auto summary = predict_stream(predictor, empty, out, options, quiet_context());
  EXPECT_EQ(summary.images, 0u);
  EXPECT_EQ(out.str(), data::csv_line(prediction_csv_header())) << "an empty partition: the header only";

  options.format = "jsonl";
  std::istringstream one(testing::fixture("faces/astronaut_crop.jpg") + "\n");
  std::ostream closed(nullptr);  // a stream that fails every write, like a closed pipe
  try {
    predict_stream(predictor, one, closed, options, quiet_context());
    FAIL() << "records written into the void";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::kIo);
  }
}

}  // namespace
}  // namespace faceage::infer
