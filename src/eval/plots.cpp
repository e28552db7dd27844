#include "faceage/eval/plots.hpp"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <map>
#include <sstream>

#include "eval/figure.hpp"
#include "faceage/core/check.hpp"
#include "faceage/core/fs.hpp"
#include "faceage/core/strings.hpp"

namespace faceage::eval {
namespace {

std::string fmt(const char* format, double v) {
  char buf[64];
  std::snprintf(buf, sizeof buf, format, v);
  return buf;
}

std::string thousands(std::int64_t n) {
  std::string s = std::to_string(n);
  for (int i = static_cast<int>(s.size()) - 3; i > (n < 0 ? 1 : 0); i -= 3) s.insert(static_cast<size_t>(i), ",");
  return s;
}

// Centre x (viewport fraction) of category i of n on a [-0.5, n-0.5] axis.
double category_pos(int i, int n) { return (static_cast<double>(i) + 0.5) / static_cast<double>(n); }

const int kSeriesColours[] = {kBlue, kOrange, kGreen, kRed, kPurple, kBrown, kPink, kGrey};

}  // namespace

TrainingLog parse_training_log(const std::string& text) {
  TrainingLog log;
  std::vector<nlohmann::ordered_json> rows;
  std::istringstream in(text);
  std::string line;
  bool has_epoch = false, has_step = false;
  while (std::getline(in, line)) {
    if (trim(line).empty()) continue;
    ++log.lines;
    // ordered_json keeps the keys in the order written, so series appear as the log lists them.
    nlohmann::ordered_json j = nlohmann::ordered_json::parse(line, nullptr, /*allow_exceptions=*/false);
    if (!j.is_object()) {
      ++log.bad_lines;
      continue;
    }
    has_epoch = has_epoch || (j.contains("epoch") && j["epoch"].is_number());
    has_step = has_step || (j.contains("step") && j["step"].is_number());
    rows.push_back(std::move(j));
  }
  log.x_key = has_epoch ? "epoch" : has_step ? "step" : "line";
  std::map<std::string, size_t> index;
  for (size_t i = 0; i < rows.size(); ++i) {
    const nlohmann::ordered_json& j = rows[i];
    double x = static_cast<double>(i + 1);
    if (log.x_key != "line") {
      if (!j.contains(log.x_key) || !j[log.x_key].is_number()) continue;
      x = j[log.x_key].get<double>();
    }
    for (auto it = j.begin(); it != j.end(); ++it) {
      if (it.key() == log.x_key || !it.value().is_number() || it.value().is_boolean()) continue;
      const double y = it.value().get<double>();
      if (!std::isfinite(y)) continue;
      auto [pos, inserted] = index.emplace(it.key(), log.series.size());
      if (inserted) log.series.push_back(TrainingSeries{it.key(), {}, {}});
      log.series[pos->second].x.push_back(x);
      log.series[pos->second].y.push_back(y);
    }
  }
  return log;
}

TrainingLog read_training_log(const std::string& path) { return parse_training_log(read_file_text(path)); }

void plot_age_scatter(const std::vector<EvalRecord>& records, const std::string& png, const PlotOptions& options) {
  std::vector<const EvalRecord*> pts;
  pts.reserve(records.size());
  for (const auto& r : records) {
    if (std::isfinite(r.true_age) && std::isfinite(r.pred_age)) pts.push_back(&r);
  }
  const size_t total = pts.size();
  double lo = 0, hi = 10, abs_sum = 0;
  for (const auto* r : pts) {
    lo = std::min({lo, r->true_age, r->pred_age});
    hi = std::max({hi, r->true_age, r->pred_age});
    abs_sum += std::abs(r->pred_age - r->true_age);
  }
  lo = std::floor(lo / 10.0) * 10.0;
  hi = std::ceil(hi / 10.0) * 10.0;
  if (options.max_scatter_points > 0 && total > options.max_scatter_points) {
    // An even subsample keeps the picture (and the file) bounded; statistics use every point.
    const size_t stride = (total + options.max_scatter_points - 1) / options.max_scatter_points;
    std::vector<const EvalRecord*> sub;
    for (size_t i = 0; i < total; i += stride) sub.push_back(pts[i]);
    pts.swap(sub);
  }

  Figure fig(png, options.width, options.height);
  plstream& p = fig.pls();
  Axes a;
  a.xmin = lo, a.xmax = hi, a.ymin = lo, a.ymax = hi;
  a.xlabel = "True age (years)";
  a.ylabel = "Predicted age (years)";
  a.title = "Predicted vs true age   (n = " + thousands(static_cast<std::int64_t>(total)) +
            (total ? ", MAE " + fmt("%.2f", abs_sum / static_cast<double>(total)) : std::string()) + ")";
  fig.axes(0.1, 0.96, 0.1, 0.92, a);

  // Markers are small filled octagons sized in pixels; alpha falls as the cloud gets denser.
  const size_t n = pts.size();
  const double r_px = n <= 2000 ? 3.5 : n <= 20000 ? 2.6 : 2.0;
  const double alpha = n <= 2000 ? 0.6 : n <= 20000 ? 0.28 : 0.18;
  const double rx = r_px * (hi - lo) / fig.viewport_px_x();
  const double ry = r_px * (hi - lo) / fig.viewport_px_y();
  p.scol0a(kScratch, 31, 119, 180, alpha);
  p.col0(kScratch);
  double ox[8], oy[8];
  for (int k = 0; k < 8; ++k) {
    ox[k] = std::cos(k * M_PI / 4.0);
    oy[k] = std::sin(k * M_PI / 4.0);
  }
  PLFLT px[8], py[8];
  for (const auto* r : pts) {
    for (int k = 0; k < 8; ++k) {
      px[k] = r->true_age + rx * ox[k];
      py[k] = r->pred_age + ry * oy[k];
    }
    p.fill(8, px, py);
  }

  fig.polyline({lo, hi - 10}, {lo + 10, hi}, kGrey, 1.2, 3);
  fig.polyline({lo + 10, hi}, {lo, hi - 10}, kGrey, 1.2, 3);
  fig.polyline({lo, hi}, {lo, hi}, kRed, 2.0, 2);

  // Mean prediction per whole year of true age (years with at least 3 records).
  std::map<long, std::pair<double, int>> per_year;
  for (const auto& r : records) {
    if (!std::isfinite(r.true_age) || !std::isfinite(r.pred_age)) continue;
    auto& acc = per_year[std::lround(r.true_age)];
    acc.first += r.pred_age;
    acc.second += 1;
  }
  std::vector<double> mx, my;
  for (const auto& [year, acc] : per_year) {
    if (acc.second < 3) continue;
    mx.push_back(static_cast<double>(year));
    my.push_back(acc.first / acc.second);
  }
  fig.polyline(mx, my, kOrange, 2.5);
  fig.legend({{kRed, "y = x", true}, {kGrey, "+/- 10 years", true}, {kOrange, "mean prediction per year", true}});
  fig.finish();
}

void plot_band_errors(const EvalMetrics& m, const std::string& png, const PlotOptions& options) {
  FACEAGE_CHECK(m.by_band.size() == static_cast<size_t>(kNumAgeBands), ErrorCode::kInvalidArgument,
                "plot_band_errors: metrics have " << m.by_band.size() << " bands, expected " << kNumAgeBands);
  double ymax = 1, ymin = 0;
  for (const auto& b : m.by_band) {
    if (b.count == 0) continue;
    ymax = std::max({ymax, b.mae, b.bias});
    ymin = std::min(ymin, b.bias);
  }
  const double span = ymax - ymin;
  ymax += 0.32 * span;  // headroom for the value labels and the legend
  if (ymin < 0) ymin -= 0.08 * span;

  Figure fig(png, options.width, options.height);
  plstream& p = fig.pls();
  Axes a;
  a.xmin = -0.5, a.xmax = kNumAgeBands - 0.5, a.ymin = ymin, a.ymax = ymax;
  a.x_numbers = false;
  a.ylabel = "Years";
  a.title = "Age error by true age band";
  fig.axes(0.1, 0.96, 0.16, 0.92, a);
  p.schr(0, 1.05);
  p.col0(kText);
  p.mtex("b", 4.6, 0.5, 0.5, "True age band (n = records)");
  fig.polyline({a.xmin, a.xmax}, {0, 0}, kText, 1.0);

  const double w = 0.36;
  for (int i = 0; i < kNumAgeBands; ++i) {
    const GroupStats& b = m.by_band[static_cast<size_t>(i)];
    const double x = i;
    p.col0(kText);
    p.schr(0, 1.0);
    p.mtex("b", 1.3, category_pos(i, kNumAgeBands), 0.5, b.name.c_str());
    p.schr(0, 0.85);
    p.col0(kGrey);
    p.mtex("b", 2.8, category_pos(i, kNumAgeBands), 0.5, ("n=" + thousands(b.count)).c_str());
    if (b.count == 0) continue;
    p.col0(kBlue);
    fig.rect(x - w, 0, x, b.mae);
    p.col0(kOrange);
    fig.rect(x, 0, x + w, b.bias);
    p.col0(kText);
    p.schr(0, 0.8);
    const double pad = 0.015 * span;
    p.ptex(x - w / 2, b.mae + pad * 1.6, 1, 0, 0.5, fmt("%.1f", b.mae).c_str());
    const double by = b.bias >= 0 ? b.bias + pad * 1.6 : b.bias - pad * 2.4;
    p.ptex(x + w / 2, by, 1, 0, 0.5, fmt("%+.1f", b.bias).c_str());
  }
  p.schr(0, 1.0);
  fig.legend({{kBlue, "MAE"}, {kOrange, "bias (mean pred - true)"}});
  fig.finish();
}

void plot_confusion(const EvalMetrics& m, const std::string& png, const PlotOptions& options) {
  constexpr int n = kNumAgeBands;
  Figure fig(png, options.width, options.height);
  plstream& p = fig.pls();
  // White -> light blue -> dark blue by row share.
  const PLFLT pos[3] = {0.0, 0.35, 1.0};
  const PLFLT r[3] = {1.0, 0.62, 0.03};
  const PLFLT g[3] = {1.0, 0.79, 0.19};
  const PLFLT b[3] = {1.0, 0.88, 0.42};
  p.scmap1n(256);
  p.scmap1l(true, 3, pos, r, g, b, nullptr);

  Axes a;
  a.xmin = 0, a.xmax = n, a.ymin = 0, a.ymax = n;
  a.x_numbers = false;
  a.grid = false;
  a.y_numbers = false;
  a.title = "Age-group confusion (colour: share of the true band)";
  a.title_scale = 1.2;
  const double vy0 = 0.12, vy1 = 0.92;
  const double vh = (vy1 - vy0) * options.height;
  const double vw = vh / options.width;  // square cells
  const double vx0 = (1.0 - vw) / 2.0 + 0.02;  // centred, a little right for the row labels
  fig.axes(vx0, vx0 + vw, vy0, vy1, a);

  for (int t = 0; t < n; ++t) {
    std::int64_t row_total = 0;
    for (int c = 0; c < n; ++c) row_total += m.confusion[static_cast<size_t>(t)][static_cast<size_t>(c)];
    const double y0 = n - 1 - t;  // the first band on top
    for (int c = 0; c < n; ++c) {
      const std::int64_t count = m.confusion[static_cast<size_t>(t)][static_cast<size_t>(c)];
      const double share = row_total > 0 ? static_cast<double>(count) / static_cast<double>(row_total) : 0.0;
      p.col1(share);
      fig.rect(c, y0, c + 1, y0 + 1);
      if (count == 0) continue;
      p.col0(share > 0.5 ? kWhite : kText);
      p.schr(0, count >= 10000 ? 0.8 : 0.95);
      p.ptex(c + 0.5, y0 + 0.58, 1, 0, 0.5, thousands(count).c_str());
      p.schr(0, 0.7);
      p.ptex(c + 0.5, y0 + 0.24, 1, 0, 0.5, fmt("%.0f%%", 100.0 * share).c_str());
    }
  }
  // Cell borders and the diagonal outline.
  p.col0(kWhite);
  for (int i = 1; i < n; ++i) {
    fig.polyline({0.0, static_cast<double>(n)}, {double(i), double(i)}, kWhite, 1.0);
    fig.polyline({double(i), double(i)}, {0.0, static_cast<double>(n)}, kWhite, 1.0);
  }
  p.col0(kText);
  p.box("bc", 0, 0, "bc", 0, 0);
  p.schr(0, 0.95);
  for (int i = 0; i < n; ++i) {
    p.mtex("b", 1.3, category_pos(i, n), 0.5, age_band_label(i).c_str());
    p.mtex("lv", 0.8, 1.0 - category_pos(i, n), 1.0, age_band_label(i).c_str());
  }
  p.schr(0, 1.05);
  p.mtex("b", 3.0, 0.5, 0.5, "Predicted age band");
  p.mtex("l", 5.6, 0.5, 0.5, "True age band");

  // Row totals to the right of the matrix.
  p.schr(0, 0.85);
  p.col0(kGrey);
  for (int t = 0; t < n; ++t) {
    std::int64_t row_total = 0;
    for (int c = 0; c < n; ++c) row_total += m.confusion[static_cast<size_t>(t)][static_cast<size_t>(c)];
    p.mtex("rv", 0.8, 1.0 - category_pos(t, n), 0.0, ("n=" + thousands(row_total)).c_str());
  }
  fig.finish();
}

void plot_training_curves(const TrainingLog& log, const std::string& png, const PlotOptions& options) {
  FACEAGE_CHECK(!log.series.empty(), ErrorCode::kInvalidArgument,
                "training log has no numeric series (expected keys like epoch, train_loss, val_mae)");
  struct Panel {
    std::string title, ylabel;
    bool log_y = false;
    std::vector<const TrainingSeries*> series;
  };
  std::vector<Panel> panels = {{"Loss", "loss", false, {}},
                               {"Age error", "years", false, {}},
                               {"Accuracy", "fraction", false, {}},
                               {"Learning rate", "lr", true, {}},
                               {"Other", "value", false, {}}};
  for (const auto& s : log.series) {
    const std::string k = to_lower(s.name);
    size_t group = 4;
    if (k.find("loss") != std::string::npos) group = 0;
    else if (k.find("mae") != std::string::npos || k.find("rmse") != std::string::npos) group = 1;
    else if (k.find("acc") != std::string::npos || k.find("auc") != std::string::npos) group = 2;
    else if (k == "lr" || starts_with(k, "lr_") || k.find("learning_rate") != std::string::npos) group = 3;
    panels[group].series.push_back(&s);
  }
  panels.erase(std::remove_if(panels.begin(), panels.end(), [](const Panel& p) { return p.series.empty(); }),
               panels.end());
  const int k = static_cast<int>(panels.size());
  const int cols = k <= 2 ? 1 : k <= 4 ? 2 : 3;
  const int rows = (k + cols - 1) / cols;

  Figure fig(png, options.width, options.height);
  plstream& p = fig.pls();
  const double title_h = 0.07;
  p.vpor(0, 1, 0, 1);
  p.wind(0, 1, 0, 1);
  p.col0(kText);
  p.schr(0, 1.3);
  p.ptex(0.5, 1.0 - title_h * 0.55, 1, 0, 0.5, ("Training curves (x: " + log.x_key + ")").c_str());
  p.schr(0, 1.0);
  const double cell_w = 1.0 / cols, cell_h = (1.0 - title_h) / rows;
  for (int i = 0; i < k; ++i) {
    Panel& panel = panels[static_cast<size_t>(i)];
    const int c = i % cols, r = i / cols;
    double xmin = INFINITY, xmax = -INFINITY, ymin = INFINITY, ymax = -INFINITY;
    bool log_y = panel.log_y;
    for (const auto* s : panel.series) {
      for (size_t j = 0; j < s->x.size(); ++j) {
        xmin = std::min(xmin, s->x[j]);
        xmax = std::max(xmax, s->x[j]);
        ymin = std::min(ymin, s->y[j]);
        ymax = std::max(ymax, s->y[j]);
      }
    }
    // A log axis only when every value is positive and they span more than a factor of 10.
    log_y = log_y && ymin > 0 && ymax / ymin > 10;
    if (log_y) {
      ymin = std::floor(std::log10(ymin));
      ymax = std::ceil(std::log10(ymax));
    } else {
      const double pad = ymax > ymin ? 0.08 * (ymax - ymin) : std::max(1e-3, std::abs(ymax) * 0.1);
      ymin -= pad;
      ymax += pad;
    }
    if (xmax <= xmin) {
      xmin -= 0.5;
      xmax += 0.5;
    }
    Axes a;
    a.xmin = xmin, a.xmax = xmax, a.ymin = ymin, a.ymax = ymax;
    a.xlabel = log.x_key;
    a.ylabel = panel.ylabel;
    a.title = panel.title;
    a.title_scale = 1.1;
    a.log_y = log_y;
    a.ylabel_disp = cols == 1 ? 0 : log_y ? 4.3 : 3.9;  // room for tick labels like "0.95"
    const double x0 = c * cell_w, y1 = 1.0 - title_h - r * cell_h;
    const double left = cols == 1 ? 0.1 : cols == 2 ? 0.19 : 0.24;
    fig.axes(x0 + cell_w * left, x0 + cell_w * 0.96, y1 - cell_h * (rows == 1 ? 0.86 : 0.76), y1 - cell_h * 0.1, a);
    std::vector<Figure::LegendEntry> legend;
    std::vector<std::vector<double>> ys;
    for (const TrainingSeries* s : panel.series) {
      ys.push_back(s->y);
      if (log_y) {
        for (double& v : ys.back()) v = std::log10(v);
      }
    }
    for (size_t j = 0; j < panel.series.size(); ++j) {
      const TrainingSeries* s = panel.series[j];
      const int colour = kSeriesColours[j % (sizeof kSeriesColours / sizeof kSeriesColours[0])];
      const std::vector<double>& y = ys[j];
      if (s->x.size() == 1) {
        p.col0(colour);
        p.schr(0, 1.0);
        p.ssym(0, 1.5);
        p.poin(1, s->x.data(), y.data(), 17);
      }
      fig.polyline(s->x, y, colour, 2.2);
      legend.push_back({colour, s->name, true});
    }
    std::vector<std::pair<const std::vector<double>*, const std::vector<double>*>> lines;
    for (size_t j = 0; j < panel.series.size(); ++j) lines.emplace_back(&panel.series[j]->x, &ys[j]);
    fig.legend(legend, fig.emptiest_corner(legend, lines));
  }
  fig.finish();
}

namespace {
// A reliability diagram: per bin, a bar at the observed rate and a tick at the mean predicted
// probability (they meet when calibrated); the x axis starts at 0.5 when the low bins are empty
// (a predicted class's confidence is never below one half).
struct ReliabilityLabels {
  std::string title, xlabel, ylabel, bar, tick;
};
void draw_reliability(const std::array<CalibrationBin, kNumCalibrationBins>& bins, const ReliabilityLabels& labels,
                      const std::string& png, const PlotOptions& options) {
  bool low_bins = false;
  for (int i = 0; i < kNumCalibrationBins / 2; ++i) low_bins = low_bins || bins[static_cast<size_t>(i)].count > 0;
  const double xmin = low_bins ? 0.0 : 0.5;

  Figure fig(png, options.width, options.height);
  plstream& p = fig.pls();
  Axes a;
  a.xmin = xmin, a.xmax = 1.0, a.ymin = 0.0, a.ymax = 1.25;  // room above 1 for the legend
  a.xlabel = labels.xlabel;
  a.ylabel = labels.ylabel;
  a.title = labels.title;
  a.title_scale = 1.2;
  fig.axes(0.1, 0.96, 0.1, 0.92, a);

  const double bw = 1.0 / kNumCalibrationBins;
  for (const CalibrationBin& b : bins) {
    if (b.count == 0 || b.hi <= xmin + 1e-9) continue;
    p.col0(kBlue);
    fig.rect(b.lo + bw * 0.06, 0, b.hi - bw * 0.06, b.accuracy);
    fig.polyline({b.lo + bw * 0.06, b.hi - bw * 0.06}, {b.mean_confidence, b.mean_confidence}, kOrange, 4.0);
    p.col0(kText);
    p.schr(0, 0.8);
    p.ptex((b.lo + b.hi) / 2, std::max(b.accuracy, b.mean_confidence) + 0.02, 1, 0, 0.5,
           ("n=" + thousands(b.count)).c_str());
  }
  p.schr(0, 1.0);
  fig.polyline({xmin, 1.0}, {xmin, 1.0}, kText, 1.5, 2);
  fig.legend({{kBlue, labels.bar}, {kOrange, labels.tick, true}, {kText, "perfect calibration", true}});
  fig.finish();
}
}  // namespace

void plot_reliability(const EvalMetrics& m, const std::string& png, const PlotOptions& options) {
  const GenderMetrics& g = m.gender;
  FACEAGE_CHECK(g.ece_count > 0, ErrorCode::kInvalidArgument,
                "plot_reliability: no records with a true gender and a gender probability");
  std::string title = "Gender calibration   ECE " + fmt("%.3f", g.ece);
  if (std::isfinite(g.accuracy)) title += ", accuracy " + fmt("%.1f%%", 100 * g.accuracy);
  if (std::isfinite(g.auc)) title += ", AUC " + fmt("%.3f", g.auc);
  draw_reliability(g.bins, {title, "Confidence of the predicted gender", "Fraction correct", "fraction correct",
                            "mean confidence in the bin"},
                   png, options);
}

void plot_minor_reliability(const EvalMetrics& m, const std::string& png, const PlotOptions& options) {
  FACEAGE_CHECK(m.minor.count > 0, ErrorCode::kInvalidArgument,
                "plot_minor_reliability: no records with a true age and a p_minor");
  draw_reliability(m.minor.bins, {"P(age < 18) calibration   ECE " + fmt("%.3f", m.minor.ece), "Predicted P(age < 18)",
                                  "Fraction under 18", "fraction under 18", "mean p_minor in the bin"},
                   png, options);
}

}  // namespace faceage::eval
