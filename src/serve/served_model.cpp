#include "faceage/serve/served_model.hpp"

#include <chrono>
#include <condition_variable>
#include <deque>
#include <exception>
#include <thread>

#include "faceage/core/check.hpp"
#include "faceage/core/fs.hpp"
#include "faceage/data/image_io.hpp"
#include "faceage/face/face_pipeline.hpp"

namespace faceage::serve {

// Face pipelines are not thread-safe and can be large (dlib's landmark model is ~100 MB each), so
// at most `limit` exist; HTTP workers beyond that queue for one. Hand-off is first come, first
// served: a worker that releases a pipeline and comes straight back with its next keep-alive
// request must not barge ahead of others (that starves some requests for seconds under load).
struct ServedModel::PipelinePool {
  face::FacePipelineOptions options;
  std::size_t limit = 1;
  std::size_t created = 0;
  std::mutex mutex;
  std::vector<std::unique_ptr<face::FacePipeline>> idle;
  struct Waiter {
    std::condition_variable ready;
    std::unique_ptr<face::FacePipeline> pipeline;
    bool may_create = false;  // handed the right to build one (a build failed and freed a slot)
  };
  std::deque<Waiter*> waiters;

  std::unique_ptr<face::FacePipeline> acquire() {
    std::unique_lock<std::mutex> lock(mutex);
    if (waiters.empty() && !idle.empty()) {
      auto pipeline = std::move(idle.back());
      idle.pop_back();
      return pipeline;
    }
    if (waiters.empty() && created < limit) return create(lock);
    Waiter waiter;
    waiters.push_back(&waiter);
    waiter.ready.wait(lock, [&] { return waiter.pipeline != nullptr || waiter.may_create; });
    if (waiter.pipeline) return std::move(waiter.pipeline);
    return create(lock);
  }

  void release(std::unique_ptr<face::FacePipeline> pipeline) {
    std::lock_guard<std::mutex> lock(mutex);
    if (!waiters.empty()) {
      Waiter* next = waiters.front();
      waiters.pop_front();
      next->pipeline = std::move(pipeline);
      next->ready.notify_one();
      return;
    }
    idle.push_back(std::move(pipeline));
  }

