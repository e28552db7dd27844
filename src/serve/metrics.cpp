#include "faceage/serve/metrics.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <sstream>

#include "faceage/core/check.hpp"

namespace faceage::serve {

namespace {
void atomic_add(std::atomic<double>& target, double by) {
  double current = target.load(std::memory_order_relaxed);
  while (!target.compare_exchange_weak(current, current + by, std::memory_order_relaxed)) {
  }
}

std::string render_labels(const Labels& labels, const std::string& extra_key = {}, const std::string& extra_value = {}) {
  if (labels.empty() && extra_key.empty()) return {};
  std::string out = "{";
  bool first = true;
  for (const auto& [key, value] : labels) {
    if (!first) out += ',';
    first = false;
    out += key + "=\"" + escape_label_value(value) + "\"";
  }
  if (!extra_key.empty()) {
    if (!first) out += ',';
    out += extra_key + "=\"" + extra_value + "\"";
  }
  return out + "}";
}

std::string escape_help(const std::string& help) {
  std::string out;
  for (char c : help) {
    if (c == '\\') out += "\\\\";
    else if (c == '\n') out += "\\n";
    else out += c;
  }
  return out;
}
}  // namespace

void Counter::inc(double by) {
  FACEAGE_CHECK(by >= 0, ErrorCode::kInvalidArgument, "a counter can only increase, got " << by);
  atomic_add(value_, by);
}

void Gauge::inc(double by) { atomic_add(value_, by); }

Histogram::Histogram(std::vector<double> bounds) : bounds_(std::move(bounds)) {
  for (std::size_t i = 1; i < bounds_.size(); ++i) {
    FACEAGE_CHECK(bounds_[i] > bounds_[i - 1], ErrorCode::kInvalidArgument,
                  "histogram bucket bounds must increase strictly; bound " << i << " is " << bounds_[i]
                                                                            << " after " << bounds_[i - 1]);
  }
  buckets_ = std::make_unique<std::atomic<std::uint64_t>[]>(bounds_.size() + 1);
  for (std::size_t i = 0; i <= bounds_.size(); ++i) buckets_[i].store(0);
}

void Histogram::observe(double value) {
  // First bucket whose upper bound is >= value ("le" is inclusive).
  const auto index = static_cast<std::size_t>(std::lower_bound(bounds_.begin(), bounds_.end(), value) - bounds_.begin());
  buckets_[index].fetch_add(1, std::memory_order_relaxed);
  atomic_add(sum_, value);
  count_.fetch_add(1, std::memory_order_relaxed);
}

Histogram::Snapshot Histogram::snapshot() const {
  Snapshot s;
  s.bounds = bounds_;
  std::uint64_t running = 0;
  for (std::size_t i = 0; i <= bounds_.size(); ++i) {
    running += buckets_[i].load(std::memory_order_relaxed);
    s.cumulative.push_back(running);
  }
  // The +Inf bucket and _count must agree even while observations race with the snapshot.
  s.count = running;
  s.sum = sum_.load(std::memory_order_relaxed);
  return s;
}

std::vector<double> exponential_buckets(double start, double factor, int count) {
  FACEAGE_CHECK(start > 0 && factor > 1 && count >= 1, ErrorCode::kInvalidArgument,
                "exponential buckets need start > 0, factor > 1, count >= 1");
  std::vector<double> out;
  for (int i = 0; i < count; ++i, start *= factor) out.push_back(start);
  return out;
}

std::vector<double> linear_buckets(double start, double width, int count) {
  FACEAGE_CHECK(width > 0 && count >= 1, ErrorCode::kInvalidArgument, "linear buckets need width > 0, count >= 1");
  std::vector<double> out;
  for (int i = 0; i < count; ++i) out.push_back(start + width * i);
  return out;
}

MetricsRegistry::Family& MetricsRegistry::family(const std::string& name, const std::string& help, Type type) {
  for (auto& f : families_) {
    if (f->name == name) {
      FACEAGE_ENSURE(f->type == type, "metric '" << name << "' registered with two types");
      return *f;
    }
  }
  families_.push_back(std::make_unique<Family>(Family{name, help, type, {}}));
  return *families_.back();
}

Counter& MetricsRegistry::counter(const std::string& name, const std::string& help, const Labels& labels) {
  std::lock_guard<std::mutex> lock(mutex_);
  auto& f = family(name, help, Type::kCounter);
  auto it = f.index.find(labels);
  if (it != f.index.end()) return counters_[it->second];
  counters_.emplace_back();
  f.index.emplace(labels, counters_.size() - 1);
  return counters_.back();
}

Gauge& MetricsRegistry::gauge(const std::string& name, const std::string& help, const Labels& labels) {
  std::lock_guard<std::mutex> lock(mutex_);
  auto& f = family(name, help, Type::kGauge);
  auto it = f.index.find(labels);
  if (it != f.index.end()) return gauges_[it->second];
  gauges_.emplace_back();
  f.index.emplace(labels, gauges_.size() - 1);
  return gauges_.back();
}

Histogram& MetricsRegistry::histogram(const std::string& name, const std::string& help,
                                      const std::vector<double>& bounds, const Labels& labels) {
  std::lock_guard<std::mutex> lock(mutex_);
  auto& f = family(name, help, Type::kHistogram);
  auto it = f.index.find(labels);
  if (it != f.index.end()) return histograms_[it->second];
  histograms_.emplace_back(bounds);
  f.index.emplace(labels, histograms_.size() - 1);
  return histograms_.back();
}

bool MetricsRegistry::has_gauge(const std::string& name, const Labels& labels) const {
  std::lock_guard<std::mutex> lock(mutex_);
  for (const auto& f : families_) {
    if (f->name == name && f->type == Type::kGauge) return f->index.count(labels) > 0;
  }
  return false;
}

void MetricsRegistry::clear_gauge(const std::string& name) {
  std::lock_guard<std::mutex> lock(mutex_);
  for (auto& f : families_) {
    if (f->name == name && f->type == Type::kGauge) f->index.clear();
  }
}

std::string MetricsRegistry::render() const {
  std::lock_guard<std::mutex> lock(mutex_);
  std::string out;
  out.reserve(4096);
  for (const auto& f : families_) {
    if (f->index.empty()) continue;
    static const char* type_names[] = {"counter", "gauge", "histogram"};
    out += "# HELP " + f->name + " " + escape_help(f->help) + "\n";
    out += "# TYPE " + f->name + " " + type_names[static_cast<int>(f->type)] + "\n";
    for (const auto& [labels, index] : f->index) {
      if (f->type == Type::kCounter) {
        out += f->name + render_labels(labels) + " " + format_metric_value(counters_[index].value()) + "\n";
      } else if (f->type == Type::kGauge) {
        out += f->name + render_labels(labels) + " " + format_metric_value(gauges_[index].value()) + "\n";
      } else {
        auto s = histograms_[index].snapshot();
        for (std::size_t i = 0; i < s.bounds.size(); ++i) {
          out += f->name + "_bucket" + render_labels(labels, "le", format_metric_value(s.bounds[i])) + " " +
                 std::to_string(s.cumulative[i]) + "\n";
        }
        out += f->name + "_bucket" + render_labels(labels, "le", "+Inf") + " " + std::to_string(s.count) + "\n";
        out += f->name + "_sum" + render_labels(labels) + " " + format_metric_value(s.sum) + "\n";
        out += f->name + "_count" + render_labels(labels) + " " + std::to_string(s.count) + "\n";
      }
    }
  }
  return out;
}

std::string escape_label_value(const std::string& value) {
  std::string out;
  out.reserve(value.size());
  for (char c : value) {
    if (c == '\\') out += "\\\\";
    else if (c == '"') out += "\\\"";
    else if (c == '\n') out += "\\n";
    else out += c;
  }
  return out;
}

std::string format_metric_value(double value) {
  if (std::isnan(value)) return "NaN";
  if (std::isinf(value)) return value > 0 ? "+Inf" : "-Inf";
  if (value == std::floor(value) && std::fabs(value) < 1e15) {
    char buffer[32];
    std::snprintf(buffer, sizeof buffer, "%.0f", value);
    return buffer;
  }
  char buffer[32];
  std::snprintf(buffer, sizeof buffer, "%.9g", value);
  return buffer;
}

}  // namespace faceage::serve
