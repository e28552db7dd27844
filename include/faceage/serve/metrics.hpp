#pragma once
// A small Prometheus registry and text-exposition writer (format 0.0.4): counters, gauges and
// histograms, each a family of label sets. Thread-safe; updating a metric is lock-free once it
// has been looked up (keep the returned reference). No Debian package offers a C++ client.
#include <atomic>
#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

namespace faceage::serve {

using Labels = std::vector<std::pair<std::string, std::string>>;

class Counter {
 public:
  void inc(double by = 1.0);
  double value() const { return value_.load(std::memory_order_relaxed); }

 private:
  std::atomic<double> value_{0.0};
};

class Gauge {
 public:
  void set(double value) { value_.store(value, std::memory_order_relaxed); }
  void inc(double by = 1.0);
  void dec(double by = 1.0) { inc(-by); }
  double value() const { return value_.load(std::memory_order_relaxed); }

 private:
  std::atomic<double> value_{0.0};
};

class Histogram {
 public:
  // Upper bounds, strictly increasing (kInvalidArgument otherwise); +Inf is implicit.
  explicit Histogram(std::vector<double> bounds);
  void observe(double value);
  struct Snapshot {
    std::vector<double> bounds;
    std::vector<std::uint64_t> cumulative;  // per bound, then +Inf (= count)
    double sum = 0;
    std::uint64_t count = 0;
  };
  Snapshot snapshot() const;
  std::uint64_t count() const { return count_.load(std::memory_order_relaxed); }
  double sum() const { return sum_.load(std::memory_order_relaxed); }

 private:
  std::vector<double> bounds_;
  std::unique_ptr<std::atomic<std::uint64_t>[]> buckets_;  // non-cumulative, bounds + 1
  std::atomic<std::uint64_t> count_{0};
  std::atomic<double> sum_{0.0};
};

// Bucket helpers.
std::vector<double> exponential_buckets(double start, double factor, int count);
std::vector<double> linear_buckets(double start, double width, int count);

class MetricsRegistry {
 public:
  // Returns the metric for (name, labels), creating it on first use. A name reused with another
  // type is kInternal. References stay valid for the registry's lifetime.
  Counter& counter(const std::string& name, const std::string& help, const Labels& labels = {});
  Gauge& gauge(const std::string& name, const std::string& help, const Labels& labels = {});
  Histogram& histogram(const std::string& name, const std::string& help, const std::vector<double>& bounds,
                       const Labels& labels = {});
  // Whether a gauge (name, labels) exists (without creating it).
  bool has_gauge(const std::string& name, const Labels& labels) const;
  // Removes every label set of a gauge family (e.g. the model-info gauge before a new model).
  void clear_gauge(const std::string& name);

  // Text exposition format: # HELP / # TYPE per family, families in registration order.
  std::string render() const;

 private:
  enum class Type { kCounter, kGauge, kHistogram };
  struct Family {
    std::string name, help;
    Type type;
    std::map<Labels, std::size_t> index;  // labels -> position in the type's storage
  };
  Family& family(const std::string& name, const std::string& help, Type type);

  mutable std::mutex mutex_;
  std::vector<std::unique_ptr<Family>> families_;
  std::deque<Counter> counters_;
  std::deque<Gauge> gauges_;
  std::deque<Histogram> histograms_;
};

// Escapes a label value for the exposition format (\\, \", \n).
std::string escape_label_value(const std::string& value);
// Formats a sample value: integers without a fraction, +Inf/-Inf/NaN spelled as Prometheus does.
std::string format_metric_value(double value);

}  // namespace faceage::serve
