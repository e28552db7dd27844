// `faceage predict PATH...`: files and folders -> one record per face (JSON, JSON lines, CSV or a table).
#include <iostream>

#include "commands/commands.hpp"
#include "faceage/infer/batch.hpp"
#include "faceage/models/tensor_io.hpp"

namespace faceage::cli {

namespace {

struct PredictArgs {
  std::vector<std::string> inputs;
  std::vector<std::string> models;
  std::string detector;
  std::string yunet_model;
  std::string format = "json";
  std::string output;
  std::string annotate_dir;
  int batch_size = 32;
  bool largest_face = false;
  FlipFlags flip;
  AnswerFlags answers;
  std::string precision = "auto";
};

int run_predict(const PredictArgs& args, const CliState& state) {
  Context context = state.make_context();
  models::configure_runtime(context);
  infer::PredictorOptions options;
  options.model_paths = args.models;
  options.detector = args.detector;
  options.yunet_model = args.yunet_model;
  options.batch_size = args.batch_size;
  options.all_faces = !args.largest_face;
  options.flip_average = args.flip.choice();
  options.precision = models::parse_precision(args.precision);
  options.minor_gate = args.answers.minor_gate;
  options.coverage = args.answers.coverage;
  options.unreliable_below = args.answers.unreliable_below;
  options.refuse_unreliable = args.answers.refuse_unreliable;
  infer::Predictor predictor(options, context);
  infer::PredictRunOptions run;
  run.inputs = args.inputs;
  run.format = args.format;
  run.output = args.output;
  run.annotate_dir = args.annotate_dir;
  run.progress = state.quiet ? 0 : -1;
  const auto summary = infer::predict_paths(predictor, run, context, std::cout);
  if (!state.quiet) std::cerr << infer::format_summary(summary);
  return summary.failed ? kExitPartialFailure : kExitOk;
}

}  // namespace

void add_predict_command(CLI::App& app, CliState& state) {
  auto args = std::make_shared<PredictArgs>();
  auto* cmd = app.add_subcommand("predict", "estimate age and gender of the faces in images");
  cmd->add_option("paths", args->inputs, "image files and folders (searched recursively)")->required();
  cmd->add_option("-m,--model", args->models, "model bundle(s) or ensemble file(s); several are averaged (default: the bundled model)");
  cmd->add_option("--detector", args->detector, "face detector: dlib-hog, yunet or none (default: the bundle's)");
  cmd->add_option("--yunet-model", args->yunet_model, "path of the YuNet ONNX model (or FACEAGE_YUNET_MODEL)");
  cmd->add_option("-f,--format", args->format, "output format")
      ->check(CLI::IsMember({"json", "jsonl", "csv", "table"}));
  cmd->add_option("-o,--output", args->output, "write records to this file instead of stdout");
  cmd->add_option("--annotate", args->annotate_dir, "write annotated copies of the images into this folder");
  cmd->add_option("--batch-size", args->batch_size, "images per model call (a face and its mirror are two)")->check(CLI::PositiveNumber);
  cmd->add_flag("--largest-face", args->largest_face, "report only the largest face of each image");
  add_flip_flags(cmd, args->flip);
  add_answer_flags(cmd, args->answers);
  cmd->add_option("--precision", args->precision,
                  "backbone precision: auto (bfloat16 where the CPU has native bf16), float32, bfloat16")
      ->capture_default_str();
  cmd->callback([args, &state] { state.exit_code = run_predict(*args, state); });
}

}  // namespace faceage::cli
