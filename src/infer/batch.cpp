#include "faceage/infer/batch.hpp"

#include <cstdio>
#include <filesystem>
#include <map>
#include <ostream>
#include <set>

#include <opencv2/imgcodecs.hpp>
#include <spdlog/spdlog.h>

#include "faceage/core/check.hpp"
#include "faceage/core/fs.hpp"
#include "faceage/core/progress.hpp"
#include "faceage/data/csv.hpp"
#include "faceage/data/image_io.hpp"
#include "faceage/data/manifest.hpp"

namespace faceage::infer {

namespace fs = std::filesystem;

RecordWriter::RecordWriter(const std::string& format, const std::string& path, std::ostream& stream)
    : format_(format), path_(path), stream_(stream) {
  FACEAGE_CHECK(format == "json" || format == "jsonl" || format == "csv" || format == "table",
                ErrorCode::kInvalidArgument, "unknown record format '" << format << "'; available: json, jsonl, csv, table");
  if (!path.empty()) {
    temp_ = temp_path_beside(path);
    std::error_code ec;
    if (fs::path(path).has_parent_path()) fs::create_directories(fs::path(path).parent_path(), ec);
    file_.open(temp_);
    if (!file_) throw Error(ErrorCode::kIo, "cannot write '" + path + "'", "check the directory exists and is writable");
  }
  if (format_ == "csv") out() << data::csv_line(prediction_csv_header());
  if (format_ == "json") out() << "[";
}

void RecordWriter::write(const ImagePrediction& prediction) {
  if (format_ == "csv") {
    for (const auto& row : to_csv_rows(prediction)) out() << data::csv_line(row);
  } else if (format_ == "table") {
    if (!prediction.ok()) out() << prediction.source << ": error: " << prediction.error->message << "\n";
    for (const auto& face : prediction.faces) {
      char line[512];
      std::snprintf(line, sizeof(line), "%s  face %d  age %.1f (%.0f-%.0f)  ", prediction.source.c_str(), face.face,
                    face.age, face.age_low, face.age_high);
      out() << line;
      if (face.gender_prob) {
        std::snprintf(line, sizeof(line), "%s %.0f%%  ", face.gender.c_str(), 100 * *face.gender_prob);
        out() << line;
      }
      std::snprintf(line, sizeof(line), "P(<%g) %.2f  quality %.2f%s  ", face.minor_gate, face.p_minor,
                    face.quality.score, face.unreliable ? " (unreliable)" : "");
      out() << line;
      std::snprintf(line, sizeof(line), "box %.0f,%.0f %.0fx%.0f%s\n", face.box.x, face.box.y, face.box.width,
                    face.box.height, face.face_source == "crop_fallback" ? "  (no face found: the whole crop used as the face)" : "");
      out() << line;
    }
  } else {
    for (const auto& record : to_json(prediction)) {
      if (format_ == "json") out() << (first_ ? "\n  " : ",\n  ");
      out() << record.dump();
      if (format_ == "jsonl") out() << "\n";
      first_ = false;
    }
  }
  out().flush();
}

void RecordWriter::close() {
  if (format_ == "json") out() << (first_ ? "]\n" : "\n]\n");
  if (path_.empty()) return;
  file_.close();
  if (!file_) throw Error(ErrorCode::kIo, "cannot finish writing '" + path_ + "'");
  replace_file(temp_, path_);
}

namespace {

std::string annotated_name(const std::string& source, std::set<std::string>& used) {
  const std::string stem = fs::path(source).stem().string();
  std::string name = stem + ".annotated.jpg";
  for (int n = 1; used.count(name); ++n) name = stem + "." + std::to_string(n) + ".annotated.jpg";
  used.insert(name);
  return name;
}

}  // namespace

PredictRunSummary predict_paths(Predictor& predictor, const PredictRunOptions& options, const Context& context,
                                std::ostream& out) {
  const auto scan = data::scan_images(options.inputs);
  FACEAGE_CHECK(!scan.images.empty(), ErrorCode::kNotFound,
                "no image files (.jpg .jpeg .png .bmp .webp .tif .tiff) found in the given paths"
                    << (scan.skipped.empty() ? "" : " (" + std::to_string(scan.skipped.size()) + " other files skipped)"));
  if (!options.annotate_dir.empty()) fs::create_directories(options.annotate_dir);
  RecordWriter writer(options.format, options.output, out);
  ProgressBar progress({"predict", static_cast<std::int64_t>(scan.images.size()), options.progress, "img"});
  PredictRunSummary summary;
  summary.images = scan.images.size();
  summary.skipped = scan.skipped;
  std::set<std::string> used_names;
  std::int64_t done = 0;
  predictor.predict_files(scan.images, [&](ImagePrediction&& prediction) {
    writer.write(prediction);
    if (!prediction.ok()) {
      ++summary.failed;
      if (context.logger) context.logger->debug("{}", prediction.error->message);
    }
    summary.faces += prediction.faces.size();
    if (!options.annotate_dir.empty() && prediction.ok()) {
      try {
        auto decoded = data::read_image(prediction.source, predictor.options().decode);
        cv::imwrite((fs::path(options.annotate_dir) / annotated_name(prediction.source, used_names)).string(),
                    annotate(decoded.rgb, prediction));
      } catch (const std::exception& e) {
        if (context.logger) context.logger->warn("cannot annotate {}: {}", prediction.source, e.what());
      }
    }
    progress.update(++done);
  });
  progress.finish();
  writer.close();
  return summary;
}

std::string format_summary(const PredictRunSummary& summary) {
  std::string text = std::to_string(summary.images) + " image(s), " + std::to_string(summary.faces) + " face(s), " +
                     std::to_string(summary.failed) + " failed";
  if (!summary.skipped.empty()) text += ", " + std::to_string(summary.skipped.size()) + " skipped (not images)";
  text += "\n";
  for (std::size_t i = 0; i < summary.skipped.size() && i < 5; ++i) text += "skipped: " + summary.skipped[i] + "\n";
  if (summary.skipped.size() > 5) text += "skipped: ... " + std::to_string(summary.skipped.size() - 5) + " more\n";
  return text;
}

std::vector<std::string> predict_manifest(PredictorOptions predictor_options, const Context& context,
                                          const ManifestRunOptions& options) {
  const data::Manifest manifest = data::read_manifest(options.manifest_csv);
  std::vector<std::string> paths;
  std::map<std::string, std::string> file_of_path;
  for (const auto& row : manifest.rows) {
    if (!options.split.empty() && row.split != options.split) continue;
    const std::string path = data::resolved_path(manifest, row);
    if (file_of_path.emplace(path, row.file).second) paths.push_back(path);
  }
  FACEAGE_CHECK(!paths.empty(), ErrorCode::kInvalidArgument,
                options.manifest_csv + ": no rows" + (options.split.empty() ? std::string() : " in split '" + options.split + "'"));
  predictor_options.all_faces = false;
  Predictor predictor(predictor_options, context);
  std::string text = data::csv_line(prediction_csv_header());
  ProgressBar progress({"eval", static_cast<std::int64_t>(paths.size()), options.progress, "img"});
  std::int64_t done = 0;
  predictor.predict_files(paths, [&](ImagePrediction&& prediction) {
    for (auto row : to_csv_rows(prediction)) {
      row[0] = file_of_path.at(prediction.source);
      text += data::csv_line(row);
    }
    progress.update(++done);
  });
  progress.finish();
  write_file_atomic(options.out_csv, text);
  return predictor.info().paths;
}

}  // namespace faceage::infer
