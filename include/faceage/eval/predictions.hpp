#pragma once
// Reading predictions CSVs (from `faceage predict` or another system) and matching them to ground
// truth, so every system is scored by the same code.
//
// Accepted CSVs (header row required, RFC 4180 quoting, column order free, extra columns ignored):
//   faceage predict:  file,face,x,y,w,h,age,age_low,age_high,gender,gender_prob,p_minor,quality,unreliable,error
//   minimal:          file,age[,gender]
// Column names are configurable (ColumnMap::set("age=pred_age")). gender_prob is the probability
// of the predicted gender; a female_prob column (P(female)) is used instead when present.
// Gender values are read case-insensitively: male/m/man and female/f/woman; others are unknown.
//
// Failures: a row whose error column is non-empty, or whose age is missing or not a number, is a
// failed row. A file fails when none of its rows succeeded; failed files are counted and listed,
// never scored. Several faces for one file: the face with the largest box (w*h) is scored; without
// boxes the lowest face index (the first row on ties) is.
#include <nlohmann/json_fwd.hpp>

#include <cstdint>
#include <string>
#include <vector>

#include "faceage/eval/metrics.hpp"

namespace faceage::eval {

struct ColumnMap {
  std::string file = "file";
  std::string face = "face";
  std::string w = "w";
  std::string h = "h";
  std::string age = "age";
  std::string age_low = "age_low";
  std::string age_high = "age_high";
  std::string gender = "gender";
  std::string gender_prob = "gender_prob";
  std::string female_prob = "female_prob";
  std::string p_minor = "p_minor";        // P(age < 18)
  std::string unreliable = "unreliable";  // 1/0 (true/false) quality flag
  std::string error = "error";

  // Applies "key=column" (e.g. "age=pred_age"). Unknown key or empty column: kInvalidArgument
  // naming the valid keys.
  void set(const std::string& assignment);
};

struct PredictionRow {
  std::string file;
  int face = 0;
  double box_area = kNaN;  // w*h when the CSV has boxes
  double age = kNaN;
  double age_low = kNaN;
  double age_high = kNaN;
  std::string gender;         // normalised: "male", "female" or ""
  double female_prob = kNaN;  // P(female)
  double p_minor = kNaN;      // P(age < 18)
  int unreliable = -1;        // 1 flagged, 0 not, -1 no such column
  std::string error;          // non-empty: the row failed
  std::int64_t line = 0;      // 1-based line in the CSV (the header is line 1)
};

struct PredictionsTable {
  std::vector<PredictionRow> rows;
  std::vector<std::string> columns;  // header as read
};

// Parses CSV text; `source` names it in errors. Missing file or age column, or an empty text:
// kInvalidArgument. Bad rows never throw: they become failed rows with an error message.
PredictionsTable parse_predictions_csv(const std::string& text, const ColumnMap& columns = {},
                                       const std::string& source = "predictions");
// Reads a file (kNotFound / kIo) and parses it.
PredictionsTable read_predictions_csv(const std::string& path, const ColumnMap& columns = {});

// One prediction per file after face selection.
struct FilePrediction {
  std::string file;
  bool failed = false;
  std::string error;  // the first row's error when failed
  int faces = 0;      // successful rows (faces) for this file
  PredictionRow chosen;
};
// Groups rows by file (in order of first appearance) and picks the scored face (see above).
std::vector<FilePrediction> select_faces(const PredictionsTable& table);

// Ground truth for one image (data::ManifestRow maps onto it: see ground_truth_from_manifest).
struct GroundTruth {
  std::string file;  // relative to the manifest's base_dir
  std::string path;  // resolved path (may be empty)
  double age = kNaN;
  std::string gender;  // "male", "female", ""
  int race = -1;
  std::string split;
};

struct MatchOptions {
  std::string split;               // score only ground truth rows of this split ("" all)
  bool basename_fallback = true;   // match by file name when the relative path does not match
  std::size_t max_listed = 50;     // names kept per list in the MatchReport
};

struct MatchReport {
  std::vector<EvalRecord> records;  // matched, successful predictions, in ground-truth order
  std::int64_t prediction_files = 0;
  std::int64_t matched = 0;             // prediction files matched to a ground-truth row
  std::int64_t matched_by_basename = 0;
  std::int64_t failed_files = 0;        // matched files whose prediction failed (not scored)
  std::int64_t unmatched_predictions = 0;  // prediction files with no ground-truth row
  std::int64_t missing_predictions = 0;    // ground-truth rows (in split) with no prediction
  std::int64_t ambiguous_basename = 0;     // prediction files whose basename fits several rows
  std::int64_t duplicate_predictions = 0;  // a second prediction file for an already matched row
  std::int64_t outside_split = 0;          // matched rows of another split (ignored)
  // Up to max_listed names each.
  std::vector<std::string> failed;  // "file: error"
  std::vector<std::string> unmatched_prediction_files;
  std::vector<std::string> missing_prediction_files;
};

// Matches predictions to ground truth: by normalised relative path ("./a//b.jpg" = "a/b.jpg",
// backslashes read as slashes), then by the resolved path,
// then (when enabled) by a basename that is unique in the ground truth.
MatchReport match_predictions(const std::vector<FilePrediction>& predictions,
                              const std::vector<GroundTruth>& truth, const MatchOptions& options = {});

nlohmann::json to_json(const MatchReport& report);

}  // namespace faceage::eval
