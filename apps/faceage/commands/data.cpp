// `faceage data ingest|split|degrade|crops`: thin shells over faceage::data::ingest_dataset /
// write_splits, faceage::augment::degrade_manifest and faceage::train::export_crops.
#include <iostream>

#include "commands/commands.hpp"
#include "faceage/augment/degrade.hpp"
#include "faceage/core/strings.hpp"
#include "faceage/data/adapters.hpp"
#include "faceage/data/ingest.hpp"
#include "faceage/data/split.hpp"
#include "faceage/infer/predictor.hpp"
#include "faceage/models/bundle.hpp"
#include "faceage/train/crop_export.hpp"
#include "faceage/train/run_config.hpp"

namespace faceage::cli {

namespace {

void add_ingest(CLI::App& data, CliState& state) {
  struct Flags {
    data::IngestOptions options;
    std::string map;
    bool no_validate = false;
  };
  auto flags = std::make_shared<Flags>();
  auto* cmd = data.add_subcommand("ingest", "validate a dataset and write its manifest and a report");
  cmd->add_option("source", flags->options.source, "image folder or labels CSV")->required();
  cmd->add_option("--format", flags->options.format,
                  "dataset adapter: " + join(data::dataset_adapters().names(), ", "))
      ->required();
  cmd->add_option("--out", flags->options.out, "manifest CSV to write")->required();
  cmd->add_option("--report", flags->options.report_dir, "report folder (default: OUT without .csv + .report)");
  cmd->add_option("--threads", flags->options.threads, "decoding threads (0: all cores)")->check(CLI::NonNegativeNumber);
  cmd->add_flag("--no-validate", flags->no_validate, "only read and hash files, do not decode them");
  cmd->add_option("--map", flags->map, "csv: manifest column = source column, e.g. file=path,age=Age,gender=sex");
  cmd->add_option("--image-root", flags->options.image_root, "csv: folder the file column is relative to");
  cmd->callback([flags, &state] {
    data::IngestOptions options = flags->options;
    options.validate = !flags->no_validate;
    options.column_map = data::parse_column_map(flags->map);
    if (options.threads == 0) options.threads = state.context_options.threads;
    options.progress = state.quiet ? 0 : -1;
    const data::IngestReport r = data::ingest_dataset(options);
    std::cout << "candidates " << r.candidates << ", skipped " << r.skipped << ", unreadable " << r.unreadable
              << ", duplicate copies removed " << r.duplicates_removed << ", conflicting duplicates dropped "
              << r.conflicting_dropped << "\n"
              << "wrote " << r.written << " rows to " << r.manifest_path << " in " << r.seconds << " s ("
              << r.threads << " threads)\nreport: " << r.report_dir << "/report.md\n";
    state.exit_code = 0;
  });
}

void add_split(CLI::App& data, CliState& state) {
  struct Flags {
    std::string manifest, out;
    data::SplitOptions options;
  };
  auto flags = std::make_shared<Flags>();
  auto* cmd = data.add_subcommand("split", "write fixed train/val/test manifests (stratified, seeded)");
  cmd->add_option("manifest", flags->manifest, "manifest CSV to split")->required();
  cmd->add_option("--out", flags->out, "folder for train.csv, val.csv, test.csv")->required();
  cmd->add_option("--fractions", flags->options.fractions, "train,val,test fractions")
      ->delimiter(',')
      ->expected(3)
      ->default_str("0.8,0.1,0.1");
  auto* seed = cmd->add_option("--seed", flags->options.seed, "shuffle seed (default: the global --seed, 42)");
  cmd->add_flag("--use-split-column", flags->options.use_split_column, "use the manifest's split column as is");
  cmd->callback([flags, seed, &state] {
    data::SplitOptions options = flags->options;
    if (seed->count() == 0) options.seed = state.context_options.seed;
    const data::SplitSummary summary = data::write_splits(flags->manifest, flags->out, options);
    for (std::size_t k = 0; k < summary.counts.size(); ++k) {
      std::cout << data::kSplitNames[k] << ": " << summary.counts[k] << " -> " << summary.paths[k] << "\n";
    }
    state.exit_code = 0;
  });
}

void add_degrade(CLI::App& data, CliState& state) {
  auto options = std::make_shared<augment::DegradeManifestOptions>();
  auto* cmd = data.add_subcommand("degrade", "write a degraded copy of a manifest (old photos, blur, noise, JPEG, canvas)");
  cmd->add_option("manifest", options->manifest, "manifest CSV to degrade")->required();
  cmd->add_option("--out", options->out_dir, "folder for images/, manifest.csv and failures.csv")->required();
  auto* seed = cmd->add_option("--seed", options->seed, "sampling seed (default: the global --seed, 42)");
  cmd->add_option("--preset", options->degrade.preset,
                  "augment preset whose photometric part is applied: " + join(augment::presets().names(), ", "))
      ->capture_default_str();
  cmd->add_option("--canvas-prob", options->degrade.canvas.prob, "share of images pasted into a larger canvas")
      ->capture_default_str();
  cmd->callback([options, seed, &state] {
    if (seed->count() == 0) options->seed = state.context_options.seed;
    options->progress = state.quiet ? 0 : -1;
    const augment::DegradeReport r = augment::degrade_manifest(*options);
    std::cout << "wrote " << r.written << " of " << r.rows << " rows to " << r.manifest_path << " in " << r.seconds
              << " s\n";
    for (const auto& [name, count] : r.counts) std::cout << "  " << name << ": " << count << "\n";
    if (r.failed > 0) std::cout << r.failed << " unreadable, listed in " << r.failures_path << "\n";
    state.exit_code = r.failed > 0 ? kExitPartialFailure : 0;
  });
}

void add_crops(CLI::App& data, CliState& state) {
  struct Flags {
    train::ExportCropsOptions options;
    std::string model;
  };
  auto flags = std::make_shared<Flags>();
  auto* cmd = data.add_subcommand("crops", "write a manifest's aligned face crops as small images (training elsewhere)");
  cmd->add_option("manifest", flags->options.manifest, "manifest CSV whose faces to write")->required();
  cmd->add_option("--out", flags->options.out_dir, "folder for images/, manifest.csv, face_pipeline.json")->required();
  cmd->add_option("--model", flags->model, "the face pipeline of this model file (default: the default model)");
  cmd->add_option("--cache-dir", flags->options.cache_dir, "aligned-crop cache")->default_str(train::kDefaultCropCacheDir);
  cmd->add_option("--size", flags->options.size, "side of the written crops (0: the pipeline's crop size)")
      ->capture_default_str();
  cmd->add_option("--format", flags->options.format, "jpg, webp or png")->capture_default_str();
  cmd->add_option("--quality", flags->options.quality, "jpg/webp quality")->capture_default_str();
  cmd->callback([flags, &state] {
    train::ExportCropsOptions options = flags->options;
    const std::string model = flags->model.empty() ? infer::default_model_path() : flags->model;
    nlohmann::json info = models::read_bundle_info(model);
    if (info.contains("members")) info = info["members"].at(0).value("info", nlohmann::json::object());
    options.face = face::face_pipeline_from_json(info.value("face_pipeline", nlohmann::json::object()));
    options.cache_dir = train::expand_home(options.cache_dir.empty() ? train::kDefaultCropCacheDir : options.cache_dir);
    options.progress = state.quiet ? 0 : -1;
    const train::ExportCropsReport r = train::export_crops(options, state.make_context());
    std::cout << "wrote " << r.written << " of " << r.rows << " faces (" << (r.bytes >> 10) << " KiB) to "
              << r.manifest_path << " in " << r.seconds << " s\npipeline: " << r.pipeline_path << "\n";
    if (r.failed > 0) std::cout << r.failed << " without a face or unreadable, listed in " << r.failures_path << "\n";
    state.exit_code = r.failed > 0 ? kExitPartialFailure : 0;
  });
}

}  // namespace

void add_data_command(CLI::App& app, CliState& state) {
  auto* data = app.add_subcommand("data", "dataset ingestion, splits, degraded copies and face-crop exports");
  data->require_subcommand(1);
  add_ingest(*data, state);
  add_split(*data, state);
  add_degrade(*data, state);
  add_crops(*data, state);
}

}  // namespace faceage::cli
