// `faceage eval`: scores a predictions CSV (from faceage predict or another system), or the answers
// of a model run on the manifest's images, against a manifest, and optionally writes a report
// folder. A thin shell over faceage::infer (the model run) and faceage::eval (scoring, report).
#include <filesystem>
#include <iostream>
#include <memory>

#include "commands/commands.hpp"
#include "faceage/core/error.hpp"
#include "faceage/core/fs.hpp"
#include "faceage/core/strings.hpp"
#include "faceage/eval/report.hpp"
#include "faceage/eval/score.hpp"
#include "faceage/face/detector.hpp"
#include "faceage/infer/batch.hpp"
#include "faceage/models/tensor_io.hpp"

namespace faceage::cli {

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
                  "run these bundle(s) on the manifest's images (several: an ensemble); "
                  "without --model or --predictions: the default model");
  add_flip_flags(cmd, flags->flip);
  // float32 by default: eval measures the model as trained, the same on every machine.
  cmd->add_option("--precision", flags->precision, "with --model: backbone precision (auto, float32, bfloat16)")
      ->capture_default_str();
  cmd->add_option("--detector", flags->detector, "with --model: face detector " + join(face::builtin_detectors().names(), ", ") + " (default: the bundle's)");
  cmd->callback([flags, &state] {
    if (!flags->models.empty() && !flags->predictions.empty()) {
      throw Error(ErrorCode::kInvalidArgument, "give either --model or --predictions, not both",
                  "--model runs the bundle and scores its answers; --predictions scores a CSV made earlier");
    }
    // A model run (the given bundles, else the default model, as `faceage predict`): its answers
    // are kept in the report folder; without one they go to a temp file removed after scoring.
    const bool model_run = flags->predictions.empty();
    const bool temp_predictions = model_run && flags->report.empty();
    std::vector<std::string> models_run;
    if (model_run) {
      flags->predictions =
          temp_predictions
              ? temp_path_beside((std::filesystem::temp_directory_path() / "faceage-eval-predictions.csv").string())
              : flags->report + "/model_predictions.csv";
      if (!flags->report.empty()) std::filesystem::create_directories(flags->report);
      Context context = state.make_context();
      models::configure_runtime(context);
      infer::PredictorOptions predictor;
      predictor.model_paths = flags->models;
      predictor.flip_average = flags->flip.choice();
      predictor.precision = models::parse_precision(flags->precision);
      predictor.detector = flags->detector;
      models_run = infer::predict_manifest(predictor, context,
                                           {flags->data, flags->split, flags->predictions, state.quiet ? 0 : -1});
    }
    eval::ScoreOptions options;
    for (const auto& m : flags->map) {
      if (!trim(m).empty()) options.columns.set(m);
    }
    options.match.split = flags->split;
    options.match.basename_fallback = !flags->no_basename;
    const eval::ScoreResult s = eval::score_predictions(flags->predictions, flags->data, options);
    if (temp_predictions) std::filesystem::remove(flags->predictions);
    eval::check_scored(s);
    std::cout << eval::format_summary(s);
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
      if (model_run) report.source["models"] = models_run;
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
