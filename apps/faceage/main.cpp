// faceage: the command-line shell over the faceage library.
#include <CLI/CLI.hpp>

#include <cstdio>
#include <iostream>

#include "commands/commands.hpp"
#include "faceage/core/error.hpp"

int main(int argc, char** argv) {
  using namespace faceage;
  cli::CliState state;
  CLI::App app{"faceage: estimate age and gender from face photos", "faceage"};
  app.require_subcommand(1);
  app.set_version_flag("--version", std::string(FACEAGE_VERSION));
  app.add_option("--threads", state.context_options.threads, "CPU threads for decoding and the model (0: all)")
      ->check(CLI::NonNegativeNumber);
  app.add_option("--device", state.context_options.device, "cpu, cuda or cuda:N");
  app.add_option("--seed", state.context_options.seed, "random seed");
  app.add_option("--log-level", state.context_options.log_level, "trace, debug, info, warn, error, off");
  app.add_flag("-q,--quiet", state.quiet, "no progress bars or info logs");

  cli::add_version_command(app, state);
  cli::add_models_command(app, state);
  cli::add_data_command(app, state);
  cli::add_predict_command(app, state);
  cli::add_train_command(app, state);
  cli::add_face_command(app, state);
  cli::add_serve_command(app, state);
  cli::add_eval_command(app, state);
  cli::add_tune_command(app, state);
  cli::add_registry_command(app, state);
  cli::add_monitor_command(app, state);
  cli::add_retrain_command(app, state);
  cli::add_baseline_command(app, state);

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    // CLI11 prints the message (or the help); a usage error exits like any invalid argument.
    return app.exit(e) == 0 ? 0 : exit_code(ErrorCode::kInvalidArgument);
  } catch (const Error& e) {
    std::cerr << "error: " << e.what() << "\n";
    if (!e.hint().empty()) std::cerr << "hint: " << e.hint() << "\n";
    return exit_code(e.code());
  } catch (const std::exception& e) {
    std::cerr << "error: " << e.what() << "\n";
    return exit_code(ErrorCode::kInternal);
  }
  return state.exit_code;
}
