// `faceage monitor report --log FILE [--since T] [--until T] --reference PROFILE --out DIR`
// `faceage monitor profile --log FILE [--since T] [--until T] --out PROFILE.json`
// `faceage monitor profile --model BUNDLE --data MANIFEST [--out PROFILE.json] [--embed]`
// (docs/monitoring.md). T is ISO 8601 (2026-12-04T14:00:00Z).
#include <iostream>

#include "commands/commands.hpp"
#include "faceage/core/check.hpp"
#include "faceage/core/strings.hpp"
#include "faceage/lifecycle/reference.hpp"
#include "faceage/models/tensor_io.hpp"
#include "faceage/monitor/log_analysis.hpp"

namespace faceage::cli {
namespace {

struct MonitorArgs {
  std::string log, since, until, reference, out;
  monitor::DriftThresholds thresholds;
  bool current_only = false;
  std::string model, data;
  bool embed = false;
};

void add_window_options(CLI::App* cmd, MonitorArgs& args) {
  cmd->add_option("--log", args.log, "the prediction log (rotated FILE.1, FILE.2, ... are read too)");
  cmd->add_option("--since", args.since, "window start, ISO 8601 (default: the log's start)");
  cmd->add_option("--until", args.until, "window end, ISO 8601 (default: now)");
  cmd->add_flag("--current-only", args.current_only, "read FILE only, not its rotated predecessors");
}

monitor::LogWindow window_of(const MonitorArgs& args) {
  monitor::LogWindow window;
  window.log_path = args.log;
  window.include_rotated = !args.current_only;
  if (!args.since.empty()) window.window.since = monitor::parse_iso8601(args.since);
  if (!args.until.empty()) window.window.until = monitor::parse_iso8601(args.until);
  return window;
}

}  // namespace

void add_monitor_command(CLI::App& app, CliState& state) {
  auto args = std::make_shared<MonitorArgs>();
  auto* cmd = app.add_subcommand("monitor", "drift of logged predictions against a reference profile");
  cmd->require_subcommand(1);

  auto* report = cmd->add_subcommand("report", "drift.json and drift.html for a window of the prediction log");
  add_window_options(report, *args);
  report->get_option("--log")->required();
  report->add_option("--reference", args->reference, "reference profile (JSON)")->required()->check(CLI::ExistingFile);
  report->add_option("--out", args->out, "directory for drift.json and drift.html")->required();
  report->add_option("--psi", args->thresholds.psi, "PSI at which a feature's shift is large")->capture_default_str();
  report->add_option("--ks-alpha", args->thresholds.ks_alpha, "KS p-value below which a shift is significant")
      ->capture_default_str();
  report->add_option("--wasserstein-stds", args->thresholds.wasserstein_stds,
                     "Wasserstein distance, in reference standard deviations, at which a shift is large")
      ->capture_default_str();
  report->add_option("--min-faces", args->thresholds.min_faces, "fewest faces for a verdict")->capture_default_str();
  report->callback([args, &state] {
    const auto result = monitor::report_drift_from_log(window_of(*args), args->reference, args->out, args->thresholds);
    std::vector<std::string> drifted;
    for (const auto& f : result.report.features)
      if (f.drift) drifted.push_back(f.feature);
    std::cout << "drift: " << (result.report.drift ? "yes (" + join(drifted, ", ") + ")" : "no") << " over "
              << result.report.window_faces << " faces in " << result.report.window_requests << " requests\n";
    if (!result.report.note.empty()) std::cout << "note: " << result.report.note << "\n";
    for (const auto& file : result.files) std::cout << "wrote " << file << "\n";
    state.exit_code = 0;
  });

  auto* profile = cmd->add_subcommand(
      "profile", "a reference profile: a trusted window of the prediction log, or a model's answers on a manifest");
  add_window_options(profile, *args);
  profile->add_option("--model", args->model, "profile this bundle's answers on --data (instead of --log)");
  profile->add_option("--data", args->data, "with --model: the manifest (e.g. the validation split)");
  profile->add_flag("--embed", args->embed, "with --model: store the profile in the bundle (metadata.reference_profile)");
  profile->add_option("--out", args->out, "profile file (JSON)");
  profile->callback([args, &state] {
    if (args->log.empty() == args->model.empty() || args->model.empty() != args->data.empty()) {
      throw Error(ErrorCode::kInvalidArgument, "give either --log FILE or --model BUNDLE --data MANIFEST");
    }
    if (args->out.empty() && !args->embed) throw Error(ErrorCode::kInvalidArgument, "give --out PROFILE.json and/or --embed");
    monitor::ReferenceProfile made;
    if (!args->log.empty()) {
      made = monitor::profile_from_log(window_of(*args));
    } else {
      const Context context = state.make_context();
      models::configure_runtime(context);
      lifecycle::ModelProfileOptions options;
      options.predictor.model_paths = {args->model};
      options.predictor.precision = models::InferencePrecision::kFloat32;
      options.manifest = args->data;
      made = lifecycle::profile_model(options, context);
    }
    std::cout << "profile of " << made.features.size() << " features from " << made.source << "\n";
    if (!args->out.empty()) {
      monitor::save_reference_profile(made, args->out);
      std::cout << "wrote " << args->out << "\n";
    }
    if (args->embed) {
      FACEAGE_CHECK(!args->model.empty(), ErrorCode::kInvalidArgument, "--embed needs --model");
      lifecycle::embed_reference_profile(args->model, made);
      std::cout << "embedded in " << args->model << "\n";
    }
    state.exit_code = 0;
  });
}

}  // namespace faceage::cli
