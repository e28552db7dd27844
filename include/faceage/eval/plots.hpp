#pragma once
// The evaluation plots, each written as a PNG (PLplot's pngcairo device; the worst-predictions grid
// is composed with OpenCV). See docs/decisions/plotting.md.
//
// Thread safety: PLplot keeps its streams in process-global tables, so each plot makes its own
// stream, ends it before returning, and holds an eval-internal mutex while it draws: calls from
// several threads are safe but run one at a time. Nothing is left behind between calls.
// Files are written to a temp path and renamed, so a failed plot never leaves a torn PNG.
#include <cstdint>
#include <string>
#include <vector>

#include "faceage/eval/metrics.hpp"

namespace faceage::eval {

struct PlotOptions {
  int width = 900;   // pixels
  int height = 700;
  std::size_t max_scatter_points = 50000;  // above this the scatter draws an even subsample
};

// A training log (metrics.jsonl): one JSON object per line; numeric keys become series.
struct TrainingSeries {
  std::string name;
  std::vector<double> x, y;
};
struct TrainingLog {
  std::string x_key;  // "epoch", "step" or "line"
  std::vector<TrainingSeries> series;  // in order of first appearance, x_key excluded
  std::int64_t lines = 0;
  std::int64_t bad_lines = 0;  // not JSON objects (skipped)
};
TrainingLog parse_training_log(const std::string& text);
TrainingLog read_training_log(const std::string& path);  // kNotFound / kIo

// Each throws Error(kInvalidArgument) for bad sizes, kIo when the file cannot be written, and
// kNotFound when PLplot's cairo driver is missing (hint: install plplot-driver-cairo).
void plot_age_scatter(const std::vector<EvalRecord>& records, const std::string& png, const PlotOptions& options = {});
void plot_band_errors(const EvalMetrics& metrics, const std::string& png, const PlotOptions& options = {});
void plot_confusion(const EvalMetrics& metrics, const std::string& png, const PlotOptions& options = {});
// Panels by key name: *loss*, *mae*, *acc*, lr, others; only series that exist are drawn.
// kInvalidArgument when the log has no numeric series.
void plot_training_curves(const TrainingLog& log, const std::string& png, const PlotOptions& options = {});
// Reliability diagram of the gender confidence bins; kInvalidArgument when no bin has records.
void plot_reliability(const EvalMetrics& metrics, const std::string& png, const PlotOptions& options = {});
// The same for p_minor (P(age < 18)) against the observed minor rate; kInvalidArgument without p_minor.
void plot_minor_reliability(const EvalMetrics& metrics, const std::string& png, const PlotOptions& options = {});

struct WorstGridOptions {
  int count = 24;      // thumbnails at most
  int columns = 6;
  int thumb = 140;     // thumbnail side, pixels
  std::string image_root;  // relative EvalRecord.file values are resolved against it
  int max_attempts = 0;    // images tried before giving up (0: 4 * count); unreadable ones are skipped
};
struct WorstGridResult {
  int drawn = 0;    // thumbnails in the grid (0: no file written)
  int skipped = 0;  // unreadable images among those tried
  std::string first_unreadable;  // why the first of them could not be read
  std::vector<std::string> files;  // records drawn, in grid order (largest error first)
};
WorstGridResult write_worst_grid(const std::vector<EvalRecord>& records, const std::string& png,
                                 const WorstGridOptions& options = {});

}  // namespace faceage::eval
