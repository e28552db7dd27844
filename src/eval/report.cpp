#include "faceage/eval/report.hpp"

#include <cmath>
#include <cstdio>
#include <filesystem>
#include <sstream>

#include "faceage/data/csv.hpp"
#include "faceage/core/error.hpp"
#include "faceage/core/fs.hpp"
#include "faceage/core/strings.hpp"
#include "eval/number_format.hpp"

namespace faceage::eval {
namespace {

std::string num(double v, const char* format = "%.2f") { return format_number(v, format, ""); }
std::string cell(double v, const char* format = "%.2f") {
  const std::string s = num(v, format);
  return s.empty() ? "&ndash;" : s;
}
std::string pct(double v) { return format_percent(v, "&ndash;"); }

const char* kStyle = R"(
body{font-family:system-ui,-apple-system,"Segoe UI",Roboto,"DejaVu Sans",sans-serif;margin:2rem auto;max-width:1100px;color:#222;padding:0 1rem}
h1{font-size:1.6rem;margin-bottom:.2rem}h2{font-size:1.2rem;margin-top:2rem;border-bottom:1px solid #ddd;padding-bottom:.3rem}
.sub{color:#666;margin-top:0}
table{border-collapse:collapse;margin:.5rem 0;font-size:.92rem}
th,td{padding:.25rem .7rem;border-bottom:1px solid #eee;text-align:right}
th:first-child,td:first-child{text-align:left}th{background:#f5f5f5}
.cards{display:flex;flex-wrap:wrap;gap:.8rem}.card{border:1px solid #e3e3e3;border-radius:8px;padding:.6rem 1rem;min-width:120px}
.card .v{font-size:1.4rem;font-weight:600}.card .k{color:#666;font-size:.85rem}
figure{margin:1rem 0}figure img{max-width:100%;border:1px solid #eee}figcaption{color:#555;font-size:.9rem}
.warn{background:#fff6e0;border:1px solid #f0d890;padding:.5rem 1rem;border-radius:6px}
code{background:#f3f3f3;padding:0 .2rem}
)";

void card(std::ostringstream& h, const std::string& key, const std::string& value) {
  h << "<div class=card><div class=v>" << value << "</div><div class=k>" << key << "</div></div>";
}

void group_table(std::ostringstream& h, const std::string& first, const std::vector<GroupStats>& groups,
                 const std::vector<IntervalMetrics>* intervals = nullptr) {
  h << "<table><tr><th>" << first << "</th><th>count</th><th>MAE</th><th>bias</th>";
  if (intervals) h << "<th>interval coverage</th><th>mean width</th>";
  h << "</tr>";
  for (size_t i = 0; i < groups.size(); ++i) {
    const GroupStats& g = groups[i];
    h << "<tr><td>" << html_escape(g.name) << "</td><td>" << g.count << "</td><td>" << cell(g.mae) << "</td><td>"
      << cell(g.bias, "%+.2f") << "</td>";
    if (intervals && i < intervals->size()) {
      h << "<td>" << pct((*intervals)[i].coverage) << "</td><td>" << cell((*intervals)[i].mean_width) << "</td>";
    }
    h << "</tr>";
  }
  h << "</table>";
}

}  // namespace

std::string records_csv(const std::vector<EvalRecord>& records) {
  std::string out =
      "file,true_age,pred_age,error,abs_error,age_low,age_high,in_interval,true_gender,pred_gender,female_prob,"
      "gender_correct,race,true_band,pred_band\n";
  out.reserve(out.size() + records.size() * 96);
  for (const EvalRecord& r : records) {
    const double err = r.pred_age - r.true_age;
    const bool has_interval = std::isfinite(r.age_low) && std::isfinite(r.age_high) && std::isfinite(r.true_age);
    const bool has_gender = !r.true_gender.empty() && !r.pred_gender.empty();
    out += data::csv_escape(r.file);
    for (const std::string& f :
         {num(r.true_age, "%.6g"), num(r.pred_age, "%.6g"), num(err, "%.6g"), num(std::abs(err), "%.6g"),
          num(r.age_low, "%.6g"), num(r.age_high, "%.6g"),
          has_interval ? std::string(r.age_low <= r.true_age && r.true_age <= r.age_high ? "1" : "0") : std::string(),
          r.true_gender, r.pred_gender, num(r.female_prob, "%.6g"),
          has_gender ? std::string(r.true_gender == r.pred_gender ? "1" : "0") : std::string(),
          r.race >= 0 ? std::to_string(r.race) : std::string(),
          std::isfinite(r.true_age) ? age_band_label(age_band_index(r.true_age)) : std::string(),
          std::isfinite(r.pred_age) ? age_band_label(age_band_index(r.pred_age)) : std::string()}) {
      out += ',';
      out += data::csv_escape(f);
    }
    out += '\n';
  }
  return out;
}

ReportResult write_report(const EvalMetrics& m, const std::vector<EvalRecord>& records, const ReportOptions& options,
                          const std::string& dir) {
  namespace fs = std::filesystem;
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec || !fs::is_directory(dir)) {
    throw Error(ErrorCode::kIo, "cannot create report directory " + dir + (ec ? ": " + ec.message() : ""),
                "choose a writable --report directory");
  }
  ReportResult result;
  auto path = [&](const std::string& name) { return (fs::path(dir) / name).string(); };

  struct Plot {
    std::string file, title, caption;
  };
  std::vector<Plot> plots;
  // Each plot is optional: a failure becomes a warning, the report goes on.
  auto attempt = [&](const std::string& file, const std::string& title, const std::string& caption, auto&& draw) {
    try {
      draw(path(file));
      plots.push_back({file, title, caption});
      result.files.push_back(file);
    } catch (const Error& e) {
      result.warnings.push_back(title + ": " + e.full_message());
    }
  };

  if (m.age.count > 0) {
    attempt("scatter.png", "Predicted vs true age",
            "Each dot is one face; the dashed red line is a perfect prediction, the orange line the mean prediction "
            "for each year of true age.",
            [&](const std::string& p) { plot_age_scatter(records, p, options.plot); });
    attempt("band_errors.png", "Error by age band",
            "MAE and bias (mean of predicted minus true age) for each true age band, with the number of records.",
            [&](const std::string& p) { plot_band_errors(m, p, options.plot); });
    attempt("confusion.png", "Age-group confusion",
            "Rows are true bands, columns predicted bands; cells show counts and the share of their row.",
            [&](const std::string& p) { plot_confusion(m, p, options.plot); });
  } else {
    result.warnings.push_back("no records with both a true and a predicted age: no age plots");
  }
  if (!options.training_log.empty()) {
    attempt("training_curves.png", "Training curves", "From " + options.training_log + ".",
            [&](const std::string& p) { plot_training_curves(read_training_log(options.training_log), p, options.plot); });
  }
  if (m.gender.ece_count > 0) {
    attempt("reliability.png", "Gender calibration",
            "Reliability diagram: for each confidence bin, the fraction of correct gender predictions; a calibrated "
            "model follows the diagonal.",
            [&](const std::string& p) { plot_reliability(m, p, options.plot); });
  }
  if (m.minor.count > 0) {
    attempt("minor_reliability.png", "P(age < 18) calibration",
            "Reliability diagram of p_minor: for each bin of predicted probability, the fraction truly under 18.",
            [&](const std::string& p) { plot_minor_reliability(m, p, options.plot); });
  }
  WorstGridResult worst;
  if (options.worst_count > 0 && m.age.count > 0) {
    try {
      WorstGridOptions wo;
      wo.count = options.worst_count;
      wo.image_root = options.image_root;
      worst = write_worst_grid(records, path("worst.png"), wo);
      if (worst.drawn > 0) {
        plots.push_back({"worst.png", "Largest errors",
                         "The " + std::to_string(worst.drawn) + " largest absolute errors, largest first" +
                             (worst.skipped ? " (" + std::to_string(worst.skipped) + " unreadable images skipped)" : "") +
                             "."});
        result.files.push_back("worst.png");
      } else {
        result.warnings.push_back("worst predictions: none of the " + std::to_string(worst.skipped) +
                                  " images tried could be read (image root '" + options.image_root +
                                  "'; first: " + worst.first_unreadable + ")");
      }
      if (worst.drawn > 0 && worst.skipped > 0) {
        result.warnings.push_back("worst predictions: " + std::to_string(worst.skipped) +
                                  " unreadable image(s) skipped (first: " + worst.first_unreadable + ")");
      }
    } catch (const Error& e) {
      result.warnings.push_back("worst predictions: " + e.full_message());
    }
  }

  write_file_atomic(path("predictions.csv"), records_csv(records));
  result.files.push_back("predictions.csv");

  nlohmann::json j = to_json(m);
  j["source"] = options.source;
  j["report"] = {{"files", result.files}, {"warnings", result.warnings}};
  write_file_atomic(path("metrics.json"), j.dump(2) + "\n");
  result.files.push_back("metrics.json");

  // index.html
  std::ostringstream h;
  h << "<!doctype html><html lang=en><head><meta charset=utf-8><title>" << html_escape(options.title)
    << "</title><style>" << kStyle << "</style></head><body>";
  h << "<h1>" << html_escape(options.title) << "</h1><p class=sub>" << m.age.count << " records scored";
  if (options.source.contains("predictions")) h << " from <code>" << html_escape(options.source["predictions"].get<std::string>()) << "</code>";
  h << ". Full numbers: <a href=metrics.json>metrics.json</a>, per record: <a href=predictions.csv>predictions.csv</a>.</p>";
  if (!result.warnings.empty()) {
    h << "<div class=warn><b>Warnings</b><ul>";
    for (const auto& w : result.warnings) h << "<li>" << html_escape(w) << "</li>";
    h << "</ul></div>";
  }
  h << "<h2>Summary</h2><div class=cards>";
  card(h, "MAE (years)", cell(m.age.mae));
  card(h, "RMSE", cell(m.age.rmse));
  card(h, "median abs. error", cell(m.age.median_ae));
  card(h, "bias (pred &minus; true)", cell(m.age.bias, "%+.2f"));
  card(h, "CS@5", pct(m.age.cs5));
  card(h, "false adult (&lt;18 &rarr; &ge;18)", pct(m.gate.false_adult_rate));
  card(h, "false minor (&ge;18 &rarr; &lt;18)", pct(m.gate.false_minor_rate));
  if (m.gender.count > 0) card(h, "gender accuracy", pct(m.gender.accuracy));
  if (std::isfinite(m.gender.auc)) card(h, "gender AUC", cell(m.gender.auc, "%.3f"));
  if (m.interval.count > 0) card(h, "interval coverage", pct(m.interval.coverage));
  h << "</div>";
  h << "<table><tr><th>metric</th><th>value</th><th>count</th></tr>"
    << "<tr><td>CS@1 / @3 / @5 / @10</td><td>" << pct(m.age.cs1) << " / " << pct(m.age.cs3) << " / " << pct(m.age.cs5)
    << " / " << pct(m.age.cs10) << "</td><td>" << m.age.count << "</td></tr>"
    << "<tr><td>false-adult rate</td><td>" << pct(m.gate.false_adult_rate) << "</td><td>" << m.gate.false_adult << " of "
    << m.gate.minors << " minors</td></tr>"
    << "<tr><td>false-minor rate</td><td>" << pct(m.gate.false_minor_rate) << "</td><td>" << m.gate.false_minor << " of "
    << m.gate.adults << " adults</td></tr>"
    << "<tr><td>gender accuracy</td><td>" << pct(m.gender.accuracy) << "</td><td>" << m.gender.count << "</td></tr>"
    << "<tr><td>gender ROC AUC</td><td>" << cell(m.gender.auc, "%.4f") << "</td><td>" << m.gender.auc_female
    << " female, " << m.gender.auc_male << " male</td></tr>"
    << "<tr><td>gender ECE (10 bins)</td><td>" << cell(m.gender.ece, "%.4f") << "</td><td>" << m.gender.ece_count
    << "</td></tr>"
    << "<tr><td>interval coverage / mean width</td><td>" << pct(m.interval.coverage) << " / "
    << cell(m.interval.mean_width) << "</td><td>" << m.interval.count << "</td></tr>";
  if (m.minor.count > 0) {
    h << "<tr><td>p_minor ECE (10 bins)</td><td>" << cell(m.minor.ece, "%.4f") << "</td><td>" << m.minor.count
      << "</td></tr>";
    for (size_t t = 0; t < kMinorThresholds.size(); ++t) {
      const GateMetrics& gate = m.minor.at_threshold[t];
      h << "<tr><td>p_minor &ge; " << cell(kMinorThresholds[t], "%.1f") << ": false adult / false minor</td><td>"
        << pct(gate.false_adult_rate) << " / " << pct(gate.false_minor_rate) << "</td><td>" << gate.minors
        << " minors, " << gate.adults << " adults</td></tr>";
    }
  }
  if (m.flagged.count + m.unflagged.count > 0) {
    h << "<tr><td>MAE unreliable / reliable faces</td><td>" << cell(m.flagged.mae) << " / " << cell(m.unflagged.mae)
      << "</td><td>" << m.flagged.count << " / " << m.unflagged.count << "</td></tr>";
  }
  h << "</table>";

  for (const Plot& p : plots) {
    h << "<h2>" << html_escape(p.title) << "</h2><figure><img src=\"" << p.file << "\" alt=\"" << html_escape(p.title)
      << "\"><figcaption>" << html_escape(p.caption) << "</figcaption></figure>";
  }

  h << "<h2>By age band</h2>";
  group_table(h, "true age", m.by_band, &m.interval_by_band);
  h << "<h2>By gender and race</h2>";
  group_table(h, "gender", m.by_gender);
  group_table(h, "race", m.by_race);
  if (!m.cells.empty()) {
    h << "<details><summary>Band &times; gender &times; race cells (" << m.cells.size()
      << ")</summary><table><tr><th>band</th><th>gender</th><th>race</th><th>count</th><th>MAE</th><th>bias</th></tr>";
    for (const CellStats& c : m.cells) {
      h << "<tr><td>" << age_band_label(c.band) << "</td><td>" << c.gender << "</td><td>" << race_label(c.race)
        << "</td><td>" << c.count << "</td><td>" << cell(c.mae) << "</td><td>" << cell(c.bias, "%+.2f") << "</td></tr>";
    }
    h << "</table></details>";
  }
  if (!options.source.empty()) {
    h << "<h2>Source</h2><pre>" << html_escape(options.source.dump(2)) << "</pre>";
  }
  h << "</body></html>\n";
  write_file_atomic(path("index.html"), h.str());
  result.files.push_back("index.html");
  return result;
}

}  // namespace faceage::eval
