#include "faceage/monitor/drift_report.hpp"

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <numeric>
#include <sstream>

#include "faceage/core/fs.hpp"
#include "faceage/core/strings.hpp"
#include "faceage/monitor/drift_stats.hpp"

namespace faceage::monitor {
namespace {

std::string number(double v, int precision = 4) {
  std::ostringstream os;
  os.precision(precision);
  os << v;
  return os.str();
}

// Reference (gray) and live (orange) fractions per PSI bin, side by side.
std::string bars_svg(const FeatureDrift& f) {
  const std::size_t bins = f.reference_fractions.size();
  const double width = 260, height = 70, slot = width / static_cast<double>(std::max<std::size_t>(bins, 1));
  const double top = std::max(*std::max_element(f.reference_fractions.begin(), f.reference_fractions.end()),
                              *std::max_element(f.live_fractions.begin(), f.live_fractions.end()));
  std::ostringstream svg;
  svg << "<svg width=\"" << width << "\" height=\"" << height << "\" role=\"img\">";
  for (std::size_t i = 0; i < bins; ++i) {
    const std::string range = (i == 0 ? std::string("-inf") : number(f.cuts[i - 1])) + " .. " +
                              (i == bins - 1 ? std::string("inf") : number(f.cuts[i]));
    const double values[2] = {f.reference_fractions[i], f.live_fractions[i]};
    const char* colours[2] = {"#999", "#e8710a"};
    const char* names[2] = {"reference", "live"};
    for (int side = 0; side < 2; ++side) {
      const double h = top > 0 ? values[side] / top * (height - 4) : 0;
      svg << "<rect x=\"" << slot * static_cast<double>(i) + slot * (0.1 + 0.4 * side) << "\" y=\"" << height - h
          << "\" width=\"" << slot * 0.4 << "\" height=\"" << h << "\" fill=\"" << colours[side] << "\"><title>"
          << names[side] << " " << number(100 * values[side], 3) << "% in " << range << "</title></rect>";
    }
  }
  svg << "</svg>";
  return svg.str();
}

}  // namespace

DriftReport compare_to_reference(const ReferenceProfile& reference, const std::vector<LoggedFace>& live,
                                 const DriftThresholds& thresholds) {
  DriftReport report;
  report.thresholds = thresholds;
  report.window_faces = live.size();
  report.reference_source = reference.source;
  for (const auto& [name, values] : feature_values(live)) {
    const auto it = reference.features.find(name);
    if (it == reference.features.end() || values.empty()) continue;
    const FeatureProfile& ref = it->second;
    FeatureDrift f;
    f.feature = name;
    f.reference_count = ref.count;
    f.live_count = values.size();
    f.reference_mean = ref.mean;
    f.live_mean = std::accumulate(values.begin(), values.end(), 0.0) / static_cast<double>(values.size());
    f.cuts = ref.cuts;
    f.reference_fractions = ref.fractions;
    f.live_fractions = bin_fractions(ref.cuts, values);
    f.psi = population_stability_index(f.reference_fractions, f.live_fractions);
    // The reference's quantile summary stands in for its sample; the p-value uses its true size.
    f.ks_statistic = ks_statistic(values, ref.quantiles);
    f.ks_p_value = ks_p_value(f.ks_statistic, static_cast<double>(ref.count), static_cast<double>(values.size()));
    f.wasserstein = wasserstein_distance(values, ref.quantiles);
    // A constant reference feature has no spread to scale by: any shift is large.
    f.wasserstein_threshold = std::max(thresholds.wasserstein_stds * ref.std, 1e-9);
    f.psi_drift = f.psi >= thresholds.psi;
    f.ks_drift = f.ks_p_value < thresholds.ks_alpha;
    f.wasserstein_drift = f.wasserstein >= f.wasserstein_threshold;
    f.drift = f.ks_drift && (f.psi_drift || f.wasserstein_drift);
    report.features.push_back(std::move(f));
  }
  const bool any = std::any_of(report.features.begin(), report.features.end(), [](const FeatureDrift& f) { return f.drift; });
  if (live.size() < thresholds.min_faces) {
    report.note = "the window holds " + std::to_string(live.size()) + " faces, fewer than the " +
                  std::to_string(thresholds.min_faces) + " a verdict needs";
  } else if (report.features.empty()) {
    report.note = "no feature is known to both the reference and the window";
  } else {
    report.drift = any;
  }
  return report;
}

nlohmann::json to_json(const DriftReport& report) {
  nlohmann::json features = nlohmann::json::object();
  for (const auto& f : report.features) {
    features[f.feature] = {
        {"drift", f.drift},
        {"reference_count", f.reference_count},
        {"live_count", f.live_count},
        {"reference_mean", f.reference_mean},
        {"live_mean", f.live_mean},
        {"psi", {{"value", f.psi}, {"threshold", report.thresholds.psi}, {"drift", f.psi_drift}}},
        {"ks", {{"statistic", f.ks_statistic}, {"p_value", f.ks_p_value}, {"alpha", report.thresholds.ks_alpha},
                {"drift", f.ks_drift}}},
        {"wasserstein", {{"value", f.wasserstein}, {"threshold", f.wasserstein_threshold}, {"drift", f.wasserstein_drift}}},
        {"bins", {{"cuts", f.cuts}, {"reference", f.reference_fractions}, {"live", f.live_fractions}}},
    };
  }
  nlohmann::json j = {
      {"drift", report.drift},
      {"window", {{"since", report.since.empty() ? nlohmann::json() : nlohmann::json(report.since)},
                  {"until", report.until.empty() ? nlohmann::json() : nlohmann::json(report.until)},
                  {"requests", report.window_requests},
                  {"faces", report.window_faces}}},
      {"reference", report.reference_source},
      {"rule", "drift = ks.p_value < alpha and (psi >= threshold or wasserstein >= threshold)"},
      {"drifted_features", nlohmann::json::array()},
      {"features", features},
  };
  for (const auto& f : report.features)
    if (f.drift) j["drifted_features"].push_back(f.feature);
  if (!report.note.empty()) j["note"] = report.note;
  if (report.feedback) j["feedback"] = to_json(*report.feedback);
  return j;
}

std::string drift_report_html(const DriftReport& report) {
  std::ostringstream html;
  html << "<!doctype html>\n<html><head><meta charset=\"utf-8\"><title>faceage drift report</title>\n"
       << "<style>body{font-family:sans-serif;margin:2em}table{border-collapse:collapse}"
       << "td,th{border:1px solid #ccc;padding:4px 8px;text-align:right}td:first-child{text-align:left}"
       << ".drift{background:#fdd}.ok{background:#dfd}</style></head><body>\n"
       << "<h1>Drift: " << (report.drift ? "<span class=\"drift\">detected</span>" : "<span class=\"ok\">none</span>")
       << "</h1>\n<p>Window " << html_escape(report.since.empty() ? "(start)" : report.since) << " to "
       << html_escape(report.until.empty() ? "(end)" : report.until) << ": " << report.window_requests
       << " requests, " << report.window_faces << " faces. Reference: " << html_escape(report.reference_source)
       << ".</p>\n";
  if (!report.note.empty()) html << "<p><b>" << html_escape(report.note) << "</b></p>\n";
  html << "<p>A feature drifts when KS p &lt; " << report.thresholds.ks_alpha << " and (PSI &ge; "
       << report.thresholds.psi << " or Wasserstein &ge; " << report.thresholds.wasserstein_stds
       << " reference standard deviations). Bars: reference (gray) and live (orange) fractions per "
          "reference bin.</p>\n<table><tr><th>feature</th><th>verdict</th><th>faces</th><th>mean ref / live</th>"
          "<th>PSI</th><th>KS D</th><th>KS p</th><th>Wasserstein (threshold)</th><th>bins</th></tr>\n";
  for (const auto& f : report.features) {
    html << "<tr class=\"" << (f.drift ? "drift" : "ok") << "\"><td>" << html_escape(f.feature) << "</td><td>"
         << (f.drift ? "drift" : "ok") << "</td><td>" << f.live_count << "</td><td>" << number(f.reference_mean)
         << " / " << number(f.live_mean) << "</td><td>" << number(f.psi) << "</td><td>" << number(f.ks_statistic)
         << "</td><td>" << number(f.ks_p_value, 3) << "</td><td>" << number(f.wasserstein) << " ("
         << number(f.wasserstein_threshold) << ")</td><td>" << bars_svg(f) << "</td></tr>\n";
  }
  html << "</table>\n";
  if (report.feedback) {
    const auto& fb = *report.feedback;
    html << "<h2>Feedback</h2>\n<p>" << fb.count << " faces with true labels: MAE " << number(fb.mae)
         << " years; gender accuracy " << number(fb.gender_accuracy) << " over " << fb.gender_count
         << " faces.</p>\n<table><tr><th>true age</th><th>faces</th><th>MAE</th></tr>\n";
    for (const auto& band : fb.by_band) {
      if (band.count == 0) continue;
      html << "<tr><td>" << html_escape(band.label) << "</td><td>" << band.count << "</td><td>" << number(band.mae)
           << "</td></tr>\n";
    }
    html << "</table>\n";
  }
  html << "</body></html>\n";
  return html.str();
}

std::vector<std::string> write_drift_report(const DriftReport& report, const std::string& out_dir) {
  const std::string json_path = (std::filesystem::path(out_dir) / "drift.json").string();
  const std::string html_path = (std::filesystem::path(out_dir) / "drift.html").string();
  write_file_atomic(json_path, to_json(report).dump(2) + "\n");
  write_file_atomic(html_path, drift_report_html(report));
  return {json_path, html_path};
}

}  // namespace faceage::monitor
