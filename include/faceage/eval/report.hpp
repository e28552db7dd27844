#pragma once
// An evaluation report directory:
//   metrics.json      to_json(metrics) plus "source" (what was scored) and "report" (files, warnings)
//   predictions.csv   one row per record with its errors
//   index.html        a self-contained page (inline CSS, no external assets) linking the PNGs below
//   scatter.png, band_errors.png, confusion.png, training_curves.png (with a training log),
//   reliability.png (with gender probabilities), worst.png (when any image could be read)
// A plot that cannot be drawn (no data for it, unreadable training log) becomes a warning in the
// result and on the page; the other files are still written.
#include <nlohmann/json.hpp>

#include <string>
#include <vector>

#include "faceage/eval/metrics.hpp"
#include "faceage/eval/plots.hpp"

namespace faceage::eval {

struct ReportOptions {
  std::string title = "faceage evaluation";
  std::string image_root;    // resolves relative EvalRecord.file for the worst grid (the manifest's base_dir)
  std::string training_log;  // metrics.jsonl; "" for none
  int worst_count = 24;      // 0: no worst-predictions grid
  PlotOptions plot;
  nlohmann::json source = nlohmann::json::object();  // e.g. to_json(MatchReport) and the input paths
};

struct ReportResult {
  std::vector<std::string> files;     // names written inside dir
  std::vector<std::string> warnings;  // plots skipped and why
};

// Creates dir if needed. kIo when a file cannot be written.
ReportResult write_report(const EvalMetrics& metrics, const std::vector<EvalRecord>& records,
                          const ReportOptions& options, const std::string& dir);

// The per-record CSV: file,true_age,pred_age,error,abs_error,age_low,age_high,in_interval,
// true_gender,pred_gender,female_prob,gender_correct,race,true_band,pred_band
std::string records_csv(const std::vector<EvalRecord>& records);

}  // namespace faceage::eval
