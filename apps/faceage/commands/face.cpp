// `faceage face detect IMAGE...` and `faceage face fit-template --data DIR`: thin shells over
// faceage::face (FacePipeline, fit_template, check_alignment).
#include <filesystem>
#include <iostream>

#include <nlohmann/json.hpp>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include "commands/commands.hpp"
#include "faceage/core/error.hpp"
#include "faceage/core/fs.hpp"
#include "faceage/core/strings.hpp"
#include "faceage/data/image_io.hpp"
#include "faceage/face/detector.hpp"
#include "faceage/face/face_pipeline.hpp"
#include "faceage/face/template_fit.hpp"

namespace faceage::cli {

namespace {

// The data module's decoder: EXIF orientation applied, limits checked, RGB out.
cv::Mat read_rgb(const std::string& path) { return data::read_image(path).rgb; }

nlohmann::json points_json(const std::array<cv::Point2f, 5>& points) {
  nlohmann::json out = nlohmann::json::array();
  for (const auto& p : points) out.push_back({p.x, p.y});
  return out;
}

struct DetectArgs {
  std::vector<std::string> images;
  std::string detector = "yunet";
  std::string yunet_model;
  std::string selection = "all";
  std::string save_dir;
};

struct FitArgs {
  std::string data;
  std::size_t n = 500;
  std::size_t check = 200;
  std::string yunet_model;
  std::string out;
};

}  // namespace

void add_face_command(CLI::App& app, CliState& state) {
  auto* face = app.add_subcommand("face", "face detection and alignment tools");
  face->require_subcommand(1);

  auto detect_args = std::make_shared<DetectArgs>();
  auto* detect = face->add_subcommand("detect", "detect and align faces; prints one JSON line per image");
  detect->add_option("images", detect_args->images, "image files")->required();
  detect->add_option("--detector", detect_args->detector, join(face::builtin_detectors().names(), ", "));
  detect->add_option("--yunet-model", detect_args->yunet_model,
                     "YuNet .onnx file or folder (default: FACEAGE_YUNET_MODEL, else the shipped models/face)");
  detect->add_option("--selection", detect_args->selection, "all, largest or most_confident");
  detect->add_option("--save-crops", detect_args->save_dir, "write aligned crops to this directory");
  detect->callback([detect_args, &state] {
    face::FacePipelineOptions options;
    options.detector = detect_args->detector;
    options.detector_options.model_path = detect_args->yunet_model;
    options.selection = face::face_selection_from_name(detect_args->selection);
    face::FacePipeline pipeline(options);
    int failed = 0;
    for (const auto& path : detect_args->images) {
      nlohmann::json line{{"file", path}};
      try {
        const auto faces = pipeline.process(read_rgb(path), path);
        nlohmann::json list = nlohmann::json::array();
        for (const auto& f : faces) {
          nlohmann::json j{{"box", {f.box.x, f.box.y, f.box.width, f.box.height}}, {"score", f.score}, {"source", f.source}};
          if (f.has_landmarks) j["landmarks"] = points_json(f.landmarks);
          list.push_back(j);
          if (!detect_args->save_dir.empty()) {
            std::filesystem::create_directories(detect_args->save_dir);
            cv::Mat bgr;
            cv::cvtColor(f.aligned, bgr, cv::COLOR_RGB2BGR);
            const std::string out = detect_args->save_dir + "/" + std::filesystem::path(path).stem().string() + "_" +
                                    std::to_string(f.index) + ".png";
            cv::imwrite(out, bgr);
          }
        }
        line["faces"] = list;
      } catch (const Error& e) {
        ++failed;
        line["error"] = {{"code", error_code_name(e.code())}, {"message", e.what()}, {"hint", e.hint()}};
      }
      std::cout << line.dump() << "\n";
    }
    state.exit_code = failed ? kExitPartialFailure : kExitOk;
  });

  auto fit_args = std::make_shared<FitArgs>();
  auto* fit = face->add_subcommand("fit-template",
                                   "fit the alignment template on aligned face crops (UTKFace) and check it");
  fit->add_option("--data", fit_args->data, "dataset folder with images/*.jpg (e.g. ../shared/data/utkface)")->required();
  fit->add_option("--n", fit_args->n, "crops to fit on (spread evenly over the sorted file list)");
  fit->add_option("--check", fit_args->check, "other crops to check the fitted template on");
  fit->add_option("--yunet-model", fit_args->yunet_model, "YuNet .onnx (or env FACEAGE_YUNET_MODEL)");
  fit->add_option("--out", fit_args->out, "also write the JSON report here");
  fit->callback([fit_args, &state] {
    const auto [fit_files, check_files] = face::pick_template_images(fit_args->data + "/images", fit_args->n, fit_args->check);
    face::TemplateFitOptions options;
    options.detector_options.model_path = fit_args->yunet_model;
    if (face::resolve_yunet_model(options.detector_options).empty()) options.detectors = {"dlib-hog"};
    auto loader = [](const std::vector<std::string>& list) {
      return [&list](std::size_t i) { return read_rgb(list[i]); };
    };
    const face::TemplateFitReport report = face::fit_template(fit_files.size(), loader(fit_files), options);
    nlohmann::json out{{"fit", to_json(report)}, {"fit_images", fit_files.size()}, {"check_images", check_files.size()}};
    nlohmann::json checks = nlohmann::json::array();
    for (const auto& c : face::check_alignment(check_files.size(), loader(check_files), report.alignment, options)) {
      checks.push_back(to_json(c));
    }
    out["check"] = checks;
    std::cout << out.dump(2) << "\n";
    if (!fit_args->out.empty()) write_file_atomic(fit_args->out, out.dump(2) + "\n");
    state.exit_code = kExitOk;
  });
}

}  // namespace faceage::cli
