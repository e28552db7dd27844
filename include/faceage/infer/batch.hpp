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
  // Writes and flushes the prediction's records; kIo when the stream or file refuses them (a closed
  // pipe with SIGPIPE ignored, a full disk), so a run never goes on writing into the void.
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
// when the inputs hold no image; kIo when the records cannot be written.
PredictRunSummary predict_paths(Predictor& predictor, const PredictRunOptions& options, const Context& context,
                                std::ostream& out);
struct StreamRunOptions {
  std::string format = "jsonl";  // as RecordWriter; jsonl is one line per face (or failed image)
  int progress = -1;             // a count and rate on stderr; -1: on a terminal, 0: never, 1: always
};

// `faceage predict --stdin`, the shape of Spark's RDD.pipe, xargs, GNU parallel and SageMaker Batch
// Transform: one image path per line of `in` (a trailing CR is dropped, empty lines are skipped),
// records to `out` in input order, flushed after each image. A line that cannot be a path (longer
// than kMaxStreamLineBytes, or holding a NUL byte) and an image that fails are error records
// (kInvalidArgument, or the image's error) and the stream goes on. Memory stays constant: at most
// `predictor.options().batch_size` lines are held, and only lines that are already readable
// (`in.rdbuf()->in_avail() != 0`) join a batch, so a slow producer gets each record before it writes
// the next line. Read std::cin through FdInputBuffer (core/fd_stream.hpp) for batching to happen.
// No input at all is no error (an empty partition). kIo when `out` cannot be written.
inline constexpr std::size_t kMaxStreamLineBytes = 4096;  // PATH_MAX on Linux
PredictRunSummary predict_stream(Predictor& predictor, std::istream& in, std::ostream& out,
                                 const StreamRunOptions& options, const Context& context);

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
