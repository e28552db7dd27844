#include "faceage/infer/batch.hpp"

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <istream>
#include <map>
#include <optional>
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
      // A path is bytes, not necessarily UTF-8 (a line of stdin, an odd file name): replace what
      // is not valid UTF-8 instead of throwing in the middle of a batch.
      out() << record.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
      if (format_ == "jsonl") out() << "\n";
      first_ = false;
    }
  }
  out().flush();
  if (!out()) {
    throw Error(ErrorCode::kIo, "cannot write the records" + (path_.empty() ? std::string(" (output closed?)") : " to '" + temp_ + "'"));
  }
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

// Writes one image's records and counts them: the part of a run every batch command shares.
void write_and_count(RecordWriter& writer, const ImagePrediction& prediction, PredictRunSummary& summary,
                     const Context& context) {
  writer.write(prediction);
  if (!prediction.ok()) {
    ++summary.failed;
    if (context.logger) context.logger->debug("{}", prediction.error->message);
  }
  summary.faces += prediction.faces.size();
}

enum class LineStatus { kLine, kTooLong, kEnd };

// Reads one line into `line` (without the newline or a trailing CR), keeping at most `max_bytes`
// of it: the rest of a longer line is read and dropped, so no input can grow memory.
LineStatus read_line(std::streambuf& in, std::string& line, std::size_t max_bytes) {
  line.clear();
  bool too_long = false;
  for (;;) {
    const auto c = in.sbumpc();
    if (std::char_traits<char>::eq_int_type(c, std::char_traits<char>::eof())) {
      if (line.empty() && !too_long) return LineStatus::kEnd;
      break;  // a last line without a newline still counts
    }
    const char ch = std::char_traits<char>::to_char_type(c);
    if (ch == '\n') break;
    if (line.size() < max_bytes + 1) {
      line.push_back(ch);  // one byte over the limit marks the line too long (before any CR strip)
    } else {
      too_long = true;
    }
  }
  if (!line.empty() && line.back() == '\r') line.pop_back();
  if (too_long || line.size() > max_bytes) return LineStatus::kTooLong;
  return LineStatus::kLine;
}

ImagePrediction line_error(const std::string& source, const std::string& message) {
  ImagePrediction prediction;
  prediction.source = source;
  prediction.error = PredictionError{ErrorCode::kInvalidArgument, message};
  return prediction;
}

}  // namespace

PredictRunSummary predict_stream(Predictor& predictor, std::istream& in, std::ostream& out,
                                 const StreamRunOptions& options, const Context& context) {
  FACEAGE_CHECK(in.rdbuf() != nullptr, ErrorCode::kInvalidArgument, "predict_stream: the input stream has no buffer");
  RecordWriter writer(options.format, "", out);
  ProgressBar progress({"predict", 0, options.progress, "img"});
  PredictRunSummary summary;
  const auto batch_size = static_cast<std::size_t>(std::max(1, predictor.options().batch_size));
  std::vector<std::string> batch;
  batch.reserve(batch_size);
  auto run_batch = [&] {
    if (batch.empty()) return;
    predictor.predict_files(batch, [&](ImagePrediction&& prediction) {
      write_and_count(writer, prediction, summary, context);
      progress.update(static_cast<std::int64_t>(++summary.images));
    });
    batch.clear();
  };
  std::streambuf& source = *in.rdbuf();
  std::string line;
  std::size_t line_number = 0;
  for (;;) {
    // Wait for a line only when nothing is pending: with a batch in hand, a line that has not
    // arrived yet must not hold back the records of those that have.
    if (!batch.empty() && (batch.size() >= batch_size || source.in_avail() == 0)) run_batch();
    LineStatus status;
    try {
      status = read_line(source, line, kMaxStreamLineBytes);
    } catch (...) {
      run_batch();  // a failed read ends the run, but the lines already read still get records
      throw;
    }
    if (status == LineStatus::kEnd) break;
    ++line_number;
    std::optional<ImagePrediction> bad;
    if (status == LineStatus::kTooLong) {
      bad = line_error(line.substr(0, 64) + "...", "line " + std::to_string(line_number) + ": longer than " +
                                                       std::to_string(kMaxStreamLineBytes) + " bytes, not a path");
    } else if (line.find('\0') != std::string::npos) {
      bad = line_error(line, "line " + std::to_string(line_number) + ": holds a NUL byte, not a path");
    } else if (!line.empty()) {
      batch.push_back(line);
    }
    if (bad) {
      run_batch();  // the lines before it first: records stay in input order
      write_and_count(writer, *bad, summary, context);
      progress.update(static_cast<std::int64_t>(++summary.images));
    }
  }
  run_batch();
  progress.finish();
  writer.close();
  return summary;
}

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
    write_and_count(writer, prediction, summary, context);
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
  const data::ManifestImages images =
      data::images_of_split(data::read_manifest(options.manifest_csv), options.split, options.manifest_csv);
  predictor_options.all_faces = false;
  Predictor predictor(predictor_options, context);
  std::string text = data::csv_line(prediction_csv_header());
  ProgressBar progress({"eval", static_cast<std::int64_t>(images.paths.size()), options.progress, "img"});
  std::int64_t done = 0;
  predictor.predict_files(images.paths, [&](ImagePrediction&& prediction) {
    for (auto row : to_csv_rows(prediction)) {
      row[0] = images.file_of_path.at(prediction.source);
      text += data::csv_line(row);
    }
    progress.update(++done);
  });
  progress.finish();
  write_file_atomic(options.out_csv, text);
  return predictor.info().paths;
}

}  // namespace faceage::infer
