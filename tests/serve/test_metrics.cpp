#include "faceage/serve/metrics.hpp"

#include <gtest/gtest.h>

#include <thread>

#include "faceage/core/error.hpp"

namespace faceage::serve {
namespace {

TEST(Metrics, RendersCounterGaugeAndHistogramInExpositionFormat) {
  MetricsRegistry registry;
  registry.counter("req_total", "Requests", {{"route", "/a"}, {"status", "200"}}).inc();
  registry.counter("req_total", "Requests", {{"route", "/a"}, {"status", "200"}}).inc(2);
  registry.gauge("in_flight", "In flight").set(3);
  auto& h = registry.histogram("lat_seconds", "Latency", {0.1, 1.0});
  h.observe(0.05);
  h.observe(0.1);  // "le" is inclusive
  h.observe(0.5);
  h.observe(7);
  const std::string expected =
      "# HELP req_total Requests\n"
      "# TYPE req_total counter\n"
      "req_total{route=\"/a\",status=\"200\"} 3\n"
      "# HELP in_flight In flight\n"
      "# TYPE in_flight gauge\n"
      "in_flight 3\n"
      "# HELP lat_seconds Latency\n"
      "# TYPE lat_seconds histogram\n"
      "lat_seconds_bucket{le=\"0.1\"} 2\n"
      "lat_seconds_bucket{le=\"1\"} 3\n"
      "lat_seconds_bucket{le=\"+Inf\"} 4\n"
      "lat_seconds_sum 7.65\n"
      "lat_seconds_count 4\n";
  EXPECT_EQ(registry.render(), expected);
}

TEST(Metrics, EscapesLabelValuesAndFormatsSpecialValues) {
  EXPECT_EQ(escape_label_value("a\"b\\c\nd"), "a\\\"b\\\\c\\nd");
  EXPECT_EQ(format_metric_value(1.0 / 0.0), "+Inf");
  EXPECT_EQ(format_metric_value(-1.0 / 0.0), "-Inf");
  EXPECT_EQ(format_metric_value(0.0 / 0.0), "NaN");
  EXPECT_EQ(format_metric_value(42), "42");
  EXPECT_EQ(format_metric_value(0.25), "0.25");
}

TEST(Metrics, SameNameWithAnotherTypeIsABug) {
  MetricsRegistry registry;
  registry.counter("x", "x");
  EXPECT_THROW(registry.gauge("x", "x"), Error);
}

TEST(Metrics, HistogramRejectsUnsortedBoundsAndCountersOnlyGrow) {
  EXPECT_THROW(Histogram({1.0, 1.0}), Error);
  Counter c;
  EXPECT_THROW(c.inc(-1), Error);
}

TEST(Metrics, BucketHelpers) {
  EXPECT_EQ(exponential_buckets(1, 2, 4), (std::vector<double>{1, 2, 4, 8}));
  EXPECT_EQ(linear_buckets(5, 5, 3), (std::vector<double>{5, 10, 15}));
}

TEST(Metrics, ConcurrentUpdatesAreNotLost) {
  MetricsRegistry registry;
  auto& counter = registry.counter("c", "c");
  auto& histogram = registry.histogram("h", "h", {0.5});
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 10000; ++i) {
        counter.inc();
        histogram.observe(1.0);
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(counter.value(), 40000);
  EXPECT_EQ(histogram.count(), 40000u);
  EXPECT_DOUBLE_EQ(histogram.sum(), 40000.0);
}

TEST(Metrics, ClearedGaugeFamilyDisappearsFromOutput) {
  MetricsRegistry registry;
  registry.gauge("model_info", "info", {{"version", "a"}}).set(1);
  registry.clear_gauge("model_info");
  registry.gauge("model_info", "info", {{"version", "b"}}).set(1);
  const auto text = registry.render();
  EXPECT_EQ(text.find("version=\"a\""), std::string::npos);
  EXPECT_NE(text.find("model_info{version=\"b\"} 1"), std::string::npos);
}

}  // namespace
}  // namespace faceage::serve
