#include "faceage/infer/predictor.hpp"

#include <torch/torch.h>

#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <mutex>
#include <new>
#include <sstream>
#include <thread>

#include <opencv2/imgproc.hpp>
#include <spdlog/spdlog.h>

#include "faceage/core/check.hpp"
#include "faceage/core/fs.hpp"
#include "faceage/core/shipped_path.hpp"
#include "faceage/face/face_pipeline.hpp"
#include "faceage/infer/locate.hpp"
#include "faceage/models/batchnorm.hpp"
#include "faceage/models/bundle.hpp"
#include "faceage/models/decode.hpp"
#include "faceage/models/tensor_io.hpp"
#include "infer/pipeline_pool.hpp"

namespace faceage::infer {

namespace fs = std::filesystem;

std::string default_model_path() {
  if (const char* env = std::getenv("FACEAGE_MODEL"); env && *env) {
    FACEAGE_CHECK(fs::exists(env), ErrorCode::kNotFound,
                  "FACEAGE_MODEL points at '" << env << "', which does not exist");
    return env;
  }
  if (std::string shipped = find_shipped_path("models/default.fab"); !shipped.empty()) return shipped;
  throw Error(ErrorCode::kNotFound, "no default model found next to the faceage program",
              "pass --model BUNDLE, or set FACEAGE_MODEL=/path/to/model.fab");
}

namespace {

// Rows [start, start + count) of every defined output tensor.
models::ModelOutput rows_of(const models::ModelOutput& out, int64_t start, int64_t count) {
  auto rows = [&](const torch::Tensor& t) { return t.defined() ? t.narrow(0, start, count) : t; };
  return {rows(out.age), rows(out.age_logits), rows(out.age_std), rows(out.gender_logits), rows(out.features)};
}

// The model on `input` in calls of at most `max_images` rows, outputs concatenated.
models::ModelOutput forward_in_calls(models::AgeGenderModel& model, const torch::Tensor& input, int max_images) {
  const int64_t total = input.size(0);
  if (total <= max_images) return model->forward(input);
  std::vector<models::ModelOutput> parts;
  for (int64_t start = 0; start < total; start += max_images) {
    parts.push_back(model->forward(input.narrow(0, start, std::min<int64_t>(max_images, total - start))));
  }
  auto joined = [&](torch::Tensor models::ModelOutput::*field) {
    if (!(parts.front().*field).defined()) return torch::Tensor();
    std::vector<torch::Tensor> pieces;
    for (const auto& part : parts) pieces.push_back(part.*field);
    return torch::cat(pieces);
  };
  return {joined(&models::ModelOutput::age), joined(&models::ModelOutput::age_logits),
          joined(&models::ModelOutput::age_std), joined(&models::ModelOutput::gender_logits),
          joined(&models::ModelOutput::features)};
}

}  // namespace

double interval_scale_of(double age_std, double quality_score) {
  const double quality = std::clamp(quality_score, 0.0, 1.0);
  return std::max(0.5, age_std) * (1.0 + kQualityWidening * (1.0 - quality));
}

void finish_face(FacePrediction& face, const CropAnswer& answer, const std::vector<std::string>& genders,
                 const PredictorOptions& options, const models::ConformalCalibration* conformal,
                 const models::MinorCalibration* minor) {
  face.age = answer.age;
  face.age_low = answer.age_low;
  face.age_high = answer.age_high;
  face.age_std = answer.age_std;
  face.minor_gate = options.minor_gate;
  face.p_minor = minor ? minor->scaling.apply(answer.p_minor) : answer.p_minor;
  face.p_minor_calibrated = minor != nullptr;
  face.raw_p_minor_at = answer.p_minor_at;
  face.unreliable = face.quality.score < options.unreliable_below;
  face.conformal_interval = false;
  if (conformal) {
    // No interval (too few calibration faces for the coverage) keeps the model's own.
    if (const auto interval = conformal->interval(answer.age, interval_scale_of(answer.age_std, face.quality.score))) {
      face.age_low = interval->low;
      face.age_high = interval->high;
      face.conformal_interval = true;
    }
  }
  face.female_prob = answer.female_prob;
  if (!answer.female_prob) return;
  const bool female = *answer.female_prob >= 0.5;
  face.gender = genders.size() == 2 ? genders[female ? 1 : 0] : (female ? "female" : "male");
  face.gender_prob = female ? *answer.female_prob : 1.0 - *answer.female_prob;
}

struct Predictor::Impl {
  PredictorOptions options;
  Context context;
  ModelInfo info;
  std::vector<models::Bundle> bundles;
  torch::Device device{torch::kCPU};
  std::mutex model_mutex;  // one model call at a time; torch parallelises inside it
  std::unique_ptr<PipelinePool> pipelines;  // lends face pipelines to concurrent locate_faces calls

