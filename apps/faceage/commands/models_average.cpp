// `faceage models average A B... --out S [--weights 1,1,2] [--name N]`: the element-wise mean of
// several fine-tunes' weights as one bundle, a model soup (models/weight_average.hpp).
#include <cstdio>
#include <iostream>
#include <memory>

#include "commands/commands.hpp"
#include "faceage/models/weight_average.hpp"

namespace faceage::cli {
namespace {
struct AverageArgs {
  std::vector<std::string> bundles;
  std::string out;
  models::WeightAverageOptions options;
};
}  // namespace

void add_models_average_command(CLI::App* models_cmd, CliState& state) {
  auto args = std::make_shared<AverageArgs>();
  auto* cmd = models_cmd->add_subcommand(
      "average", "average the weights of fine-tunes of one start into one bundle (a model soup; then calibrate it)");
  cmd->add_option("bundles", args->bundles, "two or more plain bundle files of one architecture")
      ->required()
      ->expected(2, -1);
  cmd->add_option("-o,--out", args->out, "bundle file to write")->required();
  cmd->add_option("--weights", args->options.weights, "one weight per bundle, normalised to sum 1 (default: equal)")
      ->delimiter(',');
  cmd->add_option("--name", args->options.name, "name recorded in the bundle's metadata (default: the file's stem)");
  cmd->callback([&state, args] {
    const auto summary = models::save_weight_average(args->bundles, args->out, args->options);
    std::cout << "averaged " << summary.tensors << " tensors of " << args->bundles.size() << " bundles into "
              << args->out << "\n";
    for (std::size_t i = 0; i < args->bundles.size(); ++i) {
      std::printf("  %-40s weight %.3f  distance to the mean %.4f\n", args->bundles[i].c_str(), summary.weights[i],
                  summary.relative_distance[i]);
    }
    std::cout << "not calibrated: run `faceage models calibrate --model " << args->out << " ...` before shipping it\n";
    state.exit_code = 0;
  });
}

}  // namespace faceage::cli
