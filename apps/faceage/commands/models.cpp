// `faceage models list | info BUNDLE | import --arch A --pretrained PATH [--imagenet-check IMAGE]
//  | create --out B | ensemble A B... --out E | unpack E --out DIR | average (models_average.cpp)
//  | calibrate (models_calibrate.cpp)`
#include <cstdio>
#include <filesystem>
#include <iostream>

#include "commands/commands.hpp"
#include "faceage/data/image_io.hpp"
#include "faceage/models/bundle.hpp"
#include "faceage/models/tensor_io.hpp"
#include "faceage/models/weights_import.hpp"

namespace faceage::cli {
namespace {
// Flags of every models subcommand (each reads its own).
struct ModelsArgs {
  std::string bundle_path, pretrained, check_image, out, name, licence, age_head = "distribution";
  std::vector<std::string> members;
  float scale_mean = -1.0f;
  int input_size = 112;
  bool no_flip = false, no_gender_head = false;
  models::ModelOptions model;
};
}  // namespace

void add_models_command(CLI::App& app, CliState& state) {
  auto args = std::make_shared<ModelsArgs>();  // owned by the callbacks, parsed into by CLI11
  auto* cmd = app.add_subcommand("models", "list backbones, inspect bundles, check pretrained weights");
  cmd->require_subcommand(1);

  auto* list = cmd->add_subcommand("list", "registered backbones with parameter counts and feature widths");
  list->callback([&state] {
    std::printf("%-18s %12s %9s  %s\n", "backbone", "parameters", "features", "description");
    const auto& registry = models::builtin_backbones();
    for (const auto& name : registry.names()) {
      auto backbone = registry.create(name, {});
      int64_t params = 0;
      for (const auto& p : backbone->parameters()) params += p.numel();
      std::printf("%-18s %12lld %9lld  %s\n", name.c_str(), static_cast<long long>(params),
                  static_cast<long long>(backbone->num_features()), registry.description(name).c_str());
    }
    state.exit_code = 0;
  });

  auto* info = cmd->add_subcommand("info", "print a bundle's JSON (options, preprocessing, labels, metadata)");
  info->add_option("bundle", args->bundle_path, "bundle file")->required();
  info->callback([&state, args] {
    auto info = models::read_bundle_info(args->bundle_path);
    info["licence"] = models::licence_note(info);
    std::cout << info.dump(2) << "\n";
    state.exit_code = 0;
  });

  auto* import = cmd->add_subcommand("import", "load pretrained weights (torchvision or tfjs) into a backbone and report keys");
  import->add_option("--arch", args->model.arch, "backbone name (see `faceage models list`)");
  import->add_option("--pretrained", args->pretrained, "torch.save state dict (.pt/.pth) or tfjs weights manifest (.json)")->required();
  import->add_option("--imagenet-check", args->check_image,
                     "an image to classify with the checkpoint's ImageNet classifier (prints top-5 indices)");
  import->add_option("--input-scale-mean", args->scale_mean,
                     "for --imagenet-check: 0.5 for x/127.5-1 inputs; default ImageNet mean/std");
  import->callback([&state, args] {
    models::configure_runtime(state.make_context());
    models::BackboneOptions options;
    options.imagenet_classes = args->check_image.empty() ? 0 : 1000;
    auto backbone = models::builtin_backbones().create(args->model.arch, options);
    auto report = models::load_pretrained_weights(*backbone, args->pretrained);
    std::cout << report.to_string() << "\n";
    if (!args->check_image.empty()) {
      const auto scores = models::imagenet_top_classes(*backbone, data::read_image(args->check_image).rgb, args->scale_mean);
      for (std::size_t k = 0; k < scores.size(); ++k) {
        std::printf("top-%zu: class %lld p=%.3f\n", k + 1, static_cast<long long>(scores[k].index), scores[k].probability);
      }
    }
    state.exit_code = report.complete() ? 0 : kExitPartialFailure;
  });

  auto* create = cmd->add_subcommand("create", "write an UNTRAINED bundle with random weights (tests, smoke checks)");
  create->add_option("--arch", args->model.arch, "backbone name (faceage models list)");
  create->add_option("--age-head", args->age_head, "distribution or regression");
  create->add_flag("--no-gender-head", args->no_gender_head, "no gender head (the records' gender fields stay empty)");
  create->add_option("--input-size", args->input_size, "model input size in pixels")->check(CLI::Range(16, 1024));
  create->add_option("-o,--out", args->out, "bundle file to write")->required();
  create->callback([&state, args] {
    models::configure_runtime(state.make_context());
    args->model.age_head = models::parse_age_head(args->age_head);
    args->model.gender_head = !args->no_gender_head;
    models::save_bundle(models::untrained_bundle(args->model, args->input_size), args->out);
    std::cout << "wrote untrained " << args->model.arch << " bundle to " << args->out << "\n";
    state.exit_code = 0;
  });

  // One file for several bundles, so a single path (the default model, a registry entry, a hot
  // reload) serves an ensemble.
  auto* ensemble = cmd->add_subcommand("ensemble", "pack bundles into one ensemble file (averaged like --model a --model b)");
  ensemble->add_option("bundles", args->members, "two or more bundle files")->required()->expected(2, -1);
  ensemble->add_option("-o,--out", args->out, "ensemble file to write")->required();
  ensemble->add_option("--name", args->name, "name recorded in the file's metadata");
  ensemble->add_option("--licence", args->licence, "licence note recorded in the file (default: the members' notes)");
  ensemble->add_flag("--no-flip", args->no_flip,
                     "record test-time flip averaging as off: the members, not mirror images, use the compute (default on)");
  ensemble->callback([&state, args] {
    models::EnsembleOptions options;
    options.test_time_flip = !args->no_flip;
    options.metadata = {{"name", args->name.empty() ? std::filesystem::path(args->out).stem().string() : args->name},
                        {"created_by", "faceage models ensemble"}};
    if (!args->licence.empty()) options.metadata["licence"] = args->licence;
    models::save_ensemble(args->members, args->out, options);
    std::cout << "wrote an ensemble of " << args->members.size() << " bundles to " << args->out
              << " (test-time flip " << (args->no_flip ? "off" : "on") << ")\n";
    state.exit_code = 0;
  });

  // Back to single bundles: e.g. one member of the default ensemble where a latency budget needs it.
  auto* unpack = cmd->add_subcommand("unpack", "write an ensemble file's members out as single bundles");
  unpack->add_option("ensemble", args->bundle_path, "ensemble file")->required();
  unpack->add_option("-o,--out", args->out, "folder for <name>-member-<i>.fab")->required();
  unpack->callback([&state, args] {
    for (const auto& path : models::unpack_ensemble(args->bundle_path, args->out)) std::cout << path << "\n";
    state.exit_code = 0;
  });

  add_models_average_command(cmd, state);
  add_models_calibrate_command(cmd, state);
}

}  // namespace faceage::cli
