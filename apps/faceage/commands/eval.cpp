// `faceage eval`: scores a predictions CSV (from faceage predict or another system) against a
// manifest and optionally writes a report folder. A thin shell over faceage::eval.
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <map>
#include <iostream>
#include <memory>

#include "commands/commands.hpp"
#include "faceage/core/check.hpp"
#include "faceage/core/error.hpp"
#include "faceage/core/fs.hpp"
#include "faceage/core/progress.hpp"
#include "faceage/core/strings.hpp"
#include "faceage/data/csv.hpp"
#include "faceage/data/manifest.hpp"
#include "faceage/infer/predictor.hpp"
#include "faceage/models/tensor_io.hpp"
#include "faceage/eval/report.hpp"
#include "faceage/eval/score.hpp"

namespace faceage::cli {
namespace {

std::string f2(double v, const char* format = "%.2f") {
  if (!std::isfinite(v)) return "-";
  char buf[48];
  std::snprintf(buf, sizeof buf, format, v);
  return buf;
}
// Runs the model(s) on the manifest's images (largest face of each, as a labelled crop holds one
// person) and writes a `faceage predict --format csv` file whose `file` column is the manifest's own
// relative path, so scoring matches rows exactly.
void predict_manifest(const std::vector<std::string>& models, const std::string& manifest_csv,
                      const std::string& split, std::optional<bool> flip_average, models::InferencePrecision precision,
                      const std::string& detector, const std::string& out_csv, const CliState& state) {
  const data::Manifest manifest = data::read_manifest(manifest_csv);
  std::vector<std::string> paths;
  std::map<std::string, std::string> file_of_path;
  for (const auto& row : manifest.rows) {
    if (!split.empty() && row.split != split) continue;
    const std::string path = data::resolved_path(manifest, row);
    if (file_of_path.emplace(path, row.file).second) paths.push_back(path);
  }
  FACEAGE_CHECK(!paths.empty(), ErrorCode::kInvalidArgument,
                manifest_csv + ": no rows" + (split.empty() ? std::string() : " in split '" + split + "'"));
  Context context = state.make_context();
  models::configure_runtime(context);
  infer::PredictorOptions options;
  options.model_paths = models;
  options.all_faces = false;
  options.flip_average = flip_average;
  options.precision = precision;
  options.detector = detector;
  infer::Predictor predictor(options, context);
  std::string text = data::csv_line(infer::prediction_csv_header());
  ProgressBar progress({.label = "eval", .total = static_cast<std::int64_t>(paths.size()),
                        .force = state.quiet ? 0 : -1, .unit = "img"});
  std::int64_t done = 0;
  predictor.predict_files(paths, [&](infer::ImagePrediction&& prediction) {
    for (auto row : infer::to_csv_rows(prediction)) {
      row[0] = file_of_path.at(prediction.source);
      text += data::csv_line(row);
    }
    progress.update(++done);
  });
  progress.finish();
  write_file_atomic(out_csv, text);
}

std::string pct(double v) { return std::isfinite(v) ? f2(100 * v, "%.1f") + "%" : "-"; }

void print_summary(const eval::ScoreResult& s, std::ostream& out) {
  const eval::MatchReport& m = s.match;
  const eval::EvalMetrics& e = s.metrics;
  out << "scored " << m.records.size() << " files (prediction files " << m.prediction_files << ", matched "
      << m.matched << ", by basename " << m.matched_by_basename << ")\n";
  out << "failed " << m.failed_files << ", unmatched predictions " << m.unmatched_predictions
      << ", manifest rows without prediction " << m.missing_predictions;
  if (m.ambiguous_basename) out << ", ambiguous basenames " << m.ambiguous_basename;
  if (m.duplicate_predictions) out << ", duplicates " << m.duplicate_predictions;
  if (m.outside_split) out << ", other split " << m.outside_split;
  out << "\n\n";
  char line[160];
  std::snprintf(line, sizeof line, "age       MAE %s  RMSE %s  median %s  bias %s  CS@5 %s  (n=%lld)\n",
                f2(e.age.mae).c_str(), f2(e.age.rmse).c_str(), f2(e.age.median_ae).c_str(),
                f2(e.age.bias, "%+.2f").c_str(), pct(e.age.cs5).c_str(), static_cast<long long>(e.age.count));
  out << line;
  std::snprintf(line, sizeof line, "gate 18   false adult %s (%lld/%lld)  false minor %s (%lld/%lld)\n",
                pct(e.gate.false_adult_rate).c_str(), static_cast<long long>(e.gate.false_adult),
                static_cast<long long>(e.gate.minors), pct(e.gate.false_minor_rate).c_str(),
                static_cast<long long>(e.gate.false_minor), static_cast<long long>(e.gate.adults));
  out << line;
  if (e.gender.count > 0 || e.gender.auc_count > 0) {
    std::snprintf(line, sizeof line, "gender    accuracy %s (n=%lld)  AUC %s  ECE %s\n", pct(e.gender.accuracy).c_str(),
                  static_cast<long long>(e.gender.count), f2(e.gender.auc, "%.3f").c_str(),
                  f2(e.gender.ece, "%.3f").c_str());
    out << line;
  }
  if (e.interval.count > 0) {
    std::snprintf(line, sizeof line, "interval  coverage %s  mean width %s (n=%lld)\n", pct(e.interval.coverage).c_str(),
                  f2(e.interval.mean_width).c_str(), static_cast<long long>(e.interval.count));
    out << line;
  }
  out << "\nband        n      MAE    bias\n";
  for (const auto& b : e.by_band) {
    std::snprintf(line, sizeof line, "%-7s %7lld  %7s %7s\n", b.name.c_str(), static_cast<long long>(b.count),
                  f2(b.mae).c_str(), f2(b.bias, "%+.2f").c_str());
    out << line;
  }
}

}  // namespace

void add_eval_command(CLI::App& app, CliState& state) {
  struct Flags {
    std::string predictions, data, report, training_log, split;
    std::vector<std::string> map, models;
    bool no_basename = false;
    FlipFlags flip;
    std::string precision = "float32";
    std::string detector;
    int worst = 24;
  };
  auto flags = std::make_shared<Flags>();
  auto* cmd = app.add_subcommand("eval", "score predictions against a manifest; write a report with plots");
  cmd->add_option("--predictions", flags->predictions,
                  "predictions CSV: faceage predict output or file,age[,gender] from any system");
  cmd->add_option("--data", flags->data, "manifest CSV with the true labels")->required();
  cmd->add_option("--report", flags->report, "folder for index.html, metrics.json, predictions.csv and plots");
  cmd->add_option("--map", flags->map, "predictions column names, key=column (e.g. age=pred_age,file=image)")
      ->delimiter(',');
  cmd->add_option("--split", flags->split, "score only manifest rows of this split (train, val, test)");
  cmd->add_option("--training-log", flags->training_log, "metrics.jsonl of the training run, plotted in the report");
  cmd->add_option("--worst", flags->worst, "thumbnails of the largest errors in the report (0: none)")
      ->check(CLI::Range(0, 200));
  cmd->add_flag("--no-basename", flags->no_basename, "match files by relative path only, never by file name");
  cmd->add_option("-m,--model", flags->models,
                  "run these bundle(s) on the manifest's images (several: an ensemble) instead of --predictions");
  add_flip_flags(cmd, flags->flip);
  // float32 by default: eval measures the model as trained, the same on every machine.
  cmd->add_option("--precision", flags->precision, "with --model: backbone precision (auto, float32, bfloat16)")
      ->capture_default_str();
  cmd->add_option("--detector", flags->detector, "with --model: face detector yunet, dlib-hog or none (default: the bundle's)");
  cmd->callback([flags, &state] {
    bool temp_predictions = false;
    if (!flags->models.empty()) {
      if (!flags->predictions.empty()) {
        throw Error(ErrorCode::kInvalidArgument, "give either --model or --predictions, not both",
                    "--model runs the bundle and scores its answers; --predictions scores a CSV made earlier");
      }
      // The answers are kept in the report folder; without one they go to a temp file removed after.
      temp_predictions = flags->report.empty();
      flags->predictions =
          temp_predictions
              ? temp_path_beside((std::filesystem::temp_directory_path() / "faceage-eval-predictions.csv").string())
              : flags->report + "/model_predictions.csv";
      if (!flags->report.empty()) std::filesystem::create_directories(flags->report);
      predict_manifest(flags->models, flags->data, flags->split, flags->flip.choice(),
                       models::parse_precision(flags->precision), flags->detector, flags->predictions, state);
    }
    if (flags->predictions.empty()) {
      throw Error(ErrorCode::kInvalidArgument, "faceage eval needs --predictions PRED.csv or --model BUNDLE",
                  "write one with faceage predict, or give any CSV with file and age columns");
    }
    eval::ScoreOptions options;
    for (const auto& m : flags->map) {
      if (!trim(m).empty()) options.columns.set(m);
    }
    options.match.split = flags->split;
    options.match.basename_fallback = !flags->no_basename;
    const eval::ScoreResult s = eval::score_predictions(flags->predictions, flags->data, options);
    if (temp_predictions) std::filesystem::remove(flags->predictions);
    if (s.match.records.empty()) {
      throw Error(ErrorCode::kInvalidArgument,
                  "no prediction could be scored: " + std::to_string(s.match.matched) + " of " +
                      std::to_string(s.match.prediction_files) + " prediction files matched the manifest, " +
                      std::to_string(s.match.failed_files) + " failed",
                  "the file column must hold paths relative to the manifest (or unique file names); check --split");
    }
    print_summary(s, std::cout);
    // A few examples; the full lists are in the report's metrics.json.
    for (std::size_t i = 0; i < s.match.failed.size() && i < 5; ++i) std::cerr << "failed: " << s.match.failed[i] << "\n";
    if (s.match.failed_files > 5) std::cerr << "failed: ... " << s.match.failed_files - 5 << " more\n";
    if (!flags->report.empty()) {
      eval::ReportOptions report;
      report.image_root = s.image_root;
      report.training_log = flags->training_log;
      report.worst_count = flags->worst;
      report.source = eval::to_json(s.match);
      report.source["predictions"] = flags->predictions;
      if (!flags->models.empty()) report.source["models"] = flags->models;
      report.source["manifest"] = flags->data;
      if (!flags->split.empty()) report.source["split"] = flags->split;
      const eval::ReportResult r = eval::write_report(s.metrics, s.match.records, report, flags->report);
      for (const auto& w : r.warnings) std::cerr << "warning: " << w << "\n";
      std::cout << "\nreport: " << flags->report << "/index.html\n";
    }
    state.exit_code = 0;
  });
}

}  // namespace faceage::cli
