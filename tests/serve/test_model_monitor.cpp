#include "faceage/serve/model_monitor.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <string>

#include "monitor/synthetic_faces.hpp"
#include "serve_test_support.hpp"
#include "support/error_code.hpp"

namespace faceage::serve {
namespace {

using faceage::testing::error_of;
using nlohmann::json;

monitor::PredictionRecord record_of(const monitor::LoggedFace& face, int i) {
  monitor::PredictionRecord r;
  r.time = 1796392800.0 + i;
  r.request_id = "req-" + std::to_string(i);
  r.model_version = "1";
  r.faces = {face};
  return r;
}

// The value of one exposition line ("name{labels}"), NaN when absent.
double metric(const std::string& text, const std::string& series) {
  const auto at = text.find("\n" + series + " ");
  if (at == std::string::npos) return std::nan("");
  return std::stod(text.substr(at + series.size() + 2));
}

TEST(ServeModelMonitor, DriftGaugesFollowTheWindowAgainstTheReference) {
  faceage::testing::TempDir tmp;
  const auto reference = monitor::build_reference_profile(monitor::testing::synthetic_faces(300, 1), "test");
  monitor::save_reference_profile(reference, tmp.file("profile.json"));
  ServeOptions options;
  options.reference_profile = tmp.file("profile.json");
  options.drift_window = 100;
  MetricsRegistry metrics;
  ModelMonitor monitor(options, metrics, Context{});
  EXPECT_FALSE(monitor.wants_records());  // no log and no model yet: nothing to do
  monitor.model_changed("1", {json::object()});  // a bundle without a profile: the file is the reference
  EXPECT_TRUE(monitor.wants_records());

  int i = 0;
  for (const auto& face : monitor::testing::synthetic_faces(100, 2)) monitor.observe(record_of(face, i++));
  monitor.refresh_metrics();
  auto text = "\n" + metrics.render();
  EXPECT_EQ(metric(text, "faceage_drift_reference_loaded"), 1);
  EXPECT_EQ(metric(text, "faceage_drift_window_faces"), 100);
  EXPECT_EQ(metric(text, "faceage_drift_detected"), 0);
  EXPECT_EQ(metric(text, "faceage_feature_drift{feature=\"colourfulness\"}"), 0);

  // The window slides: 100 degraded faces push the ordinary ones out.
  for (const auto& face : monitor::testing::synthetic_faces(100, 3, /*grayscale_blurred=*/true)) {
    monitor.observe(record_of(face, i++));
  }
  monitor.refresh_metrics();
  text = "\n" + metrics.render();
  EXPECT_EQ(metric(text, "faceage_drift_window_faces"), 100);
  EXPECT_EQ(metric(text, "faceage_drift_detected"), 1);
  for (const char* feature : {"colourfulness", "grayscale", "sharpness_log10"}) {
    EXPECT_EQ(metric(text, std::string("faceage_feature_drift{feature=\"") + feature + "\"}"), 1) << feature;
  }
  EXPECT_EQ(metric(text, "faceage_feature_drift{feature=\"brightness\"}"), 0);
  EXPECT_GT(metric(text, "faceage_feature_psi{feature=\"colourfulness\"}"), 0.2);

  // A new model starts a fresh window (its outputs are another model's).
  monitor.model_changed("2", {json::object()});
  monitor.refresh_metrics();
  text = "\n" + metrics.render();
  EXPECT_EQ(metric(text, "faceage_drift_window_faces"), 0);
  EXPECT_EQ(metric(text, "faceage_drift_detected"), 0);
}

TEST(ServeModelMonitor, TheBundlesOwnProfileWinsOverTheFile) {
  ServeOptions options;
  MetricsRegistry metrics;
  ModelMonitor monitor(options, metrics, Context{});
  const auto profile = monitor::build_reference_profile(monitor::testing::synthetic_faces(50, 1), "bundle");
  monitor.model_changed("7", {json{{"metadata", {{monitor::kBundleProfileKey, monitor::to_json(profile)}}}}});
  const auto report = monitor.drift();
  ASSERT_TRUE(report.has_value());
  EXPECT_EQ(report->reference_source, "the bundle of version 7");
  EXPECT_FALSE(report->drift);  // an empty window: no verdict
}

TEST(ServeModelMonitor, FeedbackNeedsALogAndAWellFormedBody) {
  ServeOptions options;
  MetricsRegistry metrics;
  ModelMonitor without_log(options, metrics, Context{});
  EXPECT_EQ(error_of([&] { without_log.feedback({{"request_id", "r"}, {"age", 30}}); }), ErrorCode::kNotFound);
  for (const json& bad : {json::array(), json{{"age", 30}}, json{{"request_id", ""}, {"age", 30}},
                          json{{"request_id", "r"}}, json{{"request_id", "r"}, {"age", "thirty"}},
                          json{{"request_id", "r"}, {"age", 30}, {"face", -1}},
                          json{{"request_id", "r"}, {"age", 30}, {"face", 0.5}},
                          json{{"request_id", "r"}, {"age", 30}, {"gender", 1}}}) {
    EXPECT_EQ(error_of([&] { parse_feedback(bad); }), ErrorCode::kInvalidArgument) << bad.dump();
  }
  const auto f = parse_feedback({{"request_id", "r"}, {"age", 30.5}, {"face", 2}, {"gender", "female"}});
  EXPECT_EQ(f.request_id, "r");
  EXPECT_EQ(f.face, 2);
  EXPECT_DOUBLE_EQ(f.age, 30.5);
  EXPECT_EQ(f.gender, "female");
}

TEST(ServeModelMonitor, LiveAccuracyFromFeedback) {
  faceage::testing::TempDir tmp;
  ServeOptions options;
  options.prediction_log = tmp.file("log.db");
  MetricsRegistry metrics;
  ModelMonitor monitor(options, metrics, Context{});
  monitor.model_changed("1", {});
  auto faces = monitor::testing::synthetic_faces(2, 4);
  faces[0].output.age = 30;
  faces[0].output.gender_probability = 0.8;
  faces[1].output.age = 60;
  faces[1].output.gender_probability = 0.3;
  monitor.observe(record_of(faces[0], 0));
  monitor.observe(record_of(faces[1], 1));
  const auto answer = monitor.feedback({{"request_id", "req-0"}, {"age", 34}, {"gender", "female"}});
  EXPECT_EQ(answer["model_version"], "1");
  EXPECT_DOUBLE_EQ(answer["error_years"].get<double>(), -4.0);
  monitor.feedback({{"request_id", "req-1"}, {"age", 62}, {"gender", "female"}});
  EXPECT_EQ(error_of([&] { monitor.feedback({{"request_id", "req-9"}, {"age", 20}}); }), ErrorCode::kNotFound);
  monitor.refresh_metrics();
  const auto text = "\n" + metrics.render();
  EXPECT_EQ(metric(text, "faceage_feedback_total"), 2);
  EXPECT_DOUBLE_EQ(metric(text, "faceage_feedback_mae_years{band=\"all\"}"), 3.0);
  EXPECT_DOUBLE_EQ(metric(text, "faceage_feedback_mae_years{band=\"30-39\"}"), 4.0);
  EXPECT_DOUBLE_EQ(metric(text, "faceage_feedback_mae_years{band=\"60-69\"}"), 2.0);
  EXPECT_DOUBLE_EQ(metric(text, "faceage_feedback_gender_accuracy"), 0.5);
  EXPECT_EQ(metric(text, "faceage_prediction_log_records_total"), 2);
  EXPECT_EQ(metric(text, "faceage_prediction_log_dropped_total"), 0);
}

TEST(ServeModelMonitor, BadPathsFailAtStartup) {
  ServeOptions options;
  MetricsRegistry metrics;
  options.reference_profile = "/nonexistent/profile.json";
  EXPECT_EQ(error_of([&] { ModelMonitor m(options, metrics, Context{}); }), ErrorCode::kNotFound);
  options.reference_profile.clear();
  options.prediction_log = "/proc/no/such/dir/log.db";
  EXPECT_NE(error_of([&] { ModelMonitor m(options, metrics, Context{}); }), ErrorCode::kInternal);
}

}  // namespace
}  // namespace faceage::serve
