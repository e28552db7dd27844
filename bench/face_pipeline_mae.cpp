// The default model's UTKFace validation error through each face pipeline, and which path found
// each face (the figures of docs/face.md "Pipelines compared"):
//   face_pipeline_mae --model models/default.fab --data VAL.csv [--detectors yunet,dlib-hog]
//   face_pipeline_mae --model M --make-split ../shared/data/utkface OUT   (ingest + split first, as
//     `faceage data ingest --format utkface-labels` + `faceage data split` with defaults do; VAL = OUT/splits/val.csv)
// VAL.csv: `faceage data split` of the UTKFace manifest (docs/data.md). Per detector: age MAE over
// the images that got an answer, gender accuracy, counts by face source, and failures by code.
#include <cmath>
#include <cstdio>
#include <map>
#include <sstream>

#include <CLI/CLI.hpp>

#include "faceage/core/context.hpp"
#include "faceage/core/error.hpp"
#include "faceage/data/ingest.hpp"
#include "faceage/data/manifest.hpp"
#include "faceage/data/split.hpp"
#include "faceage/infer/predictor.hpp"
#include "faceage/models/tensor_io.hpp"

using namespace faceage;

int main(int argc, char** argv) {
  CLI::App app("validation MAE through each face pipeline");
  std::string model, data, detectors_text = "yunet,dlib-hog";
  app.add_option("--model", model, "bundle or ensemble file")->required();
  std::vector<std::string> make_split;
  app.add_option("--data", data, "manifest of the validation split");
  app.add_option("--make-split", make_split, "UTKFACE_DIR OUT: ingest and split first")->expected(2);
  app.add_option("--detectors", detectors_text, "comma-separated detectors");
  CLI11_PARSE(app, argc, argv);
  if (!make_split.empty()) {
    data::IngestOptions ingest;
    ingest.source = make_split[0];
    ingest.format = "utkface-labels";
    ingest.out = make_split[1] + "/manifest.csv";
    ingest.threads = 2;
    ingest.progress = 0;
    data::ingest_dataset(ingest);
    data::write_splits(ingest.out, make_split[1] + "/splits", data::SplitOptions{});
    data = make_split[1] + "/splits/val.csv";
  }

  const data::Manifest manifest = data::read_manifest(data);
  std::vector<std::string> paths;
  std::map<std::string, const data::ManifestRow*> row_of;
  for (const auto& row : manifest.rows) {
    paths.push_back(data::resolved_path(manifest, row));
    row_of[paths.back()] = &row;
  }
  ContextOptions context_options;
  context_options.log_level = "warn";
  const Context context = Context::make(context_options);
  models::configure_runtime(context);
  std::stringstream ss(detectors_text);
  for (std::string detector; std::getline(ss, detector, ',');) {
    infer::PredictorOptions options;
    options.model_paths = {model};
    options.all_faces = false;
    options.detector = detector;
    infer::Predictor predictor(options, context);
    double abs_error = 0;
    int answered = 0, gender_right = 0, gender_known = 0;
    std::map<std::string, int> sources, failures;
    predictor.predict_files(paths, [&](infer::ImagePrediction&& p) {
      if (!p.ok()) {
        ++failures[error_code_name(p.error->code)];
        return;
      }
      const data::ManifestRow& row = *row_of.at(p.source);
      const infer::FacePrediction& face = p.faces.front();
      ++sources[face.face_source];
      abs_error += std::abs(face.age - row.age);
      ++answered;
      if (!row.gender.empty()) {
        ++gender_known;
        gender_right += face.gender == row.gender;
      }
    });
    std::printf("%s: MAE %.3f over %d of %zu images, gender %.2f %%; sources:", detector.c_str(),
                abs_error / std::max(1, answered), answered, paths.size(), 100.0 * gender_right / std::max(1, gender_known));
    for (const auto& [source, n] : sources) std::printf(" %s %d (%.2f %%)", source.c_str(), n, 100.0 * n / paths.size());
    std::printf("; failed:");
    for (const auto& [code, n] : failures) std::printf(" %s %d", code.c_str(), n);
    std::printf("\n");
    std::fflush(stdout);
  }
  return 0;
}
