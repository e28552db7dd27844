#include "faceage/train/trainer.hpp"
#include "faceage/train/run_config.hpp"

#include <torch/torch.h>
#include <torch/version.h>

#include <algorithm>
#include <chrono>
#include <csignal>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <numeric>

#include <spdlog/spdlog.h>

#include "faceage/augment/augmenter.hpp"
#include "faceage/core/check.hpp"
#include "faceage/core/fs.hpp"
#include "faceage/core/progress.hpp"
#include "faceage/core/strings.hpp"
#include "faceage/data/manifest.hpp"
#include "faceage/face/face_pipeline.hpp"
#include "faceage/models/autocast.hpp"
#include "faceage/models/batchnorm.hpp"
#include "faceage/models/bundle.hpp"
#include "faceage/models/decode.hpp"
#include "faceage/models/tensor_io.hpp"
#include "faceage/models/weights_import.hpp"
#include "faceage/train/crop_cache.hpp"
#include "faceage/train/crop_export.hpp"
#include "faceage/train/distill.hpp"
#include "faceage/train/early_stopping.hpp"
#include "faceage/train/ema.hpp"
#include "faceage/train/loader.hpp"
#include "faceage/train/losses.hpp"
#include "faceage/train/optim.hpp"
#include "faceage/train/schedule.hpp"
#include "train/config_keys.hpp"
#include "train/process_group.hpp"