  std::vector<CropAnswer> run_models(const std::vector<cv::Mat>& crops) {
    std::vector<CropAnswer> answers(crops.size());
    if (crops.empty()) return answers;
    std::lock_guard<std::mutex> lock(model_mutex);
    torch::InferenceMode inference_guard;
    const int batch = std::max(1, options.batch_size);
    for (std::size_t start = 0; start < crops.size(); start += batch) {
      std::size_t end = std::min(crops.size(), start + static_cast<std::size_t>(batch));
      std::vector<cv::Mat> slice(crops.begin() + start, crops.begin() + end);
      for (auto& bundle : bundles) {
        auto input = models::images_to_tensor(slice, bundle.preprocess).to(device);
        // The mirrored faces ride in the same forward call, up to batch_size images per call: one
        // call on a face and its mirror costs less than two calls (docs/model-card.md).
        const int64_t rows = input.size(0);
        const auto both = forward_in_calls(bundle.model, info.flip_average ? torch::cat({input, input.flip({3})}) : input, batch);
        std::vector<models::ModelOutput> outputs;
        outputs.push_back(rows_of(both, 0, rows));
        if (info.flip_average) outputs.push_back(rows_of(both, rows, rows));
        const auto& model_options = bundle.model_options;
        const bool distribution = model_options.age_head == models::AgeHeadKind::kDistribution;
        torch::Tensor probs, ages, females;
        for (const auto& out : outputs) {
          auto age = out.age.to(torch::kCPU, torch::kDouble);
          ages = ages.defined() ? ages + age : age;
          if (distribution) {
            auto p = torch::softmax(out.age_logits.to(torch::kFloat), 1).to(torch::kCPU);
            probs = probs.defined() ? probs + p : p;
          }
          if (out.gender_logits.defined()) {
            auto f = torch::softmax(out.gender_logits.to(torch::kFloat), 1).select(1, 1).to(torch::kCPU, torch::kDouble);
            females = females.defined() ? females + f : f;
          }
        }
        const double n = static_cast<double>(outputs.size());
        ages = ages / n;
        if (probs.defined()) probs = (probs / n).contiguous();
        if (females.defined()) females = females / n;
        const auto& labels = bundle.labels;
        for (std::size_t i = 0; i < slice.size(); ++i) {
          const auto decoded = models::decode_age(model_options, labels, distribution ? probs[i].data_ptr<float>() : nullptr,
                                                  distribution ? 0.0 : ages[i].item<double>());
          CropAnswer answer;
          answer.age = decoded.age;
          answer.age_low = decoded.low;
          answer.age_high = decoded.high;
          answer.age_std = decoded.std;
          auto minor_below = [&](double gate) {
            return distribution ? models::minor_probability(probs[i].data_ptr<float>(),
                                                            static_cast<int>(model_options.age_bins()),
                                                            model_options.min_age, gate)
                                : models::minor_probability_normal(decoded.age, decoded.std, gate);
          };
          auto& total = answers[start + i];
          total.p_minor += minor_below(options.minor_gate);
          total.p_minor_at.resize(options.raw_gates.size());
          for (std::size_t g = 0; g < options.raw_gates.size(); ++g) total.p_minor_at[g] += minor_below(options.raw_gates[g]);
          total.age += answer.age;
          total.age_low += answer.age_low;
          total.age_high += answer.age_high;
          total.age_std += answer.age_std;
          // Members without a gender head have no say in it.
          if (females.defined()) total.female_prob = total.female_prob.value_or(0.0) + females[i].item<double>();
        }
      }
    }
    const double count = static_cast<double>(bundles.size());
    const double gender_members = static_cast<double>(
        std::count_if(bundles.begin(), bundles.end(), [](const models::Bundle& b) { return b.model_options.gender_head; }));
    for (auto& answer : answers) {
      answer.age /= count;
      answer.age_low /= count;
      answer.age_high /= count;
      answer.age_std /= count;
      answer.p_minor /= count;
      for (auto& p : answer.p_minor_at) p /= count;
      if (answer.female_prob) *answer.female_prob /= gender_members;
    }
    return answers;
  }

