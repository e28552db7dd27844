#include "faceage/lifecycle/retrain.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>

#include "faceage/core/check.hpp"
#include "faceage/core/fs.hpp"
#include "faceage/data/manifest.hpp"
#include "faceage/eval/score.hpp"
#include "faceage/infer/batch.hpp"
#include "faceage/lifecycle/reference.hpp"
#include "faceage/models/bundle.hpp"
#include "faceage/monitor/feedback.hpp"
#include "faceage/monitor/time.hpp"
#include "faceage/train/trainer.hpp"

namespace faceage::lifecycle {
namespace {

namespace fs = std::filesystem;

std::string years(double v) {
  char text[32];
  std::snprintf(text, sizeof text, "%.3f", v);
  return text;
}

// The champion's training rows followed by the new ones, every file absolute, so the combined
// manifest reads the same from anywhere.
std::string write_combined_manifest(const std::string& old_manifest, const std::string& new_manifest,
                                    const std::string& out) {
  data::Manifest combined;
  for (const auto& path : {old_manifest, new_manifest}) {
    const data::Manifest m = data::read_manifest(path);
    for (auto row : m.rows) {
      row.file = fs::absolute(data::resolved_path(m, row)).lexically_normal().string();
      row.path.clear();
      combined.rows.push_back(std::move(row));
    }
  }
  data::write_manifest(combined, out);
  return out;
}

// One model's answers on the evaluation set, scored: the `faceage eval --model` path.
eval::EvalMetrics evaluate(const std::string& bundle, const std::string& manifest, const std::string& out_csv,
                           const Context& context) {
  infer::PredictorOptions predictor;
  predictor.model_paths = {bundle};
  // float32: both models measured as trained, the same on every machine (as `faceage eval`).
  predictor.precision = models::InferencePrecision::kFloat32;
  infer::predict_manifest(predictor, context, {manifest, "", out_csv, 0});
  const auto scored = eval::score_predictions(out_csv, manifest);
  eval::check_scored(scored);
  return scored.metrics;
}

nlohmann::json summary_json(const eval::EvalMetrics& m) {
  auto full = eval::to_json(m);
  return {{"mae", full["age"]["mae"]},
          {"count", m.age.count},
          {"by_band", full["by_band"]},
          {"by_gender", full["by_gender"]},
          {"gender_accuracy", full["gender"]["accuracy"]}};
}

}  // namespace

bool challenger_wins(const eval::EvalMetrics& champion, const eval::EvalMetrics& challenger,
                     const PromotionRules& rules, std::vector<std::string>& reasons) {
  bool wins = true;
  auto rule = [&](bool ok, const std::string& line) {
    reasons.push_back((ok ? "yes: " : "no: ") + line);
    wins = wins && ok;
  };
  const double a = champion.age.mae, b = challenger.age.mae;
  rule(std::isfinite(a) && std::isfinite(b) && b <= a - rules.margin,
       "MAE " + years(b) + " vs champion " + years(a) + " (must be lower by at least the margin " +
           years(rules.margin) + ")");
  // Groups: age bands by true age, then true gender; too small a group is noise, not evidence.
  auto groups = [&](const std::vector<eval::GroupStats>& old_groups, const std::vector<eval::GroupStats>& new_groups,
                    const char* kind) {
    for (std::size_t i = 0; i < old_groups.size() && i < new_groups.size(); ++i) {
      const auto &o = old_groups[i], &n = new_groups[i];
      if (o.count < rules.min_group_count || !std::isfinite(o.mae) || !std::isfinite(n.mae)) continue;
      const double worse = n.mae - o.mae;
      if (worse > rules.band_tolerance) {
        rule(false, std::string(kind) + " " + o.name + ": MAE " + years(n.mae) + " vs " + years(o.mae) +
                        ", worse by more than the tolerance " + years(rules.band_tolerance));
      }
    }
  };
  const std::size_t before = reasons.size();
  groups(champion.by_band, challenger.by_band, "age band");
  groups(champion.by_gender, challenger.by_gender, "gender");
  if (reasons.size() == before) {
    rule(true, "no age band or gender group (with >= " + std::to_string(rules.min_group_count) +
                   " faces) worse by more than " + years(rules.band_tolerance) + " years");
  }
  const double ga = champion.gender.accuracy, gb = challenger.gender.accuracy;
  if (std::isfinite(ga) && std::isfinite(gb)) {
    rule(gb >= ga - rules.gender_tolerance, "gender accuracy " + years(gb) + " vs " + years(ga) +
                                                " (may drop by at most " + years(rules.gender_tolerance) + ")");
  }
  return wins;
}

RetrainResult retrain(const RetrainOptions& options, const Context& context) {
  FACEAGE_CHECK(options.rules.margin >= 0 && options.rules.band_tolerance >= 0 && options.rules.gender_tolerance >= 0,
                ErrorCode::kInvalidArgument, "retrain: margin and tolerances must be >= 0");
  FACEAGE_CHECK(fs::exists(options.new_data), ErrorCode::kNotFound, "no new data manifest at " << options.new_data);
  monitor::ModelRegistry registry(options.registry_dir, /*create=*/false);
  const auto champion = registry.production();
  if (!champion) {
    throw Error(ErrorCode::kNotFound, "registry " + options.registry_dir + " has no production version to retrain from",
                "promote one first: faceage registry promote V --registry " + options.registry_dir);
  }
  const auto champion_info = models::read_bundle_info(champion->bundle_path);
  const auto metadata = champion_info.value("metadata", nlohmann::json::object());
  const std::string old_train = metadata.value("train_manifest", "");
  const std::string old_val = metadata.value("val_manifest", "");
  if (old_train.empty() || !fs::exists(old_train)) {
    throw Error(ErrorCode::kInvalidArgument,
                "the production bundle (version " + std::to_string(champion->version) +
                    ") names no readable training manifest ('" + old_train + "')",
                "retrain needs a champion made by `faceage train`, with its training manifest still in place");
  }
  const std::string eval_data = options.eval_data.empty() ? old_val : options.eval_data;
  if (eval_data.empty() || !fs::exists(eval_data)) {
    throw Error(ErrorCode::kNotFound, "no evaluation manifest ('" + eval_data + "')", "pass --eval-data MANIFEST");
  }

  RetrainResult result;
  result.champion_version = champion->version;
  if (options.run_dir.empty()) {
    // 20261204T142500Z: no ':' in a path that becomes a config value.
    std::string stamp = monitor::format_iso8601(monitor::unix_now()).substr(0, 19) + "Z";
    stamp.erase(std::remove_if(stamp.begin(), stamp.end(), [](char c) { return c == ':' || c == '-'; }), stamp.end());
    result.run_dir = (fs::path(options.registry_dir) / "retrain" / ("v" + std::to_string(champion->version) + "-" + stamp)).string();
  } else {
    result.run_dir = options.run_dir;
  }
  fs::create_directories(result.run_dir);
  const fs::path run(result.run_dir);

  // Train the challenger: the user's config, warm-started from the champion, on old + new rows.
  const std::string combined = write_combined_manifest(old_train, options.new_data, (run / "train.csv").string());
  auto overrides = options.overrides;
  overrides.push_back("data.train=" + combined);
  overrides.push_back("model.init_from=" + champion->bundle_path);
  Config config = train::resolve_train_config(options.config_path, overrides);
  if (config.get_or<std::string>("data.val", "").empty()) {
    FACEAGE_CHECK(!old_val.empty(), ErrorCode::kConfig, "data.val is not set and the champion names no validation manifest");
    config.set("data.val", old_val);
  }
  train::TrainHooks hooks;
  hooks.progress = false;
  const auto trained = train::train(config, (run / "train").string(), context, hooks);
  // The challenger carries its own drift reference when it is served.
  embed_validation_profile(trained.best_bundle, context);

  // Both on the same evaluation set.
  const auto champion_metrics = evaluate(champion->bundle_path, eval_data, (run / "champion_eval.csv").string(), context);
  const auto challenger_metrics = evaluate(trained.best_bundle, eval_data, (run / "challenger_eval.csv").string(), context);
  result.promoted = challenger_wins(champion_metrics, challenger_metrics, options.rules, result.reasons);

  nlohmann::json feedback;
  if (!options.prediction_log.empty()) {
    std::vector<monitor::LabelledFace> answered_by_champion;
    for (auto& face : monitor::read_feedback(options.prediction_log)) {
      if (face.model_version == std::to_string(champion->version)) answered_by_champion.push_back(std::move(face));
    }
    feedback = {{"log", options.prediction_log},
                {"champion", to_json(monitor::summarize_feedback(answered_by_champion))},
                {"note", "the log holds no images, so only the model that answered is scored on feedback"}};
  }

  // Registered either way, so the attempt stays in the registry's record; promoted only on a win.
  auto request = monitor::register_request_from_bundle_info(trained.best_bundle, models::read_bundle_info(trained.best_bundle));
  request.parent_version = champion->version;
  request.lineage["retrain"] = {{"new_data", options.new_data}, {"eval_data", eval_data}, {"run_dir", result.run_dir}};
  monitor::Change change = options.change;
  const std::string why = change.reason.empty() ? "" : change.reason + "; ";
  change.reason = why + "challenger of version " + std::to_string(champion->version);
  const auto challenger = registry.register_version(request, change);
  result.challenger_version = challenger.version;
  if (result.promoted && options.promote) {
    change.reason = why + "retrain: MAE " + years(challenger_metrics.age.mae) + " vs " +
                    years(champion_metrics.age.mae) + " on " + eval_data;
    registry.promote(challenger.version, change);
  }

  result.decision = {
      {"promoted", result.promoted && options.promote},
      {"challenger_wins", result.promoted},
      {"reasons", result.reasons},
      {"rules",
       {{"margin", options.rules.margin},
        {"band_tolerance", options.rules.band_tolerance},
        {"gender_tolerance", options.rules.gender_tolerance},
        {"min_group_count", options.rules.min_group_count}}},
      {"champion", {{"version", champion->version}, {"bundle", champion->bundle_path}, {"eval", summary_json(champion_metrics)}}},
      {"challenger",
       {{"version", challenger.version},
        {"bundle", challenger.bundle_path},
        {"run_dir", trained.run_dir},
        {"epochs", trained.epochs_done},
        {"eval", summary_json(challenger_metrics)}}},
      {"data", {{"train", combined}, {"old_train", old_train}, {"new", options.new_data}, {"eval", eval_data}}},
      {"feedback", feedback},
      {"time", monitor::format_iso8601(monitor::unix_now())}};
  if (result.promoted && !options.promote) result.decision["note"] = "--no-promote: production left unchanged";
  result.decision_path = (run / "decision.json").string();
  write_file_atomic(result.decision_path, result.decision.dump(2) + "\n");
  return result;
}

}  // namespace faceage::lifecycle
