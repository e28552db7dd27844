#include "faceage/tune/plot.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <limits>

#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include "faceage/core/check.hpp"
#include "faceage/core/fs.hpp"

namespace faceage::tune {
namespace {

const cv::Scalar kColors[] = {{180, 119, 31}, {14, 127, 255}, {44, 160, 44}, {40, 39, 214}, {189, 103, 148}, {75, 86, 140}};
const cv::Scalar kBlack(30, 30, 30), kGrey(200, 200, 200);

std::string tick_text(double v) {
  char buf[32];
  if (v != 0 && (std::abs(v) < 1e-3 || std::abs(v) >= 1e5)) std::snprintf(buf, sizeof(buf), "%.1e", v);
  else std::snprintf(buf, sizeof(buf), "%.4g", v);
  return buf;
}

void text(cv::Mat& img, const std::string& s, cv::Point at, double scale = 0.42, cv::Scalar color = kBlack) {
  cv::putText(img, s, at, cv::FONT_HERSHEY_SIMPLEX, scale, color, 1, cv::LINE_AA);
}

// Axes inside `area` for data ranges; maps data to pixels.
struct Axes {
  cv::Rect area;
  double x0, x1, y0, y1;
  bool log_y;
  cv::Point map(double x, double y) const {
    if (log_y) y = std::log10(y);
    const double fx = x1 > x0 ? (x - x0) / (x1 - x0) : 0.5, fy = y1 > y0 ? (y - y0) / (y1 - y0) : 0.5;
    return {area.x + static_cast<int>(std::lround(fx * area.width)),
            area.y + area.height - static_cast<int>(std::lround(fy * area.height))};
  }
  void draw(cv::Mat& img, const std::string& xl, const std::string& yl, int ticks = 5) const {
    cv::rectangle(img, area, kBlack, 1);
    for (int i = 0; i <= ticks; ++i) {
      const double fx = static_cast<double>(i) / ticks;
      const int px = area.x + static_cast<int>(fx * area.width), py = area.y + area.height - static_cast<int>(fx * area.height);
      cv::line(img, {px, area.y}, {px, area.y + area.height}, kGrey, 1);
      cv::line(img, {area.x, py}, {area.x + area.width, py}, kGrey, 1);
      text(img, tick_text(x0 + fx * (x1 - x0)), {px - 14, area.y + area.height + 16}, 0.36);
      const double yv = y0 + fx * (y1 - y0);
      text(img, log_y ? "1e" + tick_text(yv) : tick_text(yv), {area.x - 62, py + 4}, 0.36);
    }
    cv::rectangle(img, area, kBlack, 1);
    text(img, xl, {area.x + area.width / 2 - 4 * static_cast<int>(xl.size()), area.y + area.height + 34}, 0.45);
    text(img, yl, {std::max(2, area.x - 62), area.y - 8}, 0.45);
  }
};

void save_png(const std::string& png, const cv::Mat& img) {
  std::vector<std::uint8_t> bytes;
  FACEAGE_CHECK(cv::imencode(".png", img, bytes), ErrorCode::kIo, "could not encode " << png);
  write_file_atomic(png, bytes);
}

void pad_range(double& lo, double& hi) {
  if (!(hi > lo)) {
    lo -= 0.5;
    hi += 0.5;
  } else {
    const double m = 0.04 * (hi - lo);
    lo -= m;
    hi += m;
  }
}

}  // namespace

void write_line_plot(const std::string& png, const std::vector<PlotSeries>& series, const PlotOptions& o) {
  cv::Mat img(o.height, o.width, CV_8UC3, cv::Scalar(255, 255, 255));
  double x0 = std::numeric_limits<double>::infinity(), x1 = -x0, y0 = x0, y1 = -x0;
  auto ok = [&](double y) { return std::isfinite(y) && (!o.log_y || y > 0); };
  auto ty = [&](double y) { return o.log_y ? std::log10(y) : y; };
  for (const auto& s : series)
    for (std::size_t i = 0; i < s.x.size() && i < s.y.size(); ++i)
      if (ok(s.y[i]) && std::isfinite(s.x[i])) {
        x0 = std::min(x0, s.x[i]), x1 = std::max(x1, s.x[i]);
        y0 = std::min(y0, ty(s.y[i])), y1 = std::max(y1, ty(s.y[i]));
      }
  if (o.hline != 0.0 && ok(o.hline)) y0 = std::min(y0, ty(o.hline)), y1 = std::max(y1, ty(o.hline));
  if (!std::isfinite(x0)) x0 = 0, x1 = 1, y0 = 0, y1 = 1;
  pad_range(x0, x1);
  pad_range(y0, y1);
  Axes axes{cv::Rect(80, 50, o.width - 110, o.height - 110), x0, x1, y0, y1, o.log_y};
  text(img, o.title, {80, 28}, 0.6);
  axes.draw(img, o.x_label, o.y_label);
  if (o.hline != 0.0 && ok(o.hline)) {
    const int py = axes.map(x0, o.hline).y;
    for (int px = axes.area.x; px < axes.area.x + axes.area.width; px += 12)
      cv::line(img, {px, py}, {std::min(px + 6, axes.area.x + axes.area.width), py}, kBlack, 1);
  }
  for (std::size_t k = 0; k < series.size(); ++k) {
    const auto& s = series[k];
    const cv::Scalar color = kColors[k % 6];
    cv::Point prev(-1, -1);
    for (std::size_t i = 0; i < s.x.size() && i < s.y.size(); ++i) {
      if (!ok(s.y[i])) continue;
      const cv::Point p = axes.map(s.x[i], s.y[i]);
      if (s.points) cv::circle(img, p, 3, color, cv::FILLED, cv::LINE_AA);
      else if (prev.x >= 0) cv::line(img, prev, p, color, 2, cv::LINE_AA);
      prev = p;
    }
    const int ly = axes.area.y + 18 + 18 * static_cast<int>(k);
    const int lx = axes.area.x + axes.area.width - 260;
    if (s.points) cv::circle(img, {lx + 10, ly - 4}, 3, color, cv::FILLED, cv::LINE_AA);
    else cv::line(img, {lx, ly - 4}, {lx + 20, ly - 4}, color, 2, cv::LINE_AA);
    text(img, s.label, {lx + 26, ly});
  }
  save_png(png, img);
}

void write_slice_plot(const std::string& png, const SearchSpace& space, const std::vector<ParamSet>& params,
                      const std::vector<double>& values, int best, const std::string& metric) {
  const int n = std::max<int>(1, static_cast<int>(space.size()));
  const int cols = std::min(3, n), rows = (n + cols - 1) / cols;
  const int pw = 360, ph = 260;
  cv::Mat img(rows * ph + 20, cols * pw, CV_8UC3, cv::Scalar(255, 255, 255));
  double y0 = std::numeric_limits<double>::infinity(), y1 = -y0;
  for (double v : values)
    if (std::isfinite(v)) y0 = std::min(y0, v), y1 = std::max(y1, v);
  if (!std::isfinite(y0)) y0 = 0, y1 = 1;
  pad_range(y0, y1);
  for (std::size_t i = 0; i < space.size(); ++i) {
    const auto& p = space.params()[i];
    const int cx = static_cast<int>(i) % cols * pw, cy = static_cast<int>(i) / cols * ph + 20;
    auto xval = [&](const ParamValue& v) -> double {
      if (p.type == ParamType::kCategorical) {
        const auto& s = std::get<std::string>(v);
        return static_cast<double>(std::find(p.choices.begin(), p.choices.end(), s) - p.choices.begin());
      }
      const double x = p.type == ParamType::kFloat ? std::get<double>(v) : static_cast<double>(std::get<std::int64_t>(v));
      return p.log ? std::log10(x) : x;
    };
    double x0 = p.type == ParamType::kCategorical ? 0 : (p.log ? std::log10(p.low) : p.low);
    double x1 = p.type == ParamType::kCategorical ? static_cast<double>(p.choices.size() - 1) : (p.log ? std::log10(p.high) : p.high);
    pad_range(x0, x1);
    Axes axes{cv::Rect(cx + 70, cy + 20, pw - 95, ph - 75), x0, x1, y0, y1, false};
    axes.draw(img, p.key + (p.log ? " (log10)" : ""), metric, p.type == ParamType::kCategorical ? 1 : 4);
    if (p.type == ParamType::kCategorical) {
      for (std::size_t c = 0; c < p.choices.size(); ++c)
        text(img, p.choices[c], {axes.map(static_cast<double>(c), y0).x - 12, axes.area.y + axes.area.height - 6}, 0.36,
             kColors[0]);
    }
    for (std::size_t t = 0; t < params.size() && t < values.size(); ++t) {
      if (!std::isfinite(values[t])) continue;
      const auto pt = axes.map(xval(params[t][i]), values[t]);
      cv::circle(img, pt, static_cast<int>(t) == best ? 6 : 3, static_cast<int>(t) == best ? kColors[3] : kColors[0],
                 cv::FILLED, cv::LINE_AA);
    }
  }
  text(img, "slice plot: " + metric + " per parameter (red: best trial)", {10, 16}, 0.5);
  save_png(png, img);
}

}  // namespace faceage::tune