  // Writes model answers into the faces (answers[i] for face i); with refuse_unreliable, drops
  // unreliable faces (keeping the others' indices) and fails an image left with none.
  void apply_answers(ImagePrediction& prediction, const CropAnswer* answers) const {
    const auto* conformal = models::find_conformal(info.conformal, options.coverage);
    const auto* minor = models::find_minor_calibration(info.minor, options.minor_gate);
    for (std::size_t i = 0; i < prediction.faces.size(); ++i) {
      finish_face(prediction.faces[i], answers[i], bundles.front().labels.genders, options, conformal, minor);
    }
    if (!options.refuse_unreliable || prediction.faces.empty()) return;
    const auto found = prediction.faces.size();
    auto& faces = prediction.faces;
    faces.erase(std::remove_if(faces.begin(), faces.end(), [](const FacePrediction& f) { return f.unreliable; }),
                faces.end());
    if (faces.empty()) {
      std::ostringstream message;
      message << prediction.source << ": " << found << (found == 1 ? " face" : " faces")
              << " found, none fit to judge: quality below the threshold " << options.unreliable_below
              << " (unreliable)";
      prediction.error = PredictionError{ErrorCode::kNoFace, message.str()};
    }
  }
};

Predictor::Predictor(const PredictorOptions& options, const Context& context) : impl_(std::make_unique<Impl>()) {
  impl_->options = options;
  impl_->context = context;
  FACEAGE_CHECK(options.batch_size > 0, ErrorCode::kInvalidArgument, "batch size must be > 0, got " << options.batch_size);
  FACEAGE_CHECK(options.coverage > 0 && options.coverage < 1, ErrorCode::kInvalidArgument,
                "coverage must be in (0, 1), got " << options.coverage);
  FACEAGE_CHECK(options.minor_gate > 0, ErrorCode::kInvalidArgument, "minor gate must be > 0, got " << options.minor_gate);
  impl_->device = models::parse_device(context.device);
  auto paths = options.model_paths;
  if (paths.empty()) paths.push_back(default_model_path());
  const auto precision = models::resolve_precision(options.precision, context.device);
  impl_->info.precision = models::precision_name(precision);
  std::optional<bool> recorded_flip;
  for (const auto& path : paths) {
    auto file = models::load_model_file(path, context.device);
    if (impl_->bundles.empty()) recorded_flip = file.test_time_flip;
    for (auto& bundle : file.members) {
      // BN folded into convolutions + channels-last: same outputs, several times faster on CPU.
      models::optimize_for_inference(bundle.model, precision);
      impl_->bundles.push_back(std::move(bundle));
    }
    // Calibration lives in the model file's own bundle.json labels (plain bundle or ensemble).
    if (paths.size() == 1 && file.info.contains("labels")) {
      const auto labels = models::label_spec_from_json(file.info["labels"]);
      impl_->info.conformal = labels.conformal;
      impl_->info.minor = labels.minor;
    }
    impl_->info.paths.push_back(path);
    impl_->info.licences.push_back(models::licence_note(file.info));
    impl_->info.bundles.push_back(std::move(file.info));
  }
  impl_->info.flip_average = options.flip_average.value_or(recorded_flip.value_or(true));
  impl_->info.members = static_cast<int>(impl_->bundles.size());
  impl_->info.arch = impl_->bundles.front().model_options.arch;
  const auto& first = impl_->bundles.front();
  auto face_options = first.face_pipeline.is_null() || first.face_pipeline.empty()
                          ? face::FacePipelineOptions{}
                          : face::face_pipeline_from_json(first.face_pipeline);
  for (std::size_t i = 1; i < impl_->bundles.size(); ++i) {
    const auto& other = impl_->bundles[i].face_pipeline;
    if (!other.empty() && other != first.face_pipeline && context.logger) {
      context.logger->warn("model {} of {} ('{}') was trained with other face-pipeline settings than the first; using the first's",
                           i + 1, impl_->bundles.size(), impl_->bundles[i].metadata.value("name", std::string("unnamed")));
    }
  }
  if (!options.detector.empty()) face_options.detector = options.detector;
  if (!options.yunet_model.empty()) face_options.detector_options.model_path = options.yunet_model;
  face_options.selection = options.all_faces ? face::FaceSelection::kAll : face::FaceSelection::kLargest;
  const int face_workers = options.face_workers > 0 ? options.face_workers : std::max(1, context.threads);
  impl_->pipelines = std::make_unique<PipelinePool>(face_options, static_cast<std::size_t>(face_workers));
  // A bad detector name or a missing detector model fails here, not on the first image.
  if (options.build_face_pipelines_now) {
    impl_->pipelines->build_all();
  } else {
    impl_->pipelines->build_one();
  }
  impl_->info.detector = face_options.detector;
  impl_->info.crop_size = face_options.crop_size;
  impl_->info.gender = std::any_of(impl_->bundles.begin(), impl_->bundles.end(),
                                   [](const models::Bundle& b) { return b.model_options.gender_head; });
}

Predictor::~Predictor() = default;

const ModelInfo& Predictor::info() const { return impl_->info; }
const PredictorOptions& Predictor::options() const { return impl_->options; }

ImagePrediction Predictor::locate_faces(const cv::Mat& rgb, const std::string& source, std::vector<cv::Mat>& crops) {
  return guarded(source, [&] {
    return located_prediction(rgb, source, impl_->pipelines->process(rgb, source), crops, impl_->options.quality);
  });
}

ImagePrediction Predictor::locate_bytes(const std::uint8_t* data, std::size_t size, const std::string& source,
                                        std::vector<cv::Mat>& crops, cv::Mat* rgb) {
  if (rgb) rgb->release();
  return guarded(source, [&] {
    auto decoded = data::decode_image(data, size, impl_->options.decode, source);
    auto located = locate_faces(decoded.rgb, source, crops);
    if (rgb) *rgb = std::move(decoded.rgb);
    return located;
  });
}

std::vector<CropAnswer> Predictor::answer_crops(const std::vector<cv::Mat>& aligned_crops) {
  return impl_->run_models(aligned_crops);
}

void Predictor::answer_located(std::vector<ImagePrediction>& located, std::vector<cv::Mat>&& crops,
                               const CropRunner& run) {
  std::vector<CropAnswer> answers;
  try {
    answers = run(std::move(crops));
  } catch (...) {
    // The model call failed: a server-side error for every image that reached it.
    for (auto& prediction : located) {
      if (prediction.ok() && !prediction.faces.empty()) {
        prediction = failed_prediction(prediction.source, current_error(prediction.source));
      }
    }
    return;
  }
  std::size_t offset = 0;
  for (auto& prediction : located) {
    if (!prediction.ok()) continue;
    FACEAGE_CHECK(offset + prediction.faces.size() <= answers.size(), ErrorCode::kInternal,
                  answers.size() << " answers for more located faces");
    impl_->apply_answers(prediction, answers.data() + offset);
    offset += prediction.faces.size();
  }
}

ImagePrediction Predictor::predict_image(const cv::Mat& rgb, const std::string& source) {
  std::vector<cv::Mat> crops;
  std::vector<ImagePrediction> located{locate_faces(rgb, source, crops)};
  answer_located(located, std::move(crops), [this](std::vector<cv::Mat>&& c) { return answer_crops(c); });
  return std::move(located.front());
}

ImagePrediction Predictor::predict_bytes(const std::uint8_t* data, std::size_t size, const std::string& source) {
  return guarded(source, [&] {
    auto decoded = data::decode_image(data, size, impl_->options.decode, source);
    return predict_image(decoded.rgb, source);
  });
}

ImagePrediction Predictor::predict_file(const std::string& path) {
  return guarded(path, [&] {
    auto decoded = data::read_image(path, impl_->options.decode);
    return predict_image(decoded.rgb, path);
  });
}

std::vector<ImagePrediction> Predictor::predict_files(const std::vector<std::string>& paths) {
  std::vector<ImagePrediction> results;
  results.reserve(paths.size());
  predict_files(paths, [&](ImagePrediction&& prediction) { results.push_back(std::move(prediction)); });
  return results;
}

void Predictor::predict_files(const std::vector<std::string>& paths,
                              const std::function<void(ImagePrediction&&)>& on_done) {
  const std::size_t chunk = static_cast<std::size_t>(std::max(1, impl_->options.batch_size));
  const int workers = std::max(1, impl_->context.threads);
  for (std::size_t start = 0; start < paths.size(); start += chunk) {
    const std::size_t end = std::min(paths.size(), start + chunk);
    const std::size_t count = end - start;
    std::vector<ImagePrediction> located(count);
    std::vector<std::vector<cv::Mat>> crops(count);
    // Phase 1: decode, detect and align in parallel (the model is idle meanwhile, so the
    // threads do not compete with torch's own).
    std::atomic<std::size_t> next{0};
    auto work = [&] {
      for (std::size_t i = next++; i < count; i = next++) {
        const auto& path = paths[start + i];
        located[i] = guarded(path, [&] {
          auto decoded = data::read_image(path, impl_->options.decode);
          return locate_faces(decoded.rgb, path, crops[i]);
        });
      }
    };
    std::vector<std::thread> threads;
    for (int t = 1; t < std::min<int>(workers, static_cast<int>(count)); ++t) threads.emplace_back(work);
    work();
    for (auto& thread : threads) thread.join();
    // Phase 2: one batched model call for every face in the chunk.
    std::vector<cv::Mat> all_crops;
    for (auto& image_crops : crops) {
      for (auto& crop : image_crops) all_crops.push_back(std::move(crop));
    }
    answer_located(located, std::move(all_crops), [this](std::vector<cv::Mat>&& c) { return answer_crops(c); });
    for (auto& prediction : located) on_done(std::move(prediction));
  }
}

}  // namespace faceage::infer