namespace faceage::train {

namespace fs = std::filesystem;

namespace {

// Optimizer::zero_grad() zeroes the gradients in LibTorch 1.13 but resets them to undefined from
// 2.0 on (zero_grad(set_to_none = true)), after which Adam/AdamW/SGD skip a parameter that got no
// gradient this step instead of still decaying it and stepping on its momentum. Zeroing on every
// version keeps training identical to 1.13.
void zero_gradients(torch::optim::Optimizer& optimizer) {
#if TORCH_VERSION_MAJOR >= 2
  optimizer.zero_grad(/*set_to_none=*/false);
#else
  optimizer.zero_grad();
#endif
}

// zero_gradients for data-parallel steps: trainable parameters' gradients are released instead,
// so backward hands each its gradient without adding it to zeros (nor does the reducer's hook);
// GradientAllReducer::average then gives every trainable parameter a .grad (zeros where none
// came), so the optimizer sees what zero_gradients would have left. Frozen ones are zeroed.
void release_gradients(torch::optim::Optimizer& optimizer) {
  for (auto& group : optimizer.param_groups()) {
    for (auto& parameter : group.params()) {
      if (parameter.requires_grad()) {
        parameter.mutable_grad() = torch::Tensor();
      } else if (parameter.grad().defined()) {
        parameter.mutable_grad().detach_().zero_();
      }
    }
  }
}

}  // namespace

Config default_train_config() {
  return Config::from_string(R"(
data:
  train: ""              # manifest of the training split (required)
  val: ""                # manifest of the validation split (required)
  limit_train: 0         # > 0: a seeded random subset of this many training rows
  limit_val: 0
  extra_train: ""        # a second training manifest, another kind of photo (web photos beside face crops)
  extra_repeat: 1        # its rows are listed this many times per epoch (oversampling; 1 = as often as data.train's)
  cache_dir: ""          # aligned-crop cache; default ~/.cache/faceage/crops
  workers: 2             # loader threads
  licence: ""            # the training data's terms, recorded in every bundle (metadata.licence)
  crops_of: ""           # face_pipeline.json of a `faceage data crops` export: the manifests hold its crops;
                         # they are read as they are and bundles record the pipeline that made them
face:
  detector: yunet        # yunet (shipped, models/face), dlib-hog or none (inputs are face crops)
  crop_size: 200
model:
  arch: mobilenet_v2
  age_head: distribution # distribution | regression
  min_age: 0
  max_age: 100
  head_dropout: 0.2
  gender_hidden: 0       # 0: linear gender head; > 0: a hidden ReLU layer of this width first
  pretrained: ""         # backbone weights: torch.save checkpoint, or a tfjs manifest (.json)
  init_from: ""          # warm start: every weight (backbone and heads) from a trained bundle or ensemble file
  init_from_member: 0    # which member of an ensemble file `init_from` names
preprocess:
  input_size: 112
  mean: [0.485, 0.456, 0.406]
  std: [0.229, 0.224, 0.225]
augment:
  preset: medium
loss:
  age: dldl
optimizer:
  name: adamw
  lr: 0.001
schedule:
  name: onecycle
ema:
  enabled: false
distill:
  teacher: ""            # a trained model file (bundle or ensemble) whose soft targets the student also learns
  weight: 1.0
  gender_weight: 1.0
  temperature: 1.0
early_stopping:
  patience: 0
train:
  epochs: 10
  batch_size: 64
  eval_batch_size: 128
  batchnorm: train       # train | freeze | reestimate (for folded-BN checkpoints)
  bn_reestimate_batches: 8
  freeze_backbone_epochs: 0
  checkpoint_every_steps: 0   # > 0: also checkpoint mid-epoch every N steps
  flip_eval: true        # validation with horizontal-flip averaging, as predict does
  interval_coverage: 0.8 # calibrated on the validation split
  amp: false             # bf16 autocast on CUDA
  name: ""
)");
}

namespace {

std::vector<std::string> json_keys(const nlohmann::json& object) {
  std::vector<std::string> keys;
  for (const auto& item : object.items()) keys.push_back(item.key());
  return keys;
}

}  // namespace

void check_train_config_keys(const Config& config) {
  // Sections whose readers look keys up one by one would silently ignore a misspelt key
  // (`optim.lr`, `train.epoch`); the others (loss, optimizer, ...) check their own keys.
  const Config defaults = default_train_config();
  std::vector<std::string> top = defaults.keys();
  top.insert(top.end(), {"name", "seed", "run_dir"});
  detail::check_known_keys(config, "", top);
  for (const char* section : {"data", "train"}) {
    if (config.has(section)) detail::check_known_keys(config.sub(section), section, defaults.sub(section).keys());
  }
  if (config.has("model")) {
    auto known = json_keys(models::to_json(models::ModelOptions{}));
    known.insert(known.end(), {"pretrained", "init_from", "init_from_member"});
    detail::check_known_keys(config.sub("model"), "model", known);
  }
  if (config.has("preprocess")) {
    detail::check_known_keys(config.sub("preprocess"), "preprocess", json_keys(models::to_json(models::PreprocessSpec{})));
  }
  // The sections that check their own keys, read now, so that a resolved config (--print-config,
  // the shipped-config test, a tuning trial) names a bad schedule, loss or optimizer before a run.
  if (config.has("schedule")) ScheduleOptions::from_config(config.sub("schedule"));
  if (config.has("loss")) make_age_loss(LossOptions::from_config(config.sub("loss")));
  if (config.has("optimizer")) {
    const auto optimizer = OptimizerOptions::from_config(config.sub("optimizer"));
    FACEAGE_CHECK(builtin_optimizers().contains(optimizer.name), ErrorCode::kConfig,
                  "unknown optimizer '" << optimizer.name << "' (config key 'optimizer.name'); available: "
                                        << join(builtin_optimizers().names(), ", "));
  }
  if (config.has("distill")) DistillOptions::from_config(config.sub("distill"));
}

Config resolve_train_config(const std::string& config_file, const std::vector<std::string>& overrides) {
  Config config = default_train_config();
  config.merge(Config::from_file(config_file));
  config.apply_overrides(overrides);
  check_train_config_keys(config);
  return config;
}

namespace {

struct TrainSettings {
  int epochs = 10;
  int batch_size = 64;
  int eval_batch_size = 128;
  std::string batchnorm = "train";
  int bn_reestimate_batches = 16;
  int freeze_backbone_epochs = 0;
  int checkpoint_every_steps = 0;
  bool flip_eval = true;
  double interval_coverage = 0.8;
  bool amp = false;
};

TrainSettings read_settings(const Config& config) {
  TrainSettings s;
  s.epochs = config.get<int>("train.epochs");
  s.batch_size = config.get<int>("train.batch_size");
  s.eval_batch_size = config.get<int>("train.eval_batch_size");
  s.batchnorm = config.get<std::string>("train.batchnorm");
  s.bn_reestimate_batches = config.get<int>("train.bn_reestimate_batches");
  s.freeze_backbone_epochs = config.get<int>("train.freeze_backbone_epochs");
  s.checkpoint_every_steps = config.get<int>("train.checkpoint_every_steps");
  s.flip_eval = config.get<bool>("train.flip_eval");
  s.interval_coverage = config.get<double>("train.interval_coverage");
  s.amp = config.get<bool>("train.amp");
  FACEAGE_CHECK(s.epochs > 0, ErrorCode::kConfig, "train.epochs must be > 0");
  FACEAGE_CHECK(s.batch_size > 0 && s.eval_batch_size > 0, ErrorCode::kConfig, "train.batch_size must be > 0");
  FACEAGE_CHECK(s.batchnorm == "train" || s.batchnorm == "freeze" || s.batchnorm == "reestimate", ErrorCode::kConfig,
                "train.batchnorm must be one of train, freeze, reestimate; got '" << s.batchnorm << "'");
  FACEAGE_CHECK(s.interval_coverage > 0 && s.interval_coverage < 1, ErrorCode::kConfig,
                "train.interval_coverage must be in (0, 1)");
  return s;
}

// Fine-tuning a trained model (new data, a new face pipeline, other augmentation) starts from all of
// its weights, heads included; the bundle must be the same network with the same input scaling as
// the config describes, or the copied weights would mean something else. The input size may change
// (every registered backbone pools globally, so its weights fit any size; fine-tuning at a new
// resolution is how a model moves to it). So may the gender head's form (model.gender_hidden): a
// new form starts from fresh weights, to be trained on the bundle's features.
struct WarmStart {
  int trained_at = 0;              // the input size the bundle was trained at
  bool fresh_gender_head = false;  // the gender head changed form and was not copied
};
WarmStart warm_start(models::AgeGenderModelImpl& model, const models::ModelOptions& options,
               const models::PreprocessSpec& preprocess, const std::string& path, int member) {
  auto file = models::load_model_file(path);
  FACEAGE_CHECK(member >= 0 && member < static_cast<int>(file.members.size()), ErrorCode::kConfig,
                "model.init_from_member " << member << " is not a member of " << path << " (" << file.members.size()
                                     << " member(s))");
  const auto& source = file.members[static_cast<std::size_t>(member)];
  // The gender head may change form (model.gender_hidden): it then starts from its fresh weights.
  auto same_network = models::to_json(source.model_options), config_network = models::to_json(options);
  same_network.erase("gender_hidden");
  config_network.erase("gender_hidden");
  const bool fresh_gender_head = source.model_options.gender_hidden != options.gender_hidden;
  FACEAGE_CHECK(same_network == config_network, ErrorCode::kConfig,
                "model.init_from " << path << " is a different network: " << models::to_json(source.model_options).dump()
                              << " vs the config's " << models::to_json(options).dump());
  FACEAGE_CHECK(source.preprocess.mean == preprocess.mean && source.preprocess.std == preprocess.std,
                ErrorCode::kConfig,
                "model.init_from " << path << " scales its input as " << models::to_json(source.preprocess).dump()
                                   << ", the config as " << models::to_json(preprocess).dump()
                                   << ": preprocess.mean and preprocess.std must be the bundle's");
  torch::NoGradGuard no_grad;
  auto copy = [&](const torch::OrderedDict<std::string, torch::Tensor>& from,
                  torch::OrderedDict<std::string, torch::Tensor> to) {
    for (auto& item : to) {
      if (fresh_gender_head && (starts_with(item.key(), "gender_head.") || starts_with(item.key(), "gender_hidden."))) continue;
      const auto* value = from.find(item.key());
      FACEAGE_CHECK(value && value->sizes() == item.value().sizes(), ErrorCode::kModel,
                    "model.init_from " << path << " has no tensor " << item.key() << " of the config's shape");
      item.value().copy_(*value);
    }
  };
  copy(source.model->named_parameters(), model.named_parameters());
  copy(source.model->named_buffers(), model.named_buffers());
  return {source.preprocess.input_size, fresh_gender_head};
}

models::ModelOptions read_model_options(const Config& config) {
  nlohmann::json json = config.sub("model").to_json();
  for (const char* key : {"pretrained", "init_from", "init_from_member"}) json.erase(key);
  return models::model_options_from_json(json);
}

models::PreprocessSpec read_preprocess(const Config& config) {
  return models::preprocess_from_json(config.sub("preprocess").to_json());
}

// A seeded subset of the rows (the manifests may be sorted, e.g. by age, so never "the first N").
data::Manifest limit_rows(data::Manifest manifest, int limit, std::uint64_t seed) {
  if (limit <= 0 || static_cast<std::size_t>(limit) >= manifest.rows.size()) return manifest;
  std::vector<std::size_t> order(manifest.rows.size());
  std::iota(order.begin(), order.end(), 0);
  std::mt19937_64 rng(mix_seed(seed, 0x11a1, manifest.rows.size()));
  for (std::size_t i = order.size(); i > 1; --i) std::swap(order[i - 1], order[rng() % i]);
  order.resize(static_cast<std::size_t>(limit));
  std::sort(order.begin(), order.end());
  data::Manifest out;
  out.base_dir = manifest.base_dir;
  for (auto i : order) out.rows.push_back(std::move(manifest.rows[i]));
  return out;
}

// Appends `extra`'s rows to `manifest` `repeat` times, paths resolved against `extra`'s own folder.
// Each copy is a sample of its own, so each draws its own augmentation; the crop cache computes
// an image once however often it is listed.
void append_rows(data::Manifest& manifest, data::Manifest extra, int repeat) {
  for (auto& row : extra.rows) row.path = data::resolved_path(extra, row);
  for (int copy = 0; copy < repeat; ++copy) manifest.rows.insert(manifest.rows.end(), extra.rows.begin(), extra.rows.end());
}

struct ValResult {
  double mae = 0, rmse = 0, cs5 = 0, bias = 0, gender_acc = NAN, loss = 0;
  double interval_scale = 1.0, interval_halfwidth = 5.0, coverage = 0;
  std::size_t count = 0;
};

// Runs the model over the validation loader exactly as the predictor does (same resize, same
// flip averaging, same decoding), then calibrates the interval on these answers.
ValResult validate(models::AgeGenderModel& model, DataLoader& loader, const MultiTaskLoss& criterion,
                   const models::LabelSpec& base_labels, bool flip, const torch::Device& device) {
  torch::NoGradGuard no_grad;
  model->eval();
  const auto& options = model->options();
  const bool distribution = options.age_head == models::AgeHeadKind::kDistribution;
  std::vector<float> probs_all;
  std::vector<double> regression_ages, true_ages, female_probs;
  std::vector<int> genders;
  double loss_sum = 0;
  std::size_t batches = 0;
  loader.start_epoch(0);
  while (auto batch = loader.next()) {
    auto images = batch->images.to(device);
    std::vector<models::ModelOutput> outputs{model->forward(images)};
    if (flip) outputs.push_back(model->forward(images.flip({3})));
    Targets targets{batch->ages.to(device), batch->genders.to(device), {}};
    loss_sum += criterion(outputs[0], targets).total_value;
    ++batches;
    torch::Tensor probs, ages, females;
    for (const auto& out : outputs) {
      if (distribution) {
        auto p = torch::softmax(out.age_logits.to(torch::kFloat), 1);
        probs = probs.defined() ? probs + p : p;
      }
      auto a = out.age.to(torch::kDouble);
      ages = ages.defined() ? ages + a : a;
      if (out.gender_logits.defined()) {
        auto f = torch::softmax(out.gender_logits.to(torch::kFloat), 1).select(1, 1).to(torch::kDouble);
        females = females.defined() ? females + f : f;
      }
    }
    const double n = static_cast<double>(outputs.size());
    if (distribution) {
      auto p = (probs / n).to(torch::kCPU).contiguous();
      probs_all.insert(probs_all.end(), p.data_ptr<float>(), p.data_ptr<float>() + p.numel());
    }
    auto a = (ages / n).to(torch::kCPU).contiguous();
    regression_ages.insert(regression_ages.end(), a.data_ptr<double>(), a.data_ptr<double>() + a.numel());
    if (females.defined()) {
      auto f = (females / n).to(torch::kCPU).contiguous();
      female_probs.insert(female_probs.end(), f.data_ptr<double>(), f.data_ptr<double>() + f.numel());
    }
    auto t = batch->ages.to(torch::kDouble).contiguous();
    true_ages.insert(true_ages.end(), t.data_ptr<double>(), t.data_ptr<double>() + t.numel());
    auto g = batch->genders.contiguous();
    for (int64_t i = 0; i < g.numel(); ++i) genders.push_back(static_cast<int>(g.data_ptr<int64_t>()[i]));
  }
  ValResult result;
  result.count = true_ages.size();
  if (result.count == 0) return result;
  result.loss = loss_sum / std::max<std::size_t>(1, batches);
  const int bins = static_cast<int>(options.age_bins());
  auto answer_at = [&](std::size_t i, double scale, double halfwidth) {
    models::LabelSpec labels = base_labels;
    labels.interval_scale = scale;
    labels.interval_halfwidth = halfwidth;
    return models::decode_age(options, labels, distribution ? probs_all.data() + i * bins : nullptr,
                              regression_ages[i]);
  };
  std::vector<double> abs_errors;
  double sq = 0, signed_sum = 0;
  for (std::size_t i = 0; i < result.count; ++i) {
    const double error = answer_at(i, 1.0, 1.0).age - true_ages[i];
    abs_errors.push_back(std::abs(error));
    sq += error * error;
    signed_sum += error;
  }
  result.mae = std::accumulate(abs_errors.begin(), abs_errors.end(), 0.0) / result.count;
  result.rmse = std::sqrt(sq / result.count);
  result.bias = signed_sum / result.count;
  result.cs5 = std::count_if(abs_errors.begin(), abs_errors.end(), [](double e) { return e <= 5.0; }) /
               static_cast<double>(result.count);
  // Interval calibration: the smallest widening whose validation coverage reaches the target.
  const double target = base_labels.interval_coverage;
  auto coverage_at = [&](double scale, double halfwidth) {
    std::size_t inside = 0;
    for (std::size_t i = 0; i < result.count; ++i) {
      auto a = answer_at(i, scale, halfwidth);
      if (true_ages[i] >= a.low && true_ages[i] <= a.high) ++inside;
    }
    return inside / static_cast<double>(result.count);
  };
  if (distribution) {
    double low = 0.25, high = 6.0;
    for (int it = 0; it < 30; ++it) {
      const double mid = 0.5 * (low + high);
      (coverage_at(mid, 1.0) >= target ? high : low) = mid;
    }
    result.interval_scale = high;
    result.coverage = coverage_at(high, 1.0);
  } else {
    std::vector<double> sorted = abs_errors;
    std::sort(sorted.begin(), sorted.end());
    result.interval_halfwidth = sorted[std::min(sorted.size() - 1, static_cast<std::size_t>(std::ceil(target * sorted.size())) - 1)];
    result.coverage = coverage_at(1.0, result.interval_halfwidth);
  }
  std::size_t labelled = 0, correct = 0;
  for (std::size_t i = 0; i < female_probs.size(); ++i) {
    if (genders[i] < 0) continue;
    ++labelled;
    if ((female_probs[i] >= 0.5) == (genders[i] == 1)) ++correct;
  }
  if (labelled) result.gender_acc = correct / static_cast<double>(labelled);
  return result;
}

// The persistent part of a run besides the tensors (state/trainer.json).
struct RunState {
  int epoch = 0;                  // epoch in progress (or next to start)
  std::int64_t batch_in_epoch = 0;  // batches of `epoch` already done
  std::int64_t global_step = 0;
  double loss_sum = 0, age_loss_sum = 0, gender_loss_sum = 0;
  std::int64_t loss_count = 0;
  double epoch_seconds = 0, epoch_wait_seconds = 0;
  std::int64_t epoch_images = 0;
  bool bn_prepared = false;
  bool finished = false;
  nlohmann::json schedule, early_stopping;
  nlohmann::json history = nlohmann::json::array();
  std::string checkpoint;

