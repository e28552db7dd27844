// `faceage models calibrate --model M --data VAL_MANIFEST --out M2 [--coverage 0.8,0.9,0.95]
//  [--gates 13,16,18,21] [--bands-of true_age|predicted_age]`: fits conformal intervals and P(age < gate) on labelled validation images
// and writes a calibrated copy of the model file (infer/calibrate.hpp).
#include <iostream>
#include <memory>

#include "commands/commands.hpp"
#include "faceage/infer/calibrate.hpp"
#include "faceage/models/tensor_io.hpp"

namespace faceage::cli {
namespace {
struct CalibrateArgs {
  infer::CalibrateOptions options;
  std::string detector;
  std::string bands_of = "true_age";
};
}  // namespace

void add_models_calibrate_command(CLI::App* models_cmd, CliState& state) {
  auto args = std::make_shared<CalibrateArgs>();
  auto* cmd = models_cmd->add_subcommand(
      "calibrate", "fit conformal intervals and calibrated P(age < gate) on validation images; write a copy");
  auto& o = args->options;
  cmd->add_option("-m,--model", o.model_path, "model file (bundle or ensemble; default: the default model)");
  cmd->add_option("-d,--data", o.manifest_csv, "labelled manifest (file, age): validation images, never training")
      ->required();
  cmd->add_option("--split", o.split, "only rows of this split (e.g. val)");
  cmd->add_option("-o,--out", o.out_path, "calibrated model file to write")->required();
  cmd->add_option("--coverage", o.coverages, "interval coverages to fit")->delimiter(',')->capture_default_str();
  cmd->add_option("--gates", o.gates, "age gates of P(age < gate) to fit")->delimiter(',')->capture_default_str();
  cmd->add_option("--bands-of", args->bands_of,
                  "group calibration faces by true_age (coverage holds in every true-age band) or predicted_age")
      ->check(CLI::IsMember({"true_age", "predicted_age"}))
      ->capture_default_str();
  cmd->add_option("--detector", args->detector, "face detector (default: the bundle's)");
  cmd->callback([&state, args] {
    Context context = state.make_context();
    models::configure_runtime(context);
    args->options.predictor.detector = args->detector;
    auto& conformal = args->options.conformal;
    conformal.bands_of = *models::conformal_bands_from_string(args->bands_of);  // IsMember checked it
    conformal.band_upper = models::default_band_upper(conformal.bands_of);
    args->options.progress = state.quiet ? 0 : -1;
    const auto summary = infer::calibrate_model(args->options, context);
    std::cout << infer::format_calibration_summary(summary) << "wrote " << args->options.out_path << "\n";
    state.exit_code = 0;
  });
}

}  // namespace faceage::cli
