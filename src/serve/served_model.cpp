#include "faceage/serve/served_model.hpp"

#include <algorithm>

#include "faceage/core/fs.hpp"

namespace faceage::serve {

ServedModel::ServedModel(const ServedModelOptions& options, const Context& context) {
  validate(options.batching);
  auto predictor_options = options.predictor;
  // The batcher decides batch sizes; the predictor must not split a batch further.
  predictor_options.batch_size = std::max(predictor_options.batch_size, options.batching.max_batch_size);
  predictor_options.face_workers = options.face_workers;
  // No request waits seconds for a detector (dlib's landmark model) to load under load.
  predictor_options.build_face_pipelines_now = true;
  predictor_ = std::make_unique<infer::Predictor>(predictor_options, context);
  const auto& info = predictor_->info();
  const nlohmann::json first = info.bundles.empty() ? nlohmann::json::object() : info.bundles.front();
  const auto metadata = first.value("metadata", nlohmann::json::object());
  registry_ = options.registry;
  if (!options.version.empty()) {
    version_ = options.version;
  } else if (metadata.contains("version") && metadata["version"].is_string()) {
    version_ = metadata["version"].get<std::string>();
  } else {
    version_ = sha256_file(info.paths.front()).substr(0, 12);
  }
  batcher_ = std::make_unique<DynamicBatcher>(
      options.batching, [predictor = predictor_.get()](const std::vector<cv::Mat>& crops) {
        return predictor->answer_crops(crops);
      },
      options.on_batch);
}

ServedModel::~ServedModel() = default;

infer::ImagePrediction ServedModel::predict_bytes(const std::uint8_t* data, std::size_t size, const std::string& source) {
  return std::move(predict({ImageBytes{data, size, source}}).front());
}

std::vector<infer::ImagePrediction> ServedModel::predict(const std::vector<ImageBytes>& images, ImageTimings* timings,
                                                         std::vector<cv::Mat>* rgbs) {
  // Announce first so a batch being formed waits for this request while it decodes and detects.
  auto ticket = batcher_->announce();
  std::vector<infer::ImagePrediction> predictions;
  predictions.reserve(images.size());
  std::vector<cv::Mat> crops;
  if (rgbs) rgbs->assign(images.size(), cv::Mat());
  for (std::size_t i = 0; i < images.size(); ++i) {
    const auto& image = images[i];
    predictions.push_back(predictor_->locate_bytes(image.data, image.size, image.source, crops, rgbs ? &(*rgbs)[i] : nullptr));
  }
  predictor_->answer_located(predictions, std::move(crops), [&](std::vector<cv::Mat>&& located_crops) {
    double queue_seconds = 0;
    auto answers = batcher_->run(std::move(located_crops), ticket, &queue_seconds);
    if (timings) timings->queue_seconds = queue_seconds;
    return answers;
  });
  return predictions;
}

namespace {

// What clients need of a bundle's (or an ensemble file's) JSON; the training config can be large.
nlohmann::json bundle_summary(const nlohmann::json& info) {
  nlohmann::json entry = nlohmann::json::object();
  for (const char* key : {"model_options", "preprocess", "labels", "test_time_flip"}) {
    if (info.contains(key)) entry[key] = info[key];
  }
  if (info.contains("metadata")) {
    const auto& m = info["metadata"];
    for (const char* key : {"name", "created_at", "metrics", "version"}) {
      if (m.contains(key)) entry[key] = m[key];
    }
  }
  if (info.contains("members") && info["members"].is_array()) {
    entry["members"] = nlohmann::json::array();
    for (const auto& member : info["members"]) entry["members"].push_back(bundle_summary(member.value("info", nlohmann::json::object())));
  }
  return entry;
}

}  // namespace

nlohmann::json ServedModel::describe(const std::string& name) const {
  const auto& info = predictor_->info();
  nlohmann::json bundles = nlohmann::json::array();
  for (std::size_t i = 0; i < info.bundles.size(); ++i) {
    auto entry = bundle_summary(info.bundles[i]);
    entry["path"] = info.paths[i];
    entry["licence"] = info.licences[i];
    bundles.push_back(std::move(entry));
  }
  return {{"name", name},
          {"version", version_},
          {"paths", info.paths},
          {"arch", info.arch},
          {"detector", info.detector},
          {"crop_size", info.crop_size},
          {"precision", info.precision},
          {"flip_average", info.flip_average},
          {"ensemble", info.members},
          {"bundles", std::move(bundles)},
          {"registry", registry_}};
}

}  // namespace faceage::serve
