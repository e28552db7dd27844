// `faceage predict PATH...`: files and folders -> one record per face (JSON, JSON lines, CSV or a table).
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <set>

#include <opencv2/imgcodecs.hpp>

#include <spdlog/spdlog.h>

#include "commands/commands.hpp"
#include "faceage/core/check.hpp"
#include "faceage/core/fs.hpp"
#include "faceage/core/progress.hpp"
#include "faceage/data/csv.hpp"
#include "faceage/data/image_io.hpp"
#include "faceage/infer/predictor.hpp"
#include "faceage/models/tensor_io.hpp"

namespace faceage::cli {

namespace {

namespace fs = std::filesystem;

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
  std::string precision = "auto";
};

// Streams records to a file (written to a temp file, renamed at the end) or stdout.
class RecordWriter {
 public:
  RecordWriter(const std::string& format, const std::string& path) : format_(format), path_(path) {
    if (!path.empty()) {
      temp_ = temp_path_beside(path);
      std::error_code ec;
      if (fs::path(path).has_parent_path()) fs::create_directories(fs::path(path).parent_path(), ec);
      file_.open(temp_);
      if (!file_) throw Error(ErrorCode::kIo, "cannot write '" + path + "'", "check the directory exists and is writable");
    }
    if (format_ == "csv") out() << data::csv_line(infer::prediction_csv_header());
    if (format_ == "json") out() << "[";
  }
  void write(const infer::ImagePrediction& prediction) {
    if (format_ == "csv") {
      for (const auto& row : infer::to_csv_rows(prediction)) out() << data::csv_line(row);
    } else if (format_ == "table") {
      write_table(prediction);
    } else {
      for (const auto& record : infer::to_json(prediction)) {
        if (format_ == "json") out() << (first_ ? "\n  " : ",\n  ");
        out() << record.dump();
        if (format_ == "jsonl") out() << "\n";
        first_ = false;
      }
    }
    out().flush();
  }
  void close() {
    if (format_ == "json") out() << (first_ ? "]\n" : "\n]\n");
    if (!path_.empty()) {
      file_.close();
      if (!file_) throw Error(ErrorCode::kIo, "cannot finish writing '" + path_ + "'");
      replace_file(temp_, path_);
    }
  }

 private:
  std::ostream& out() { return path_.empty() ? std::cout : file_; }
  void write_table(const infer::ImagePrediction& prediction) {
    if (!prediction.ok()) {
      out() << prediction.source << ": error: " << prediction.error->message << "\n";
      return;
    }
    for (const auto& face : prediction.faces) {
      char line[512];
      std::snprintf(line, sizeof(line), "%s  face %d  age %.1f (%.0f-%.0f)  %s %.0f%%  box %.0f,%.0f %.0fx%.0f%s\n",
                    prediction.source.c_str(), face.face, face.age, face.age_low, face.age_high, face.gender.c_str(),
                    100 * face.gender_prob, face.box.x, face.box.y, face.box.width, face.box.height,
                    face.face_source == "crop_fallback" ? "  (no face found: the whole crop used as the face)" : "");
      out() << line;
    }
  }
  std::string format_, path_, temp_;
  std::ofstream file_;
  bool first_ = true;
};

std::string annotated_name(const std::string& source, std::set<std::string>& used) {
  std::string stem = fs::path(source).stem().string();
  std::string name = stem + ".annotated.jpg";
  for (int n = 1; used.count(name); ++n) name = stem + "." + std::to_string(n) + ".annotated.jpg";
  used.insert(name);
  return name;
}

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
  infer::Predictor predictor(options, context);

  const auto files = data::list_images(args.inputs);
  FACEAGE_CHECK(!files.empty(), ErrorCode::kNotFound,
                "no image files (.jpg .jpeg .png .bmp .webp .tif .tiff) found in the given paths");
  if (!args.annotate_dir.empty()) fs::create_directories(args.annotate_dir);

  RecordWriter writer(args.format, args.output);
  ProgressBar progress({.label = "predict", .total = static_cast<std::int64_t>(files.size()),
                        .force = state.quiet ? 0 : -1, .unit = "img"});
  std::size_t failed = 0, faces = 0, done = 0;
  std::set<std::string> used_names;
  predictor.predict_files(files, [&](infer::ImagePrediction&& prediction) {
    writer.write(prediction);
    if (!prediction.ok()) {
      ++failed;
      if (context.logger) context.logger->debug("{}", prediction.error->message);
    }
    faces += prediction.faces.size();
    if (!args.annotate_dir.empty() && prediction.ok()) {
      try {
        auto decoded = data::read_image(prediction.source, options.decode);
        cv::imwrite((fs::path(args.annotate_dir) / annotated_name(prediction.source, used_names)).string(),
                    infer::annotate(decoded.rgb, prediction));
      } catch (const std::exception& e) {
        if (context.logger) context.logger->warn("cannot annotate {}: {}", prediction.source, e.what());
      }
    }
    progress.update(static_cast<std::int64_t>(++done));
  });
  progress.finish();
  writer.close();
  if (!state.quiet) {
    std::fprintf(stderr, "%zu image(s), %zu face(s), %zu failed\n", files.size(), faces, failed);
  }
  return failed ? kExitPartialFailure : kExitOk;
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
  cmd->add_option("--precision", args->precision,
                  "backbone precision: auto (bfloat16 where the CPU has native bf16), float32, bfloat16")
      ->capture_default_str();
  cmd->callback([args, &state] { state.exit_code = run_predict(*args, state); });
}

}  // namespace faceage::cli
