// `faceage baseline train|predict`: the classical HOG + SVR/SVM baseline (faceage/baseline/run.hpp).
#include <iostream>
#include <memory>

#include "commands/commands.hpp"
#include "faceage/baseline/run.hpp"
#include "faceage/core/strings.hpp"
#include "faceage/face/detector.hpp"

namespace faceage::cli {

void add_baseline_command(CLI::App& app, CliState& state) {
  auto* cmd = app.add_subcommand("baseline", "classical baseline: HOG -> PCA -> RBF SVR (age) / RBF SVM (gender)");
  cmd->require_subcommand(1);

  auto train = std::make_shared<baseline::TrainRunOptions>();
  auto* t = cmd->add_subcommand("train", "fit the baseline on a manifest's aligned crops (the crop cache of faceage train)");
  t->add_option("--data", train->train_csv, "train manifest CSV")->required();
  t->add_option("--val", train->val_csv, "validation manifest: scored, and its residual spread sets the intervals");
  t->add_option("--out", train->out, "model file to write (.fabl)")->required();
  t->add_option("--cache-dir", train->cache_dir, "crop cache (default ~/.cache/faceage/crops, as faceage train)");
  t->add_option("--detector", train->face.detector, "face detector for the crops: " + join(face::builtin_detectors().names(), ", "))->capture_default_str();
  t->add_option("--crop-size", train->face.crop_size, "aligned crop size")->capture_default_str();
  auto& m = train->model;
  t->add_option("--max-samples", m.max_train_samples, "random train subset the kernel machines fit")->capture_default_str();
  t->add_option("--pca", m.pca_dims, "PCA components")->capture_default_str();
  t->add_option("--hog-window", m.hog.window, "HOG window side (px)")->capture_default_str();
  t->add_option("--hog-cell", m.hog.cell, "HOG cell side (px)")->capture_default_str();
  t->add_option("--c-age", m.c_age, "SVR C")->capture_default_str();
  t->add_option("--epsilon", m.epsilon, "SVR insensitivity (years)")->capture_default_str();
  t->add_option("--c-gender", m.c_gender, "SVM C")->capture_default_str();
  t->add_option("--gamma", m.gamma, "RBF gamma (0: 1 / PCA components)")->capture_default_str();
  t->callback([train, &state] {
    Context context = state.make_context();
    auto options = *train;
    options.model.seed = context.seed;
    options.progress = state.quiet ? 0 : -1;
    std::cout << baseline::format_train_result(baseline::train_baseline(options, context));
    std::cout << "model: " << options.out << "\n";
    state.exit_code = kExitOk;
  });

  auto predict = std::make_shared<baseline::BaselinePredictOptions>();
  auto largest = std::make_shared<bool>(false);
  auto* p = cmd->add_subcommand("predict", "estimate age and gender with a baseline model (records as faceage predict)");
  p->add_option("model", predict->model, "baseline model file (.fabl)")->required();
  auto* paths = p->add_option("paths", predict->inputs, "image files and folders");
  p->add_option("--manifest", predict->manifest_csv, "run on a manifest's images (largest face; CSV scored by "
                "faceage eval --predictions)")->excludes(paths);
  p->add_option("--split", predict->split, "with --manifest: only rows of this split");
  p->add_option("-f,--format", predict->format, "json, jsonl, csv or table (default: json; csv with --manifest)")
      ->check(CLI::IsMember({"json", "jsonl", "csv", "table"}));
  p->add_option("-o,--output", predict->output, "write records to this file instead of stdout");
  p->add_option("--detector", predict->detector, "face detector (default: the one the baseline was trained with)");
  p->add_flag("--largest-face", *largest, "report only the largest face of each image");
  p->add_option("--with-model", predict->network, "network bundle to average with on the same crops (docs/training.md: "
                "no measurable gain over the network alone on UTKFace)");
  p->add_option("--weight", predict->baseline_weight, "baseline weight in the average with --with-model")
      ->check(CLI::Range(0.0, 1.0))->capture_default_str();
  p->callback([predict, largest, &state] {
    Context context = state.make_context();
    auto options = *predict;
    options.all_faces = !*largest;
    options.progress = state.quiet ? 0 : -1;
    const auto summary = baseline::predict_baseline(options, context, std::cout);
    if (!state.quiet) std::cerr << infer::format_summary(summary);
    state.exit_code = summary.failed ? kExitPartialFailure : kExitOk;
  });
}

}  // namespace faceage::cli
