// `faceage predict PATH...`: files and folders -> one record per face (JSON, JSON lines, CSV or a table).
// `faceage predict --stdin`: one path per input line -> JSON lines, streamed (infer::predict_stream).
#include <unistd.h>

#include <iostream>

#include "commands/commands.hpp"
#include "faceage/core/check.hpp"
#include "faceage/core/fd_stream.hpp"
#include "faceage/core/strings.hpp"
#include "faceage/face/detector.hpp"
#include "faceage/infer/batch.hpp"
#include "faceage/models/tensor_io.hpp"

namespace faceage::cli {

namespace {

struct PredictArgs {
  infer::PredictorOptions predictor;  // the options below fill in the rest
  std::vector<std::string> inputs;
  bool from_stdin = false;
  std::string format;  // empty: json for paths, jsonl for --stdin
  std::string output;
  std::string annotate_dir;
  bool largest_face = false;
  FlipFlags flip;
  AnswerFlags answers;
  std::string precision = "auto";
};

int run_predict(const PredictArgs& args, const CliState& state) {
  Context context = state.make_context();
  models::configure_runtime(context);
  infer::PredictorOptions options = args.predictor;
  options.all_faces = !args.largest_face;
  options.flip_average = args.flip.choice();
  options.precision = models::parse_precision(args.precision);
  options.minor_gate = args.answers.minor_gate;
  options.coverage = args.answers.coverage;
  options.unreliable_below = args.answers.unreliable_below;
  options.refuse_unreliable = args.answers.refuse_unreliable;
  FACEAGE_CHECK(args.from_stdin || !args.inputs.empty(), ErrorCode::kInvalidArgument,
                "give image files or folders, or --stdin to read one path per line");
  infer::Predictor predictor(options, context);
  infer::PredictRunSummary summary;
  if (args.from_stdin) {
    infer::StreamRunOptions run;
    run.format = args.format.empty() ? "jsonl" : args.format;
    run.progress = state.quiet ? 0 : -1;
    FdInputBuffer stdin_buffer(STDIN_FILENO);  // std::cin cannot tell what has arrived (no batching)
    std::istream in(&stdin_buffer);
    summary = infer::predict_stream(predictor, in, std::cout, run, context);
  } else {
    infer::PredictRunOptions run;
    run.inputs = args.inputs;
    run.format = args.format.empty() ? "json" : args.format;
    run.output = args.output;
    run.annotate_dir = args.annotate_dir;
    run.progress = state.quiet ? 0 : -1;
    summary = infer::predict_paths(predictor, run, context, std::cout);
  }
  if (!state.quiet) std::cerr << infer::format_summary(summary);
  return summary.failed ? kExitPartialFailure : kExitOk;
}

}  // namespace

void add_predict_command(CLI::App& app, CliState& state) {
  auto args = std::make_shared<PredictArgs>();
  auto* cmd = app.add_subcommand("predict", "estimate age and gender of the faces in images");
  auto* paths = cmd->add_option("paths", args->inputs, "image files and folders (searched recursively)");
  auto* from_stdin = cmd->add_flag("--stdin", args->from_stdin,
                                   "read one image path per line from standard input; records stream out per image "
                                   "(default format jsonl)")->excludes(paths);
  cmd->add_option("-m,--model", args->predictor.model_paths, "model bundle(s) or ensemble file(s); several are averaged (default: the bundled model)");
  cmd->add_option("--detector", args->predictor.detector, "face detector: " + join(face::builtin_detectors().names(), ", ") + " (default: the bundle's)");
  cmd->add_option("--yunet-model", args->predictor.yunet_model, "path of the YuNet ONNX model (or FACEAGE_YUNET_MODEL)");
  cmd->add_option("-f,--format", args->format, "output format (default: json, jsonl with --stdin)")
      ->check(CLI::IsMember({"json", "jsonl", "csv", "table"}));
  // A stream's records go to stdout as they are made; a file would appear only at the end.
  cmd->add_option("-o,--output", args->output, "write records to this file instead of stdout")->excludes(from_stdin);
  // Annotated names are made unique over the whole run, which would grow with an endless stream.
  cmd->add_option("--annotate", args->annotate_dir, "write annotated copies of the images into this folder")
      ->excludes(from_stdin);
  cmd->add_option("--batch-size", args->predictor.batch_size, "images per model call (a face and its mirror are two)")->check(CLI::PositiveNumber);
  cmd->add_flag("--largest-face", args->largest_face, "report only the largest face of each image");
  add_flip_flags(cmd, args->flip);
  add_answer_flags(cmd, args->answers);
  cmd->add_option("--precision", args->precision,
                  "backbone precision: auto (bfloat16 where the CPU has native bf16), float32, bfloat16")
      ->capture_default_str();
  cmd->callback([args, &state] { state.exit_code = run_predict(*args, state); });
}

}  // namespace faceage::cli
