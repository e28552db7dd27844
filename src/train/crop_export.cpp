#include "faceage/train/crop_export.hpp"

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>

#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include "faceage/core/check.hpp"
#include "faceage/core/fs.hpp"
#include "faceage/core/progress.hpp"
#include "faceage/data/csv.hpp"
#include "faceage/data/manifest.hpp"
#include "faceage/train/crop_cache.hpp"

namespace faceage::train {

namespace fs = std::filesystem;

namespace {
std::vector<int> encode_params(const std::string& format, int quality) {
  if (format == "jpg") return {cv::IMWRITE_JPEG_QUALITY, quality};
  if (format == "webp") return {cv::IMWRITE_WEBP_QUALITY, quality};
  return {};
}
}  // namespace

ExportCropsReport export_crops(const ExportCropsOptions& options, const Context& context) {
  FACEAGE_CHECK(!options.out_dir.empty(), ErrorCode::kInvalidArgument, "crop export: an output folder is required");
  FACEAGE_CHECK(options.format == "jpg" || options.format == "webp" || options.format == "png",
                ErrorCode::kInvalidArgument, "crop export: format must be jpg, webp or png, got '" << options.format << "'");
  FACEAGE_CHECK(options.quality >= 1 && options.quality <= 100, ErrorCode::kInvalidArgument,
                "crop export: quality must be in 1..100, got " << options.quality);
  const int size = options.size > 0 ? options.size : options.face.crop_size;
  FACEAGE_CHECK(size >= 16 && size <= options.face.crop_size, ErrorCode::kInvalidArgument,
                "crop export: size must be in 16.." << options.face.crop_size << " (the pipeline's crop_size), got "
                                                    << options.size);
  const auto start = std::chrono::steady_clock::now();
  const data::Manifest input = data::read_manifest(options.manifest);

  CropCacheOptions cache_options;
  cache_options.cache_dir = options.cache_dir;
  cache_options.face = options.face;
  cache_options.threads = options.threads;
  cache_options.progress = options.progress != 0;
  CropSetReport cache_report;
  const CropSet crops = CropSet::build(input, cache_options, context, &cache_report);

  const fs::path out_dir = fs::absolute(options.out_dir).lexically_normal();
  const fs::path image_dir = out_dir / "images";
  std::error_code ec;
  fs::create_directories(image_dir, ec);
  FACEAGE_CHECK(!ec, ErrorCode::kIo, "cannot create " << image_dir.string() << ": " << ec.message());

  ExportCropsReport report;
  report.rows = input.rows.size();
  report.failures = cache_report.failures;
  data::Manifest output;
  output.base_dir = out_dir.string();
  const auto params = encode_params(options.format, options.quality);
  ProgressBar bar({"writing crops", static_cast<std::int64_t>(crops.size()), options.progress, "img"});
  for (std::size_t i = 0; i < crops.size(); ++i) {
    const data::ManifestRow& row = input.rows[crops.sample(i).row];
    cv::Mat bgr;
    cv::cvtColor(crops.crop(i), bgr, cv::COLOR_RGB2BGR);
    // INTER_AREA: the same shrink the model's preprocessing applies to a crop.
    if (size != crops.crop_size()) cv::resize(bgr, bgr, cv::Size(size, size), 0, 0, cv::INTER_AREA);
    std::vector<std::uint8_t> bytes;
    FACEAGE_CHECK(cv::imencode("." + options.format, bgr, bytes, params), ErrorCode::kIo,
                  "cannot encode a crop as " << options.format);
    char prefix[32];
    std::snprintf(prefix, sizeof prefix, "%06zu_", crops.sample(i).row);
    const std::string name = prefix + fs::path(row.file).stem().string() + "." + options.format;
    write_file_atomic((image_dir / name).string(), bytes);
    report.bytes += bytes.size();
    data::ManifestRow exported = row;
    exported.file = "images/" + name;
    exported.path = (image_dir / name).string();
    output.rows.push_back(std::move(exported));
    bar.advance();
  }
  bar.finish();
  report.written = output.rows.size();
  report.failed = report.failures.size();
  report.manifest_path = (out_dir / "manifest.csv").string();
  data::write_manifest(output, report.manifest_path);
  report.pipeline_path = (out_dir / "face_pipeline.json").string();
  const nlohmann::json pipeline = {{"face_pipeline", face::to_json(options.face)}, {"crop_size", size}};
  write_file_atomic(report.pipeline_path, pipeline.dump(2));
  fs::remove(out_dir / "failures.csv", ec);  // a stale list from an earlier run would mislead
  if (!report.failures.empty()) {
    data::CsvWriter failures({"file", "error"});
    for (const auto& [file, reason] : report.failures) failures.add_row({file, reason});
    report.failures_path = (out_dir / "failures.csv").string();
    failures.save(report.failures_path);
  }
  report.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return report;
}

ExportedCrops read_exported_crops(const std::string& face_pipeline_json) {
  std::ifstream in(face_pipeline_json);
  FACEAGE_CHECK(in.good(), ErrorCode::kIo, "cannot read the crop export's '" << face_pipeline_json << "'");
  nlohmann::json json;
  try {
    json = nlohmann::json::parse(in);
  } catch (const nlohmann::json::exception& e) {
    throw Error(ErrorCode::kConfig, face_pipeline_json + ": not JSON: " + e.what());
  }
  FACEAGE_CHECK(json.contains("face_pipeline") && json.contains("crop_size") && json["crop_size"].is_number_integer(),
                ErrorCode::kConfig,
                face_pipeline_json << ": not a crop export's face_pipeline.json (needs face_pipeline and crop_size)");
  ExportedCrops crops;
  // Parsed back so that a bad pipeline is refused here, not in a bundle that predict cannot load.
  crops.recorded_pipeline = face::to_json(face::face_pipeline_from_json(json["face_pipeline"]));
  crops.read_options.detector = "none";
  crops.read_options.crop_size = json["crop_size"].get<int>();
  crops.read_options.crop_fallback = false;
  return crops;
}

}  // namespace faceage::train
