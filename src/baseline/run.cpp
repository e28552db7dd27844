#include "faceage/baseline/run.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <sstream>

#include <spdlog/spdlog.h>

#include "faceage/core/check.hpp"
#include "faceage/core/progress.hpp"
#include "faceage/data/image_io.hpp"
#include "faceage/data/manifest.hpp"
#include "faceage/infer/locate.hpp"
#include "faceage/models/calibration.hpp"
#include "faceage/train/crop_cache.hpp"
#include "faceage/train/run_config.hpp"

namespace faceage::baseline {

namespace {

constexpr double kZ90 = 1.6448536269514722;  // the baseline's interval: age +/- z90 * residual std

train::CropSet build_crops(const std::string& manifest, const TrainRunOptions& options, const Context& context,
                           train::CropSetReport& report) {
  const std::string cache = train::expand_home(options.cache_dir.empty() ? train::kDefaultCropCacheDir : options.cache_dir);
  return train::CropSet::build(data::read_manifest(manifest), {cache, options.face, 0, options.progress != 0}, context,
                               &report);
}

std::vector<cv::Mat> crops_of(const train::CropSet& set) {
  std::vector<cv::Mat> crops;
  crops.reserve(set.size());
  for (std::size_t i = 0; i < set.size(); ++i) crops.push_back(set.crop(i));
  return crops;
}

// The baseline's answer in the Predictor's terms: a normal with the residual spread around the SVR.
infer::CropAnswer crop_answer(const BaselineAnswer& answer, double residual_std, double minor_gate) {
  infer::CropAnswer out;
  out.age = answer.age;
  out.age_std = residual_std;
  out.age_low = std::max(0.0, answer.age - kZ90 * residual_std);
  out.age_high = answer.age + kZ90 * residual_std;
  out.p_minor = models::minor_probability_normal(answer.age, residual_std, minor_gate);
  out.female_prob = answer.female_prob;
  return out;
}

// The images to run on, and the name each one's record carries.
struct Inputs {
  std::vector<std::string> paths;
  std::map<std::string, std::string> name_of;  // manifest runs: resolved path -> manifest file
  std::vector<std::string> skipped;
};

Inputs collect_inputs(const BaselinePredictOptions& options) {
  Inputs in;
  if (options.manifest_csv.empty()) {
    auto scan = data::scan_images(options.inputs);
    FACEAGE_CHECK(!scan.images.empty(), ErrorCode::kNotFound, "no image files found in the given paths");
    in.paths = std::move(scan.images);
    in.skipped = std::move(scan.skipped);
    return in;
  }
  auto images = data::images_of_split(data::read_manifest(options.manifest_csv), options.split, options.manifest_csv);
  in.paths = std::move(images.paths);
  in.name_of = std::move(images.file_of_path);
  return in;
}

}  // namespace

TrainRunResult train_baseline(const TrainRunOptions& options, const Context& context) {
  FACEAGE_CHECK(!options.train_csv.empty(), ErrorCode::kInvalidArgument, "baseline train needs a train manifest (--data)");
  FACEAGE_CHECK(!options.out.empty(), ErrorCode::kInvalidArgument, "baseline train needs a model file to write (--out)");
  validate(options.model);
  face::validate(options.face);
  TrainRunResult result;
  train::CropSetReport report;
  const auto train_set = build_crops(options.train_csv, options, context, report);
  result.train_crops = train_set.size();
  result.train_failed = report.failed;
  LabelledCrops data;
  data.crops = crops_of(train_set);
  for (std::size_t i = 0; i < train_set.size(); ++i) {
    data.ages.push_back(train_set.sample(i).age);
    data.genders.push_back(train_set.sample(i).gender);
  }
  auto model = BaselineModel::fit(data, options.model, &result.fit);

  // The residual spread: on val when given, else on the training crops (optimistic).
  const train::CropSet* scored = &train_set;
  std::optional<train::CropSet> val_set;
  if (!options.val_csv.empty()) {
    train::CropSetReport val_report;
    val_set.emplace(build_crops(options.val_csv, options, context, val_report));
    result.val_crops = val_set->size();
    result.val_failed = val_report.failed;
    scored = &*val_set;
  }
  const auto answers = model.predict(crops_of(*scored));
  std::vector<eval::EvalRecord> records;
  double squares = 0;
  for (std::size_t i = 0; i < scored->size(); ++i) {
    const auto& s = scored->sample(i);
    eval::EvalRecord r;
    r.file = scored->manifest().rows[s.row].file;
    r.true_age = s.age;
    r.true_gender = s.gender == 1 ? "female" : s.gender == 0 ? "male" : "";
    r.race = s.race;
    r.pred_age = answers[i].age;
    if (answers[i].female_prob) {
      r.female_prob = *answers[i].female_prob;
      r.pred_gender = r.female_prob >= 0.5 ? "female" : "male";
    }
    squares += (r.pred_age - r.true_age) * (r.pred_age - r.true_age);
    records.push_back(r);
  }
  result.age_residual_std = records.empty() ? 0.0 : std::sqrt(squares / static_cast<double>(records.size()));
  if (val_set) result.val = eval::compute_metrics(records);

  auto face_options = options.face;
  face_options.selection = face::FaceSelection::kLargest;
  auto& info = model.info();
  info["face_pipeline"] = face::to_json(face_options);
  info["age_residual_std"] = result.age_residual_std;
  info["age_residual_source"] = val_set ? "val" : "train";
  info["train"] = {{"manifest", options.train_csv}, {"crops", result.train_crops}, {"failed", result.train_failed}};
  if (result.val) {
    info["val"] = {{"manifest", options.val_csv}, {"crops", result.val_crops}, {"mae", result.val->age.mae},
                   {"rmse", result.val->age.rmse}, {"cs5", result.val->age.cs5},
                   {"gender_accuracy", result.val->gender.accuracy}};
  }
  model.save(options.out);
  return result;
}

std::string format_train_result(const TrainRunResult& r) {
  char line[512];
  std::snprintf(line, sizeof line,
                "fitted on %zu of %zu crops (%zu rows without a face) in %.1f s: PCA %d, %zu age / %zu gender "
                "support vectors\n",
                r.fit.samples, r.train_crops, r.train_failed, r.fit.seconds, r.fit.pca_dims, r.fit.age_support_vectors,
                r.fit.gender_support_vectors);
  std::string text = line;
  if (r.val) {
    std::snprintf(line, sizeof line, "val: n=%lld MAE %.2f RMSE %.2f CS@5 %.1f%% gender %.1f%% (%zu rows without a face)\n",
                  static_cast<long long>(r.val->age.count), r.val->age.mae, r.val->age.rmse, 100 * r.val->age.cs5,
                  100 * r.val->gender.accuracy, r.val_failed);
    text += line;
  }
  return text;
}

infer::CropAnswer blend_answers(const infer::CropAnswer& network, const BaselineAnswer& baseline, double weight) {
  infer::CropAnswer out = network;
  const double w = weight;
  const double shift = w * (baseline.age - network.age);
  out.age = network.age + shift;
  out.age_low = std::max(0.0, network.age_low + shift);
  out.age_high = network.age_high + shift;
  if (network.female_prob && baseline.female_prob) {
    out.female_prob = (1 - w) * *network.female_prob + w * *baseline.female_prob;
  }
  return out;
}

infer::PredictRunSummary predict_baseline(const BaselinePredictOptions& options, const Context& context,
                                          std::ostream& out) {
  FACEAGE_CHECK(options.inputs.empty() != options.manifest_csv.empty(), ErrorCode::kInvalidArgument,
                "give image files or folders, or --manifest, not both");
  FACEAGE_CHECK(options.baseline_weight >= 0 && options.baseline_weight <= 1, ErrorCode::kInvalidArgument,
                "--weight must be in [0, 1], got " << options.baseline_weight);
  const auto model = BaselineModel::load(options.model);
  const bool all_faces = options.all_faces && options.manifest_csv.empty();
  auto face_options = face::face_pipeline_from_json(model.info().value("face_pipeline", nlohmann::json::object()));
  if (!options.detector.empty()) face_options.detector = options.detector;
  face_options.selection = all_faces ? face::FaceSelection::kAll : face::FaceSelection::kLargest;
  const double residual_std = model.info().value("age_residual_std", 0.0);

  infer::PredictorOptions predictor_options;  // answer settings (minor gate, quality threshold)
  predictor_options.all_faces = all_faces;
  predictor_options.detector = options.detector;
  std::optional<face::FacePipeline> pipeline;
  std::optional<infer::Predictor> network;
  if (options.network.empty()) {
    pipeline.emplace(face_options);
  } else {
    predictor_options.model_paths = {options.network};
    network.emplace(predictor_options, context);
    const auto& info = network->info();
    if ((info.crop_size != face_options.crop_size || info.detector != face_options.detector) && context.logger) {
      context.logger->warn("the network locates faces with {} at {} px, the baseline was trained on {} at {} px",
                           info.detector, info.crop_size, face_options.detector, face_options.crop_size);
    }
  }

  const Inputs inputs = collect_inputs(options);
  infer::RecordWriter writer(options.format.empty() ? (options.manifest_csv.empty() ? "json" : "csv") : options.format,
                             options.output, out);
  ProgressBar progress({"baseline", static_cast<std::int64_t>(inputs.paths.size()), options.progress, "img"});
  infer::PredictRunSummary summary;
  summary.images = inputs.paths.size();
  summary.skipped = inputs.skipped;
  const std::size_t chunk = 32;
  for (std::size_t start = 0; start < inputs.paths.size(); start += chunk) {
    const std::size_t end = std::min(inputs.paths.size(), start + chunk);
    std::vector<infer::ImagePrediction> located;
    std::vector<cv::Mat> crops;
    for (std::size_t i = start; i < end; ++i) {
      const auto& path = inputs.paths[i];
      located.push_back(infer::guarded(path, [&] {
        const auto decoded = data::read_image(path, predictor_options.decode);
        if (network) return network->locate_faces(decoded.rgb, path, crops);
        return infer::located_prediction(decoded.rgb, path, pipeline->process(decoded.rgb, path), crops,
                                         predictor_options.quality);
      }));
    }
    if (network) {
      network->answer_located(located, std::move(crops), [&](std::vector<cv::Mat>&& c) {
        auto answers = network->answer_crops(c);
        const auto base = model.predict(c);
        for (std::size_t i = 0; i < answers.size(); ++i) {
          answers[i] = blend_answers(answers[i], base[i], options.baseline_weight);
        }
        return answers;
      });
    } else {
      const auto answers = model.predict(crops);
      std::size_t next = 0;
      for (auto& prediction : located) {
        for (auto& face : prediction.faces) {
          infer::finish_face(face, crop_answer(answers[next++], residual_std, predictor_options.minor_gate),
                             {"male", "female"}, predictor_options, nullptr, nullptr);
        }
      }
    }
    for (auto& prediction : located) {
      if (auto it = inputs.name_of.find(prediction.source); it != inputs.name_of.end()) prediction.source = it->second;
      writer.write(prediction);
      summary.faces += prediction.faces.size();
      if (!prediction.ok()) ++summary.failed;
    }
    progress.update(static_cast<std::int64_t>(end));
  }
  progress.finish();
  writer.close();
  return summary;
}

}  // namespace faceage::baseline