  nlohmann::json to_json() const {
    return {{"epoch", epoch}, {"batch_in_epoch", batch_in_epoch}, {"global_step", global_step},
            {"loss_sum", loss_sum}, {"age_loss_sum", age_loss_sum}, {"gender_loss_sum", gender_loss_sum},
            {"loss_count", loss_count}, {"epoch_seconds", epoch_seconds}, {"epoch_wait_seconds", epoch_wait_seconds},
            {"epoch_images", epoch_images}, {"bn_prepared", bn_prepared}, {"finished", finished},
            {"schedule", schedule}, {"early_stopping", early_stopping}, {"history", history},
            {"checkpoint", checkpoint}};
  }
  static RunState from_json(const nlohmann::json& j) {
    RunState s;
    try {
      s.epoch = j.at("epoch");
      s.batch_in_epoch = j.at("batch_in_epoch");
      s.global_step = j.at("global_step");
      s.loss_sum = j.at("loss_sum");
      s.age_loss_sum = j.at("age_loss_sum");
      s.gender_loss_sum = j.at("gender_loss_sum");
      s.loss_count = j.at("loss_count");
      s.epoch_seconds = j.at("epoch_seconds");
      s.epoch_wait_seconds = j.at("epoch_wait_seconds");
      s.epoch_images = j.at("epoch_images");
      s.bn_prepared = j.at("bn_prepared");
      s.finished = j.at("finished");
      s.schedule = j.at("schedule");
      s.early_stopping = j.at("early_stopping");
      s.history = j.at("history");
      s.checkpoint = j.at("checkpoint");
    } catch (const nlohmann::json::exception& e) {
      throw Error(ErrorCode::kModel, std::string("run state is malformed: ") + e.what(),
                  "remove the run directory's state/ folder to start again");
    }
    return s;
  }
};

double json_or_nan(double value) { return std::isfinite(value) ? value : NAN; }

// Channels-last convolution weights and inputs: this LibTorch's depthwise convolutions are many
// times faster in that layout on CPU (bench/README.md, models). set_data keeps tensor identity, so
// the optimizer's references stay valid.
void use_channels_last(models::AgeGenderModel& model) {
  torch::NoGradGuard no_grad;
  for (auto& parameter : model->parameters()) {
    if (parameter.dim() == 4) parameter.set_data(parameter.contiguous(torch::MemoryFormat::ChannelsLast));
  }
  model->set_channels_last(true);
}

}  // namespace

TrainSummary train(const Config& user_config, const std::string& run_dir_arg, const Context& context,
                   const TrainHooks& hooks) {
  const fs::path run_dir = expand_home(run_dir_arg);
  const fs::path state_dir = run_dir / "state";
  const fs::path state_path = state_dir / "trainer.json";
  fs::create_directories(state_dir);
  // In a data-parallel job rank 0 alone logs and writes the run directory.
  const DistributedOptions& distributed = hooks.distributed;
  const bool main_rank = distributed.is_main();
  auto logger = main_rank ? context.logger : nullptr;

  // Resuming uses the run's own resolved config; a different new config is refused, not mixed.
  Config config = user_config;
  const bool resuming = fs::exists(state_path);
  if (resuming) {
    Config saved = Config::from_file((run_dir / "config.resolved.yaml").string());
    if (saved.to_json() != user_config.to_json() && logger) {
      logger->warn("resuming {} with its saved config.resolved.yaml (the config given now differs and is ignored)",
                   run_dir.string());
    }
    config = saved;
  } else if (main_rank) {
    config.save((run_dir / "config.resolved.yaml").string());
  }

  check_train_config_keys(config);
  const TrainSettings settings = read_settings(config);
  const std::uint64_t seed = config.get_or<std::uint64_t>("seed", context.seed);
  const auto device = models::parse_device(context.device);
  models::ModelOptions model_options = read_model_options(config);
  const models::PreprocessSpec preprocess = read_preprocess(config);
  face::FacePipelineOptions face_options = face::face_pipeline_from_json(config.sub("face").to_json());
  nlohmann::json recorded_face_pipeline = face::to_json(face_options);
  if (const auto crops_of = expand_home(config.get<std::string>("data.crops_of")); !crops_of.empty()) {
    ExportedCrops exported = read_exported_crops(crops_of);
    face_options = exported.read_options;
    recorded_face_pipeline = std::move(exported.recorded_pipeline);
  }
  const auto augment_options = augment::from_config(config.sub("augment"));
  LossOptions loss_options = LossOptions::from_config(config.sub("loss"));
  loss_options.with_model(model_options);
  const MultiTaskLoss criterion(loss_options);
  criterion.check_model(model_options);
  const auto optimizer_options = OptimizerOptions::from_config(config.sub("optimizer"));
  const auto schedule_options = ScheduleOptions::from_config(config.sub("schedule"));
  const auto ema_options = EmaOptions::from_config(config.sub("ema"));
  const auto stopping_options = EarlyStoppingOptions::from_config(config.sub("early_stopping"));
  const bool select_by_gender = stopping_options.metric == "gender_acc";
  FACEAGE_CHECK(!select_by_gender || model_options.gender_head, ErrorCode::kConfig,
                "early_stopping.metric is gender_acc but the model has no gender head (model.gender_head: false)");
  auto distill_options = DistillOptions::from_config(config.sub("distill"));
  distill_options.teacher = expand_home(distill_options.teacher);
  std::unique_ptr<Communicator> communicator;
  if (distributed.enabled()) {
    communicator = std::make_unique<Communicator>(distributed, device);
    if (logger) {
      logger->info("data-parallel training: {} ranks over {} (rendezvous {}:{})", distributed.world_size,
                   communicator->backend(), distributed.master_addr, distributed.master_port);
    }
  }
  // Rank 0's value of a number, on every rank (decisions that must agree: early stopping, schedule).
  auto from_main_rank = [&](double value) {
    if (!communicator) return value;
    auto shared = torch::tensor({value}, torch::kDouble);
    communicator->broadcast(shared);
    return shared.item<double>();
  };

  // Data: manifests -> aligned crops (cached) -> loaders.
  const std::string train_manifest_path = expand_home(config.get<std::string>("data.train"));
  const std::string val_manifest_path = expand_home(config.get<std::string>("data.val"));
  FACEAGE_CHECK(!train_manifest_path.empty() && !val_manifest_path.empty(), ErrorCode::kConfig,
                "data.train and data.val must name manifests (make them with `faceage data split`)");
  auto train_manifest = limit_rows(data::read_manifest(train_manifest_path), config.get<int>("data.limit_train"), seed);
  // get_or: `--set data.extra_train=` (an emptied key reads as missing) turns the extra manifest off.
  const std::string extra_manifest_path = expand_home(config.get_or<std::string>("data.extra_train", ""));
  const int extra_repeat = config.get_or<int>("data.extra_repeat", 1);
  FACEAGE_CHECK(extra_repeat >= 1, ErrorCode::kConfig, "data.extra_repeat must be >= 1, got " << extra_repeat);
  if (!extra_manifest_path.empty()) append_rows(train_manifest, data::read_manifest(extra_manifest_path), extra_repeat);
  // Checksums of the manifests as read, recorded in every bundle this run writes.
  const std::string train_manifest_sha256 = sha256_file(train_manifest_path);
  const std::string extra_manifest_sha256 = extra_manifest_path.empty() ? "" : sha256_file(extra_manifest_path);
  auto val_manifest = limit_rows(data::read_manifest(val_manifest_path), config.get<int>("data.limit_val"), seed + 1);
  std::string cache_dir = expand_home(config.get<std::string>("data.cache_dir"));
  if (cache_dir.empty()) cache_dir = expand_home(kDefaultCropCacheDir);
  CropCacheOptions cache_options{cache_dir, face_options, 0, hooks.progress};
  CropSetReport train_report, val_report;
  // The crop cache is one writer's: rank 0 fills it, the others then read it.
  if (communicator && !main_rank) communicator->wait_for_main("crops");
  CropSet train_crops = CropSet::build(train_manifest, cache_options, context, &train_report);
  CropSet val_crops = CropSet::build(val_manifest, cache_options, context, &val_report);
  if (communicator && main_rank) communicator->main_done("crops");
  FACEAGE_CHECK(train_crops.size() >= static_cast<std::size_t>(settings.batch_size), ErrorCode::kConfig,
                "only " << train_crops.size() << " usable training images for batch size " << settings.batch_size);
  FACEAGE_CHECK(val_crops.size() > 0, ErrorCode::kConfig, "no usable validation images in " << val_manifest_path);

  const int workers = std::max(1, config.get<int>("data.workers"));
  augment::Augmenter augmenter(augment_options, preprocess.input_size);
  std::vector<std::size_t> train_indices(train_crops.size()), val_indices(val_crops.size());
  std::iota(train_indices.begin(), train_indices.end(), 0);
  std::iota(val_indices.begin(), val_indices.end(), 0);
  DataLoader train_loader(train_crops, train_indices, &augmenter, preprocess,
                          {settings.batch_size, true, true, workers, 2 * workers + 2, seed, distributed.rank,
                           distributed.world_size});
  DataLoader val_loader(val_crops, val_indices, nullptr, preprocess,
                        {settings.eval_batch_size, false, false, workers, 2 * workers + 2, seed});
  const std::int64_t steps_per_epoch = train_loader.batches_per_epoch();
  FACEAGE_CHECK(steps_per_epoch > 0, ErrorCode::kConfig,
                train_crops.size() << " training images make no full batch of " << settings.batch_size << " on each of "
                                   << distributed.world_size << " ranks");

  // Model, optimiser, schedule.
  torch::manual_seed(seed);
  auto model = models::create_model(model_options);
  const std::string pretrained = expand_home(config.get_or<std::string>("model.pretrained", ""));
  if (!resuming && !pretrained.empty()) {
    auto report = models::load_pretrained_weights(*model, pretrained);
    if (logger) logger->info("pretrained weights from {}: {}", pretrained, report.to_string());
    FACEAGE_CHECK(!report.loaded.empty(), ErrorCode::kModel,
                  "no tensor of " << pretrained << " matched " << model_options.arch << "'s parameters");
  }
  const std::string init = expand_home(config.get_or<std::string>("model.init_from", ""));
  if (!resuming && !init.empty()) {
    const auto start =
        warm_start(*model, model_options, preprocess, init, config.get_or<int>("model.init_from_member", 0));
    if (logger) {
      logger->info("warm start: every weight {}from {}{}", start.fresh_gender_head ? "but the gender head's " : "", init,
                   start.trained_at == preprocess.input_size
                       ? std::string()
                       : fmt::format(" (trained at {} px, fine-tuned here at {} px)", start.trained_at,
                                     preprocess.input_size));
    }
  }
  model->to(device);
  use_channels_last(model);
  std::unique_ptr<Distiller> distiller;
  if (distill_options.enabled()) {
    distiller = std::make_unique<Distiller>(distill_options, model_options, preprocess, context.device);
    if (logger) logger->info("distilling from {} ({} member(s))", distill_options.teacher, distiller->members());
  }
  if (settings.batchnorm == "freeze") models::set_batchnorm_frozen(*model, true);

  auto optimizer = make_optimizer(
      optimizer_options, backbone_head_groups(model->backbone_parameters(), model->head_parameters(), optimizer_options));
  auto schedule = make_schedule(schedule_options, {optimizer_options.lr, steps_per_epoch, settings.epochs});
  schedule->attach(*optimizer);
  std::unique_ptr<ModelEma> ema;
  EarlyStopping stopping(stopping_options);

  RunState state;
  if (resuming) {
    state = RunState::from_json(nlohmann::json::parse(read_file_text(state_path.string())));
    if (!state.checkpoint.empty()) {
      torch::serialize::InputArchive archive;
      archive.load_from((state_dir / state.checkpoint).string(), device);
      model->load(archive);
      use_channels_last(model);
      torch::serialize::InputArchive optimizer_archive;
      archive.read("optimizer", optimizer_archive);
      optimizer->load(optimizer_archive);
      if (ema_options.enabled) {
        ema = std::make_unique<ModelEma>(*model, ema_options);
        ema->load(archive);
      }
    }
    schedule->load_state(state.schedule);
    if (!state.early_stopping.is_null()) stopping.load_state(state.early_stopping);
    if (logger) {
      logger->info("resuming {} at epoch {} step {} ({} batches into the epoch)", run_dir.string(), state.epoch + 1,
                   state.global_step, state.batch_in_epoch);
    }
  }
  std::unique_ptr<GradientAllReducer> gradient_reducer;
  if (communicator) {
    // Every rank must continue the same run: a rank that sees another run state (an unshared run
    // directory) would silently train something else.
    if (from_main_rank(static_cast<double>(state.global_step)) != static_cast<double>(state.global_step)) {
      throw Error(ErrorCode::kConfig,
                  "rank " + std::to_string(distributed.rank) + " is at step " + std::to_string(state.global_step) +
                      " of " + run_dir.string() + " but rank 0 is not",
                  "every rank must see the same run directory (shared storage across hosts)");
    }
    broadcast_module_state(*communicator, *model);
    GradientAllReducer::Options reducer_options;
    reducer_options.bucket_bytes = distributed.bucket_bytes;
    reducer_options.overlap = distributed.overlap;
    gradient_reducer = std::make_unique<GradientAllReducer>(*communicator, reducer_options);
  }
  if (!ema && ema_options.enabled) ema = std::make_unique<ModelEma>(*model, ema_options);

  // BatchNorm re-estimation for folded-BN checkpoints: once, before the first step.
  if (settings.batchnorm == "reestimate" && !state.bn_prepared) {
    DataLoader bn_loader(train_crops, train_indices, nullptr, preprocess,
                         {settings.batch_size, true, true, workers, 4, seed ^ 0xb4});
    bn_loader.start_epoch(0);
    int used = models::reestimate_folded_batchnorm(
        model,
        [&]() -> std::optional<torch::Tensor> {
          auto batch = bn_loader.next();
          if (!batch) return std::nullopt;
          return batch->images.to(device);
        },
        settings.bn_reestimate_batches);
    if (ema) ema = std::make_unique<ModelEma>(*model, ema_options);
    if (logger) logger->info("re-estimated BatchNorm statistics on {} batches", used);
  }
  state.bn_prepared = true;

  // Writes tensors to a new checkpoint file, then points trainer.json at it (both atomic), so a
  // kill at any moment leaves a consistent pair; older checkpoint files are removed afterwards.
  auto save_state = [&] {
    if (!main_rank) return;
    state.schedule = schedule->state();
    state.early_stopping = stopping.state();
    const std::string name = "ckpt-" + std::to_string(state.global_step) + ".pt";
    torch::serialize::OutputArchive archive;
    model->save(archive);
    torch::serialize::OutputArchive optimizer_archive;
    optimizer->save(optimizer_archive);
    archive.write("optimizer", optimizer_archive);
    if (ema) ema->save(archive);
    const std::string final_path = (state_dir / name).string();
    const std::string temp = temp_path_beside(final_path);
    archive.save_to(temp);
    replace_file(temp, final_path);
    const std::string previous = state.checkpoint;
    state.checkpoint = name;
    write_file_atomic(state_path.string(), state.to_json().dump(1));
    if (!previous.empty() && previous != name) fs::remove(state_dir / previous);
    // metrics.jsonl is derived from the state, so it never disagrees with it.
    std::string lines;
    for (const auto& line : state.history) lines += line.dump() + "\n";
    write_file_atomic((run_dir / "metrics.jsonl").string(), lines);
  };

  // A model inherits its training data's terms, and those of the landmark model that aligned its crops.
  std::string bundle_licence_note = config.get_or<std::string>("data.licence", "");
  if (bundle_licence_note.empty()) bundle_licence_note = "training data licence not stated (set data.licence)";
  const std::string landmark_note = face::landmark_licence_note(recorded_face_pipeline.value("detector", ""));
  if (!landmark_note.empty()) bundle_licence_note += "; " + landmark_note;
  auto make_bundle = [&](const ValResult& val) {
    models::Bundle bundle;
    bundle.model_options = model_options;
    bundle.preprocess = preprocess;
    bundle.face_pipeline = recorded_face_pipeline;
    bundle.labels.interval_coverage = settings.interval_coverage;
    bundle.labels.interval_scale = val.interval_scale;
    bundle.labels.interval_halfwidth = val.interval_halfwidth;
    bundle.metadata = {{"name", config.get_or<std::string>("train.name", "")},
                       {"created_by", "faceage train"},
                       {"epoch", state.epoch + 1},
                       {"val_mae", val.mae},
                       {"val_gender_acc", json_or_nan(val.gender_acc)},
                       {"val_interval_coverage", val.coverage},
                       {"train_manifest", train_manifest_path},
                       {"train_manifest_sha256", train_manifest_sha256},
                       {"extra_train_manifest", extra_manifest_path},
                       {"extra_train_manifest_sha256", extra_manifest_sha256},
                       {"extra_repeat", extra_repeat},
                       {"val_manifest", val_manifest_path},
                       {"train_images", train_crops.size()},
                       {"licence", bundle_licence_note},
                       {"config", config.to_json()}};
    bundle.model = models::create_model(model_options);
    {
      torch::NoGradGuard no_grad;
      auto source = model->named_parameters(true);
      auto target = bundle.model->named_parameters(true);
      for (auto& item : source) target[item.key()].copy_(item.value().to(torch::kCPU));
      auto source_buffers = model->named_buffers(true);
      auto target_buffers = bundle.model->named_buffers(true);
      for (auto& item : source_buffers) target_buffers[item.key()].copy_(item.value().to(torch::kCPU));
    }
    bundle.model->eval();
    return bundle;
  };

  TrainSummary summary;
  summary.run_dir = run_dir.string();
  summary.resumed = resuming;
  summary.last_bundle = (run_dir / "last.fab").string();
  summary.best_bundle = (run_dir / "best.fab").string();

  const bool cuda_amp = settings.amp && device.is_cuda();
  for (; state.epoch < settings.epochs && !state.finished; ++state.epoch) {
    const int epoch = state.epoch;
    const bool backbone_frozen = epoch < settings.freeze_backbone_epochs;
    for (auto& p : model->backbone_parameters()) p.set_requires_grad(!backbone_frozen);
    model->train();
    if (backbone_frozen) model->backbone()->eval();
    train_loader.start_epoch(epoch, state.batch_in_epoch);
    train_loader.reset_wait();
    ProgressBar progress({.label = "epoch " + std::to_string(epoch + 1) + "/" + std::to_string(settings.epochs),
                          .total = steps_per_epoch, .force = hooks.progress && main_rank ? -1 : 0, .unit = "step"});
    if (gradient_reducer) gradient_reducer->reset_time();
    auto last_time = std::chrono::steady_clock::now();
    while (auto batch = train_loader.next()) {
      // Dropout and stochastic depth draw from torch's generator: seed it per step so a resumed
      // run replays the same masks.
      torch::manual_seed(mix_seed(seed, 0xd0, static_cast<std::uint64_t>(state.global_step)));
      auto images = batch->images.to(device, /*non_blocking=*/true);
      Targets targets{batch->ages.to(device), batch->genders.to(device), {}};
      if (gradient_reducer) {
        release_gradients(*optimizer);
        gradient_reducer->prepare(model->parameters());
      } else {
        zero_gradients(*optimizer);
      }
      LossResult loss;
      {
        models::CudaAutocast autocast(cuda_amp);
        auto output = model->forward(images);
        loss = criterion(output, targets);
        if (distiller) {
          auto soft = (*distiller)(output, images);
          loss.total = loss.total + soft;
          loss.total_value += soft.item<double>();
        }
      }
      FACEAGE_CHECK(std::isfinite(loss.total_value), ErrorCode::kInternal,
                    "training loss became " << loss.total_value << " at step " << state.global_step
                                            << "; lower optimizer.lr or set optimizer.grad_clip_norm");
      loss.total.backward();
      bool stop = hooks.stop_requested && hooks.stop_requested->load();
      if (gradient_reducer) {
        // The losses and the stop request travel with the gradients, so every rank logs the
        // job's loss and all stop at the same step.
        auto extras = torch::tensor({loss.total_value, loss.age_value, loss.gender_value, stop ? 1.0 : 0.0}, torch::kFloat);
        gradient_reducer->average(extras);
        loss.total_value = extras[0].item<double>();
        loss.age_value = extras[1].item<double>();
        loss.gender_value = extras[2].item<double>();
        stop = extras[3].item<double>() > 0;
      }
      if (optimizer_options.grad_clip_norm > 0) clip_grad_norm(*optimizer, optimizer_options.grad_clip_norm);
      optimizer->step();
      ++state.global_step;
      ++state.batch_in_epoch;
      schedule->on_step(state.global_step);
      if (ema) ema->update(*model);
      state.loss_sum += loss.total_value;
      state.age_loss_sum += loss.age_value;
      state.gender_loss_sum += loss.gender_value;
      ++state.loss_count;
      state.epoch_images += images.size(0) * distributed.world_size;
      auto now = std::chrono::steady_clock::now();
      state.epoch_seconds += std::chrono::duration<double>(now - last_time).count();
      last_time = now;
      char extra[128];
      std::snprintf(extra, sizeof(extra), "loss %.4f  %.0f img/s", state.loss_sum / state.loss_count,
                    state.epoch_images / std::max(1e-9, state.epoch_seconds));
      progress.update(state.batch_in_epoch, extra);
      if (stop || (settings.checkpoint_every_steps > 0 && state.global_step % settings.checkpoint_every_steps == 0)) {
        state.epoch_wait_seconds += train_loader.wait_seconds();
        train_loader.reset_wait();
        save_state();
        last_time = std::chrono::steady_clock::now();  // checkpoint time is not training time
      }
      if (state.global_step == hooks.kill_after_step && (hooks.kill_rank < 0 || hooks.kill_rank == distributed.rank)) {
        std::raise(SIGKILL);
      }
      if (stop) {
        progress.finish("stopped");
        throw Error(ErrorCode::kCancelled, "training stopped at step " + std::to_string(state.global_step),
                    "run the same command again to resume");
      }
    }
    state.epoch_wait_seconds += train_loader.wait_seconds();
    progress.finish();

    // Validate (with EMA weights when enabled), write bundles and the epoch's metrics line.
    ValResult val;
    models::LabelSpec labels;
    labels.interval_coverage = settings.interval_coverage;
    {
      std::unique_ptr<ModelEma::ScopedSwap> swap;
      if (ema) swap = std::make_unique<ModelEma::ScopedSwap>(*ema, *model);
      if (main_rank) val = validate(model, val_loader, criterion, labels, settings.flip_eval, device);
      val.mae = from_main_rank(val.mae);
      val.gender_acc = from_main_rank(val.gender_acc);
      stopping.update(select_by_gender ? val.gender_acc : val.mae, epoch);
      if (main_rank) {
        auto bundle = make_bundle(val);
        models::save_bundle(bundle, summary.last_bundle);
        if (stopping.improved()) models::save_bundle(bundle, summary.best_bundle);
      }
    }
    nlohmann::json line = {
        {"epoch", epoch + 1},
        {"step", state.global_step},
        {"train_loss", state.loss_sum / std::max<std::int64_t>(1, state.loss_count)},
        {"train_age_loss", state.age_loss_sum / std::max<std::int64_t>(1, state.loss_count)},
        {"train_gender_loss", state.gender_loss_sum / std::max<std::int64_t>(1, state.loss_count)},
        {"val_loss", val.loss},
        {"val_mae", val.mae},
        {"val_rmse", val.rmse},
        {"val_cs5", val.cs5},
        {"val_bias", val.bias},
        {"gender_acc", json_or_nan(val.gender_acc)},
        {"interval_scale", val.interval_scale},
        {"interval_coverage", val.coverage},
        {"lr", schedule->lr()},
        {"img_per_s", state.epoch_images / std::max(1e-9, state.epoch_seconds)},
        {"data_wait_fraction", state.epoch_wait_seconds / std::max(1e-9, state.epoch_seconds)},
        {"seconds", state.epoch_seconds},
        {"val_images", val.count},
        {"best", stopping.improved()}};
    if (gradient_reducer) {
      line["world_size"] = distributed.world_size;
      // Per step: the time after backward spent finishing the all-reduce (what overlapping it with
      // backward shortens), the part of it blocked waiting, the time the hooks added to backward,
      // and the buckets per step whose all-reduce started during backward.
      const auto& timings = gradient_reducer->timings();
      const double steps = static_cast<double>(std::max<std::int64_t>(1, timings.calls));
      line["allreduce_seconds_per_step"] = timings.seconds / steps;
      line["allreduce_wait_seconds_per_step"] = timings.wait_seconds / steps;
      line["allreduce_hook_seconds_per_step"] = timings.hook_seconds / steps;
      line["allreduce_buckets"] = gradient_reducer->bucket_count();
      line["allreduce_buckets_during_backward"] = static_cast<double>(timings.buckets_during_backward) / steps;
    }
    schedule->on_epoch_end(epoch, val.mae);
    state.history.push_back(line);
    if (logger) {
      logger->info("epoch {}/{}: train loss {:.4f}, val MAE {:.3f}, gender acc {:.3f}, {:.0f} img/s, data wait {:.1f}%",
                   epoch + 1, settings.epochs, line["train_loss"].get<double>(), val.mae,
                   std::isfinite(val.gender_acc) ? val.gender_acc : 0.0, line["img_per_s"].get<double>(),
                   100 * line["data_wait_fraction"].get<double>());
    }
    state.batch_in_epoch = 0;
    state.loss_sum = state.age_loss_sum = state.gender_loss_sum = 0;
    state.loss_count = 0;
    state.epoch_seconds = state.epoch_wait_seconds = 0;
    state.epoch_images = 0;
    const bool keep_going = from_main_rank(!hooks.on_epoch_end || hooks.on_epoch_end(line) ? 1.0 : 0.0) > 0;
    if (stopping.should_stop() || !keep_going) {
      state.finished = true;
      summary.stopped_early = true;
    }
    state.epoch = epoch + 1;
    save_state();
    state.epoch = epoch;  // the loop's ++ moves it on
  }
  summary.epochs_done = static_cast<int>(state.history.size());
  summary.best_epoch = static_cast<int>(stopping.best_epoch()) + 1;
  summary.selection_metric = stopping_options.metric;
  summary.best_metric = stopping.best();
  // The best epoch's val MAE, whichever metric chose it (history holds this run's epochs and,
  // after a resume, the earlier ones: index = epoch).
  summary.best_val_mae = NAN;
  if (summary.best_epoch >= 1 && summary.best_epoch <= static_cast<int>(state.history.size())) {
    const auto& mae = state.history[static_cast<size_t>(summary.best_epoch - 1)]["val_mae"];
    if (mae.is_number()) summary.best_val_mae = mae.get<double>();
  }
  return summary;
}

}  // namespace faceage::train
