// `faceage models list | info BUNDLE | import --arch A --pretrained PATH [--imagenet-check IMAGE]
//  | create --out B | ensemble A B... --out E | unpack E --out DIR`
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include <cstdio>
#include <filesystem>
#include <iostream>

#include "commands/commands.hpp"
#include "faceage/core/error.hpp"
#include "faceage/models/bundle.hpp"
#include "faceage/models/tensor_io.hpp"
#include "faceage/models/weights_import.hpp"

namespace faceage::cli {
namespace {
struct ModelsArgs {
  std::string bundle_path;
  std::string arch = "mobilenet_v2";
  std::string pretrained;
  std::string check_image;
  float scale_mean = -1.0f;
};
}  // namespace

void add_models_command(CLI::App& app, CliState& state) {
  auto args = std::make_shared<ModelsArgs>();  // owned by the callbacks, parsed into by CLI11
  auto* cmd = app.add_subcommand("models", "list backbones, inspect bundles, check pretrained weights");
  cmd->require_subcommand(1);

  auto* list = cmd->add_subcommand("list", "registered backbones with parameter counts and feature widths");
  list->callback([&state] {
    std::printf("%-18s %12s %9s  %s\n", "backbone", "parameters", "features", "description");
    for (const auto& name : models::builtin_backbones().names()) {
      auto backbone = models::builtin_backbones().create(name, {});
      int64_t params = 0;
      for (const auto& p : backbone->parameters()) params += p.numel();
      std::printf("%-18s %12lld %9lld  %s\n", name.c_str(), static_cast<long long>(params),
                  static_cast<long long>(backbone->num_features()), models::builtin_backbones().description(name).c_str());
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
  import->add_option("--arch", args->arch, "backbone name (see `faceage models list`)");
  import->add_option("--pretrained", args->pretrained, "torch.save state dict (.pt/.pth) or tfjs weights manifest (.json)")->required();
  import->add_option("--imagenet-check", args->check_image,
                     "an image to classify with the checkpoint's ImageNet classifier (prints top-5 indices)");
  import->add_option("--input-scale-mean", args->scale_mean,
                     "for --imagenet-check: 0.5 for x/127.5-1 inputs; default ImageNet mean/std");
  import->callback([&state, args] {
    const auto& [bundle_path, arch, pretrained, check_image, scale_mean] = *args;
    (void)bundle_path;
    const auto ctx = state.make_context();
    models::configure_runtime(ctx);
    models::BackboneOptions options;
    options.imagenet_classes = check_image.empty() ? 0 : 1000;
    auto backbone = models::builtin_backbones().create(arch, options);
    auto report = models::load_pretrained_weights(*backbone, pretrained);
    std::cout << report.to_string() << "\n";
    if (!check_image.empty()) {
      cv::Mat bgr = cv::imread(check_image, cv::IMREAD_COLOR);
      if (bgr.empty()) throw Error(ErrorCode::kUnreadableImage, "cannot read image '" + check_image + "'");
      cv::Mat rgb;
      cv::cvtColor(bgr, rgb, cv::COLOR_BGR2RGB);
      models::PreprocessSpec spec;
      spec.input_size = 224;
      if (scale_mean > 0) spec.mean = spec.std = {scale_mean, scale_mean, scale_mean};
      backbone->eval();
      torch::NoGradGuard no_grad;
      auto probs = torch::softmax(backbone->forward_classifier(backbone->forward_features(models::images_to_tensor({rgb}, spec))), 1);
      auto top = probs.topk(5, 1);
      for (int k = 0; k < 5; ++k) {
        std::printf("top-%d: class %lld p=%.3f\n", k + 1, static_cast<long long>(std::get<1>(top)[0][k].item<int64_t>()),
                    std::get<0>(top)[0][k].item<double>());
      }
    }
    state.exit_code = report.complete() ? 0 : kExitPartialFailure;
  });

  // An untrained bundle (seeded random weights): for smoke tests and for checking a deployment
  // end to end before a trained model exists. Its answers are meaningless, and its metadata says so.
  auto create_args = std::make_shared<models::ModelOptions>();
  auto create_out = std::make_shared<std::string>();
  auto create_size = std::make_shared<int>(112);
  auto create_head = std::make_shared<std::string>("distribution");
  auto* create = cmd->add_subcommand("create", "write an UNTRAINED bundle with random weights (tests, smoke checks)");
  create->add_option("--arch", create_args->arch, "backbone name (faceage models list)");
  create->add_option("--age-head", *create_head, "distribution or regression");
  create->add_option("--input-size", *create_size, "model input size in pixels")->check(CLI::Range(16, 1024));
  create->add_option("-o,--out", *create_out, "bundle file to write")->required();
  create->callback([&state, create_args, create_out, create_size, create_head] {
    Context context = state.make_context();
    models::configure_runtime(context);
    models::Bundle bundle;
    bundle.model_options = *create_args;
    bundle.model_options.age_head = models::parse_age_head(*create_head);
    bundle.preprocess.input_size = *create_size;
    bundle.metadata = {{"name", "untrained-" + create_args->arch},
                       {"untrained", true},
                       {"note", "random weights from `faceage models create`: answers are meaningless"}};
    bundle.model = models::create_model(bundle.model_options);
    bundle.model->eval();
    models::save_bundle(bundle, *create_out);
    std::cout << "wrote untrained " << create_args->arch << " bundle to " << *create_out << "\n";
    state.exit_code = 0;
  });

  // One file for several bundles, so a single path (the default model, a registry entry, a hot
  // reload) serves an ensemble.
  struct EnsembleArgs {
    std::vector<std::string> members;
    std::string out, name, licence;
    bool no_flip = false;
  };
  auto ensemble_args = std::make_shared<EnsembleArgs>();
  auto* ensemble = cmd->add_subcommand("ensemble", "pack bundles into one ensemble file (averaged like --model a --model b)");
  ensemble->add_option("bundles", ensemble_args->members, "two or more bundle files")->required()->expected(2, -1);
  ensemble->add_option("-o,--out", ensemble_args->out, "ensemble file to write")->required();
  ensemble->add_option("--name", ensemble_args->name, "name recorded in the file's metadata");
  ensemble->add_option("--licence", ensemble_args->licence,
                       "licence note recorded in the file (default: the members' notes)");
  ensemble->add_flag("--no-flip", ensemble_args->no_flip,
                     "record test-time flip averaging as off: the members, not mirror images, use the compute (default on)");
  ensemble->callback([&state, ensemble_args] {
    const auto& a = *ensemble_args;
    models::EnsembleOptions options;
    options.test_time_flip = !a.no_flip;
    options.metadata = {{"name", a.name.empty() ? std::filesystem::path(a.out).stem().string() : a.name},
                        {"created_by", "faceage models ensemble"}};
    if (!a.licence.empty()) options.metadata["licence"] = a.licence;
    models::save_ensemble(a.members, a.out, options);
    std::cout << "wrote an ensemble of " << a.members.size() << " bundles to " << a.out
              << " (test-time flip " << (a.no_flip ? "off" : "on") << ")\n";
    state.exit_code = 0;
  });

  // Back to single bundles: e.g. one member of the default ensemble where a latency budget needs it.
  auto unpack_args = std::make_shared<std::pair<std::string, std::string>>();
  auto* unpack = cmd->add_subcommand("unpack", "write an ensemble file's members out as single bundles");
  unpack->add_option("ensemble", unpack_args->first, "ensemble file")->required();
  unpack->add_option("-o,--out", unpack_args->second, "folder for <name>-member-<i>.fab")->required();
  unpack->callback([&state, unpack_args] {
    for (const auto& path : models::unpack_ensemble(unpack_args->first, unpack_args->second)) std::cout << path << "\n";
    state.exit_code = 0;
  });
}

}  // namespace faceage::cli
