#include "faceage/monitor/prediction_log.hpp"

#include <gtest/gtest.h>

#include <chrono>
#include <cmath>
#include <filesystem>

#include "faceage/core/sqlite.hpp"
#include "monitor/synthetic_faces.hpp"
#include "support/error_code.hpp"
#include "support/temp_dir.hpp"

namespace faceage::monitor {
namespace {

using faceage::testing::error_of;
using faceage::testing::TempDir;

PredictionRecord record(int i, std::size_t faces = 1) {
  PredictionRecord r;
  r.time = 1796392800.0 + i;  // one request a second from 2026-12-04T14:00:00Z
  r.request_id = "req-" + std::to_string(i);
  r.model_version = "3";
  r.latency_ms = 10.0 + i;
  r.faces = testing::synthetic_faces(faces, static_cast<unsigned>(i));
  return r;
}

TEST(PredictionLog, WritesAndReadsBackEveryField) {
  TempDir tmp;
  const std::string path = tmp.file("log/predictions.db");
  std::vector<PredictionRecord> sent;
  for (int i = 0; i < 6; ++i) sent.push_back(record(i, static_cast<std::size_t>(i % 3)));  // 0, 1 or 2 faces
  sent[1].faces[0].input.pose.reset();  // a face without landmarks
  sent[5].faces[1].input.detector_score.reset();
  {
    PredictionLogWriter writer({path});
    for (const auto& r : sent) ASSERT_TRUE(writer.log(r));
    writer.flush();
    EXPECT_EQ(writer.counters().written, 6u);
  }
  const auto got = read_prediction_log(path);
  ASSERT_EQ(got.size(), sent.size());
  for (std::size_t i = 0; i < got.size(); ++i) {
    EXPECT_DOUBLE_EQ(got[i].time, sent[i].time);
    EXPECT_EQ(got[i].request_id, sent[i].request_id);
    EXPECT_EQ(got[i].model_version, "3");
    EXPECT_DOUBLE_EQ(got[i].latency_ms, sent[i].latency_ms);
    ASSERT_EQ(got[i].faces.size(), sent[i].faces.size());
    for (std::size_t f = 0; f < got[i].faces.size(); ++f) {
      const auto &a = got[i].faces[f], &b = sent[i].faces[f];
      EXPECT_EQ(a.input.image_width, b.input.image_width);
      EXPECT_DOUBLE_EQ(a.input.brightness, b.input.brightness);
      EXPECT_DOUBLE_EQ(a.input.sharpness, b.input.sharpness);
      EXPECT_EQ(a.input.grayscale, b.input.grayscale);
      EXPECT_EQ(a.input.pose.has_value(), b.input.pose.has_value());
      EXPECT_EQ(a.input.detector_score.has_value(), b.input.detector_score.has_value());
      EXPECT_DOUBLE_EQ(a.output.age, b.output.age);
      EXPECT_DOUBLE_EQ(a.output.gender_probability, b.output.gender_probability);
    }
  }
  EXPECT_EQ(logged_faces(got).size(), 6u);  // 0 + 1 + 2 + 0 + 1 + 2
}

TEST(PredictionLog, SelectsATimeWindow) {
  TempDir tmp;
  const std::string path = tmp.file("p.db");
  {
    PredictionLogWriter writer({path});
    for (int i = 0; i < 10; ++i) writer.log(record(i));
  }
  TimeWindow window{parse_iso8601("2026-12-04T14:00:03Z"), parse_iso8601("2026-12-04T14:00:06Z")};
  const auto got = read_prediction_log(path, window);
  ASSERT_EQ(got.size(), 4u);  // seconds 3, 4, 5, 6: both ends included
  EXPECT_EQ(got.front().request_id, "req-3");
  EXPECT_EQ(got.back().request_id, "req-6");
  EXPECT_EQ(read_prediction_log(path, {parse_iso8601("2026-12-04T14:00:08Z"), std::nullopt}).size(), 2u);
}

TEST(PredictionLog, RotatesAtTheSizeBoundAndKeepsTheNewest) {
  TempDir tmp;
  const std::string path = tmp.file("p.db");
  PredictionLogOptions options{path};
  options.max_bytes = 48 * 1024;
  options.keep_rotated = 2;
  options.batch_size = 20;
  const int total = 1500;
  {
    PredictionLogWriter writer(options);
    for (int i = 0; i < total; ++i) {
      while (!writer.log(record(i))) writer.flush();  // keep every record for the count below
    }
    writer.flush();
    EXPECT_GE(writer.counters().rotations, 3u);
    EXPECT_EQ(writer.counters().written, static_cast<std::uint64_t>(total));
    EXPECT_EQ(writer.counters().failed, 0u);
  }
  namespace fs = std::filesystem;
  EXPECT_TRUE(fs::exists(path + ".1"));
  EXPECT_TRUE(fs::exists(path + ".2"));
  EXPECT_FALSE(fs::exists(path + ".3"));
  for (const auto& file : prediction_log_files(path)) EXPECT_LT(fs::file_size(file), 2 * options.max_bytes) << file;
  // What is left is the newest records, without gaps, oldest first across the files.
  const auto got = read_prediction_log(path);
  ASSERT_GT(got.size(), 0u);
  ASSERT_LT(got.size(), static_cast<std::size_t>(total));
  EXPECT_EQ(got.back().request_id, "req-" + std::to_string(total - 1));
  const int first = total - static_cast<int>(got.size());
  for (std::size_t i = 0; i < got.size(); ++i)
    ASSERT_EQ(got[i].request_id, "req-" + std::to_string(first + static_cast<int>(i)));
  EXPECT_LT(read_prediction_log(path, {}, /*include_rotated=*/false).size(), got.size());
}

TEST(PredictionLog, NeverBlocksAndDropsWhenTheQueueIsFull) {
  TempDir tmp;
  const std::string path = tmp.file("p.db");
  PredictionLogOptions options{path};
  options.queue_capacity = 4;
  options.batch_size = 1;
  PredictionLogWriter writer(options);
  writer.log(record(0));
  writer.flush();
  // Another connection holds the write lock: the writer thread waits in SQLite's busy handler.
  sqlite::Database blocker(path);
  blocker.exec("BEGIN IMMEDIATE");
  int accepted = 0;
  const auto start = std::chrono::steady_clock::now();
  for (int i = 1; i <= 20; ++i) accepted += writer.log(record(i)) ? 1 : 0;
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  blocker.exec("ROLLBACK");
  EXPECT_LT(seconds, 0.5);                      // log() did not wait for the disk
  EXPECT_LE(accepted, 5);                       // the queue plus the one record in flight
  EXPECT_EQ(writer.counters().dropped, static_cast<std::uint64_t>(20 - accepted));
  writer.flush();
  EXPECT_EQ(writer.counters().written, static_cast<std::uint64_t>(1 + accepted));
}

TEST(PredictionLog, BadPathsFailClearly) {
  EXPECT_EQ(error_of([] { PredictionLogWriter writer({"/proc/no/such/dir/p.db"}); }), ErrorCode::kIo);
  TempDir tmp;
  EXPECT_EQ(error_of([&] { read_prediction_log(tmp.file("missing.db")); }), ErrorCode::kNotFound);
}

Feedback label(const std::string& request_id, int face, double age, const std::string& gender = "") {
  Feedback f;
  f.request_id = request_id;
  f.face = face;
  f.age = age;
  f.gender = gender;
  f.time = 1796400000.0;
  return f;
}

TEST(PredictionLogFeedback, StoresLabelsBesideTheLoggedFaceAndReadsThemBack) {
  TempDir tmp;
  const std::string path = tmp.file("p.db");
  std::vector<PredictionRecord> sent;
  for (int i = 0; i < 4; ++i) sent.push_back(record(i, 2));
  {
    PredictionLogWriter writer({path});
    for (const auto& r : sent) ASSERT_TRUE(writer.log(r));
    // No flush: feedback waits for the records queued before it, so it finds req-3 at once.
    const auto receipt = writer.add_feedback(label("req-3", 1, 40, "female"));
    EXPECT_EQ(receipt.model_version, "3");
    EXPECT_DOUBLE_EQ(receipt.predicted.output.age, sent[3].faces[1].output.age);
    writer.add_feedback(label("req-0", 0, 10));
    writer.add_feedback(label("req-0", 0, 12, "male"));  // a correction replaces the label
  }
  const auto got = read_feedback(path);
  ASSERT_EQ(got.size(), 2u);
  EXPECT_EQ(got[0].request_id, "req-0");
  EXPECT_DOUBLE_EQ(got[0].true_age, 12);
  EXPECT_EQ(got[0].true_gender, "male");
  EXPECT_DOUBLE_EQ(got[0].predicted.input.brightness, sent[0].faces[0].input.brightness);
  EXPECT_EQ(got[1].request_id, "req-3");
  EXPECT_EQ(got[1].face, 1);
  EXPECT_DOUBLE_EQ(got[1].true_age, 40);
  EXPECT_EQ(got[1].true_gender, "female");
  EXPECT_DOUBLE_EQ(got[1].predicted.output.age, sent[3].faces[1].output.age);
  // The window applies to the request's time.
  TimeWindow late;
  late.since = sent[1].time;
  EXPECT_EQ(read_feedback(path, late).size(), 1u);
}

TEST(PredictionLogFeedback, TypedErrorsForUnknownRequestsFacesAndLabels) {
  TempDir tmp;
  PredictionLogWriter writer({tmp.file("p.db")});
  writer.log(record(0, 1));
  EXPECT_EQ(error_of([&] { writer.add_feedback(label("nobody", 0, 30)); }), ErrorCode::kNotFound);
  EXPECT_EQ(error_of([&] { writer.add_feedback(label("req-0", 1, 30)); }), ErrorCode::kInvalidArgument);
  EXPECT_EQ(error_of([&] { writer.add_feedback(label("req-0", -1, 30)); }), ErrorCode::kInvalidArgument);
  EXPECT_EQ(error_of([&] { writer.add_feedback(label("req-0", 0, -2)); }), ErrorCode::kInvalidArgument);
  EXPECT_EQ(error_of([&] { writer.add_feedback(label("req-0", 0, std::nan(""))); }), ErrorCode::kInvalidArgument);
  EXPECT_EQ(error_of([&] { writer.add_feedback(label("req-0", 0, 30, "robot")); }), ErrorCode::kInvalidArgument);
  EXPECT_EQ(error_of([&] { writer.add_feedback(label("", 0, 30)); }), ErrorCode::kInvalidArgument);
  // After all those refusals the log still takes a good label.
  EXPECT_NO_THROW(writer.add_feedback(label("req-0", 0, 30)));
}

TEST(PredictionLogFeedback, FindsRequestsInRotatedFiles) {
  TempDir tmp;
  const std::string path = tmp.file("p.db");
  PredictionLogOptions options{path};
  options.max_bytes = 48 * 1024;
  options.keep_rotated = 3;
  options.batch_size = 20;
  PredictionLogWriter writer(options);
  for (int i = 0; i < 600; ++i) {
    while (!writer.log(record(i))) writer.flush();
  }
  writer.flush();
  ASSERT_GE(writer.counters().rotations, 1u);
  EXPECT_NO_THROW(writer.add_feedback(label("req-599", 0, 50)));
  // The oldest request still kept is in the oldest rotated file.
  const auto kept = read_prediction_log(path);
  ASSERT_FALSE(kept.empty());
  ASSERT_NE(kept.front().request_id, "req-599");
  EXPECT_NO_THROW(writer.add_feedback(label(kept.front().request_id, 0, 20)));
  writer.flush();
  const auto labelled = read_feedback(path);
  ASSERT_EQ(labelled.size(), 2u);
  EXPECT_EQ(labelled.front().request_id, kept.front().request_id);  // oldest first
}

TEST(PredictionLogFeedback, LogsWithoutAFeedbackTableReadAsNoFeedback) {
  TempDir tmp;
  const std::string path = tmp.file("old.db");
  {
    sqlite::Database db(path);
    db.exec("CREATE TABLE requests(id INTEGER PRIMARY KEY, time REAL, request_id TEXT, model_version TEXT,"
            " latency_ms REAL, faces INTEGER)");
  }
  EXPECT_TRUE(read_feedback(path).empty());
}

}  // namespace
}  // namespace faceage::monitor