 private:
  // Called with the lock held and a free slot; builds outside the lock.
  std::unique_ptr<face::FacePipeline> create(std::unique_lock<std::mutex>& lock) {
    ++created;
    lock.unlock();
    try {
      return std::make_unique<face::FacePipeline>(options);
    } catch (...) {
      lock.lock();
      --created;
      if (!waiters.empty()) {  // let the next waiter try (and report its own error)
        Waiter* next = waiters.front();
        waiters.pop_front();
        next->may_create = true;
        next->ready.notify_one();
      }
      throw;
    }
  }
};

ServedModel::ServedModel(const ServedModelOptions& options, const Context& context)
    : pipelines_(std::make_unique<PipelinePool>()) {
  validate(options.batching);
  auto predictor_options = options.predictor;
  // The batcher decides batch sizes; the predictor must not split a batch further.
  predictor_options.batch_size = std::max(predictor_options.batch_size, options.batching.max_batch_size);
  predictor_ = std::make_unique<infer::Predictor>(predictor_options, context);
  decode_ = predictor_options.decode;

  // The same face-pipeline settings the Predictor derives from the bundle (predictor.cpp), so
  // served answers equal `faceage predict` answers.
  const auto& info = predictor_->info();
  const nlohmann::json first = info.bundles.empty() ? nlohmann::json::object() : info.bundles.front();
  const auto face_json = first.value("face_pipeline", nlohmann::json::object());
  auto& face_options = pipelines_->options;
  face_options = face_json.is_object() && !face_json.empty() ? face::face_pipeline_from_json(face_json)
                                                             : face::FacePipelineOptions{};
  if (!predictor_options.detector.empty()) face_options.detector = predictor_options.detector;
  if (!predictor_options.yunet_model.empty()) face_options.detector_options.model_path = predictor_options.yunet_model;
  face_options.selection = predictor_options.all_faces ? face::FaceSelection::kAll : face::FaceSelection::kLargest;
  pipelines_->limit = static_cast<std::size_t>(options.face_workers > 0 ? options.face_workers : std::max(1, context.threads));
  // Build every pipeline now, in parallel: a bad detector fails here rather than on a request, and
  // no request waits seconds for a detector (dlib's landmark model) to load under load.
  {
    std::vector<std::unique_ptr<face::FacePipeline>> built(pipelines_->limit);
    std::vector<std::exception_ptr> errors(pipelines_->limit);
    std::vector<std::thread> threads;
    for (std::size_t i = 0; i < built.size(); ++i) {
      threads.emplace_back([&, i] {
        try {
          built[i] = pipelines_->acquire();
        } catch (...) {
          errors[i] = std::current_exception();
        }
      });
    }
    for (auto& thread : threads) thread.join();
    for (auto& pipeline : built) {
      if (pipeline) pipelines_->release(std::move(pipeline));
    }
    for (const auto& error : errors) {
      if (error) std::rethrow_exception(error);
    }
  }

  genders_ = {"male", "female"};
  if (first.contains("labels") && first["labels"].contains("genders") && first["labels"]["genders"].is_array()) {
    genders_ = first["labels"]["genders"].get<std::vector<std::string>>();
  }
  const auto metadata = first.value("metadata", nlohmann::json::object());
  if (metadata.contains("version") && metadata["version"].is_string()) {
    version_ = metadata["version"].get<std::string>();
  } else {
    version_ = sha256_file(info.paths.front()).substr(0, 12);
  }
  batcher_ = std::make_unique<DynamicBatcher>(
      options.batching, [predictor = predictor_.get()](const std::vector<cv::Mat>& crops) {
        return predictor->predict_crops(crops);
      },
      options.on_batch);
}

ServedModel::~ServedModel() = default;

infer::ImagePrediction ServedModel::locate(const cv::Mat& rgb, const std::string& source, std::vector<cv::Mat>& crops) {
  auto pipeline = pipelines_->acquire();
  std::vector<face::FaceRecord> records;
  try {
    records = pipeline->process(rgb, source);
  } catch (...) {
    pipelines_->release(std::move(pipeline));
    throw;
  }
  pipelines_->release(std::move(pipeline));
  return infer::located_prediction(rgb, source, std::move(records), crops);
}

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
    const std::size_t before = crops.size();
    predictions.push_back(infer::guard_prediction(image.source, [&] {
      auto decoded = data::decode_image(image.data, image.size, decode_, image.source);
      auto prediction = locate(decoded.rgb, image.source, crops);
      if (rgbs) (*rgbs)[i] = std::move(decoded.rgb);
      return prediction;
    }));
    if (!predictions.back().ok()) crops.resize(before);  // a failure midway leaves no stray crops
  }
  std::vector<infer::CropAnswer> answers;
  try {
    double queue_seconds = 0;
    answers = batcher_->run(std::move(crops), ticket, &queue_seconds);
    if (timings) timings->queue_seconds = queue_seconds;
  } catch (const std::exception& e) {
    // The model call failed: a server-side error for every image that reached it.
    const Error* error = dynamic_cast<const Error*>(&e);
    for (auto& prediction : predictions) {
      if (prediction.ok() && !prediction.faces.empty()) {
        prediction = infer::failed_prediction(prediction.source, error ? error->code() : ErrorCode::kInternal,
                            error ? error->full_message() : std::string(e.what()));
      }
    }
    return predictions;
  }
  std::size_t offset = 0;
  for (auto& prediction : predictions) {
    if (!prediction.ok()) continue;
    infer::apply_answers(prediction, answers.data() + offset, genders_);
    offset += prediction.faces.size();
  }
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
          {"bundles", std::move(bundles)}};
}

}  // namespace faceage::serve
