#pragma once
// Runs of the Predictor over many files, behind `faceage predict` and `faceage eval --model`.
#include <cstddef>
#include <fstream>
#include <iosfwd>
#include <string>
#include <vector>

#include "faceage/core/context.hpp"
#include "faceage/infer/predictor.hpp"

namespace faceage::infer {

// Streams records in one format to a file or a stream. A file is written to a temp file beside it
// and renamed by close(), so a reader never sees half a file (kIo when it cannot be written).
class RecordWriter {
 public:
  // format: json (one array), jsonl, csv (prediction_csv_header) or table (one line per face).
  // `path` empty: writes to `stream`.
  RecordWriter(const std::string& format, const std::string& path, std::ostream& stream);
  void write(const ImagePrediction& prediction);
  void close();  // ends the JSON array; renames the file into place

 private:
  std::ostream& out() { return path_.empty() ? stream_ : file_; }
  std::string format_, path_, temp_;
  std::ostream& stream_;
  std::ofstream file_;
  bool first_ = true;
};

struct PredictRunOptions {
  std::vector<std::string> inputs;  // image files and folders (scanned with data::scan_images)
  std::string format = "json";      // as RecordWriter
  std::string output;               // records file; empty: `out`
  std::string annotate_dir;         // annotated copies of the images (empty: none)
  int progress = -1;                // -1: on a terminal, 0: never, 1: always
};

struct PredictRunSummary {
  std::size_t images = 0, faces = 0, failed = 0;
  std::vector<std::string> skipped;  // folder entries that are not images (never silently dropped)
};

// Predicts every image of the inputs, writing each record as it is done (input order). kNotFound
// when the inputs hold no image.
PredictRunSummary predict_paths(Predictor& predictor, const PredictRunOptions& options, const Context& context,
                                std::ostream& out);
// "12 image(s), 14 face(s), 1 failed, 2 skipped (not images)" and a line per skipped file (up to 5).
std::string format_summary(const PredictRunSummary& summary);

struct ManifestRunOptions {
  std::string manifest_csv;
  std::string split;    // only rows of this split (empty: all)
  std::string out_csv;  // written atomically
  int progress = -1;
};
// Runs the model(s) on the manifest's images, the largest face of each (a labelled photo holds one
// person; `predictor.all_faces` is overridden), and writes a `faceage predict --format csv` file
// whose file column is the manifest's own relative path, so scoring matches rows exactly.
// kInvalidArgument when no row is selected. Returns the model files run (the default model's path
// when none was given).
std::vector<std::string> predict_manifest(PredictorOptions predictor, const Context& context,
                                          const ManifestRunOptions& options);

}  // namespace faceage::infer
