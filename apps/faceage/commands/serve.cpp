// `faceage serve`: the HTTP server (docs/http-api.md) over the same Predictor as `faceage predict`.
#include <iostream>

#include "commands/commands.hpp"
#include "faceage/core/config.hpp"
#include "faceage/models/tensor_io.hpp"
#include "faceage/serve/options.hpp"
#include "faceage/serve/server.hpp"

namespace faceage::cli {

namespace {
struct ServeArgs {
  std::vector<std::string> models;
  std::string config_path;
  std::vector<std::string> overrides;
  std::string host;
  int port = -1;
  bool sagemaker = false;
  std::string registry, prediction_log, reference;
};
}  // namespace

void add_serve_command(CLI::App& app, CliState& state) {
  auto args = std::make_shared<ServeArgs>();
  auto* cmd = app.add_subcommand("serve", "serve predictions over HTTP (web page, REST, SageMaker, KServe v2)");
  cmd->add_option("--model", args->models, "model bundle (.fab); repeat for an ensemble (default: the default model)");
  cmd->add_option("--host", args->host, "address to bind (default 127.0.0.1; 0.0.0.0 with --sagemaker)");
  cmd->add_option("--port", args->port, "port (default 8000; 8080 with --sagemaker; 0: any free port)")
      ->check(CLI::Range(0, 65535));
  cmd->add_option("--config", args->config_path, "serve config YAML (see configs/serve/default.yaml)");
  cmd->add_option("--set", args->overrides, "override a config key: --set max_batch_size=8");
  cmd->add_option("--registry", args->registry,
                  "serve the production version of this model registry and follow it (hot reload on promotion)");
  cmd->add_option("--prediction-log", args->prediction_log,
                  "log each prediction's input statistics and outputs (never the image) to this SQLite file");
  cmd->add_option("--reference", args->reference,
                  "reference profile for the drift gauges when the bundle carries none (faceage monitor profile)");
  cmd->add_flag("--sagemaker", args->sagemaker, "SageMaker container contract: 0.0.0.0:8080, /ping, /invocations");
  cmd->callback([args, &state] {
    Config config = args->config_path.empty() ? Config() : Config::from_file(args->config_path);
    config.apply_overrides(args->overrides);
    if (args->sagemaker) config.set("sagemaker", "true");
    auto options = serve::serve_options_from_config(config);
    if (!args->models.empty()) options.model_paths = args->models;
    if (!args->host.empty()) options.host = args->host;
    if (args->port >= 0) options.port = args->port;
    if (!args->registry.empty()) options.registry = args->registry;
    if (!args->prediction_log.empty()) options.prediction_log = args->prediction_log;
    if (!args->reference.empty()) options.reference_profile = args->reference;
    serve::validate(options);

    auto context = state.make_context();
    Context model_runtime = context;  // face_workers default to --threads; the model call gets its own count
    model_runtime.threads = options.model_threads;
    models::configure_runtime(model_runtime);
    serve::Server server(options, context);
    const int port = server.start();
    server.handle_signals();
    try {
      server.load_models();
    } catch (...) {
      server.stop();
      server.wait();
      throw;
    }
    if (!state.quiet) std::cerr << "faceage serving on http://" << options.host << ":" << port << "/\n";
    server.wait();
    state.exit_code = 0;
  });
}

}  // namespace faceage::cli
