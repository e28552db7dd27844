#pragma once
// `faceage data ingest`: source -> adapter -> validate every image (threads) -> drop byte-identical
// duplicates -> manifest of good rows + report.json / report.md. One bad file never stops the run.
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "faceage/data/adapters.hpp"
#include "faceage/data/image_io.hpp"

namespace faceage::data {

struct IngestOptions {
  std::string source;       // folder or CSV, as the adapter expects
  std::string format;       // adapter name (dataset_adapters().names())
  std::string out;          // manifest to write (required)
  std::string report_dir;   // "" -> "<out without .csv>.report/"
  int threads = 0;          // 0: all hardware threads
  bool validate = true;     // decode every image (false: only read and hash)
  std::string image_root;   // passed to the adapter (csv)
  std::map<std::string, std::string> column_map;  // passed to the adapter (csv)
  DecodeOptions decode;
  int progress = -1;        // -1: on a terminal, 0: never, 1: always
};

struct IngestProblem {
  std::string file;
  std::string code;    // error_code_name(), e.g. "unreadable_image"
  std::string reason;
};

struct DuplicateItem {
  std::string file;
  std::string duplicate_of;  // the first file with the same bytes
  bool conflicting = false;  // labels differ: every member of the group was dropped
};

struct IngestReport {
  std::string source, format, manifest_path, report_dir;
  std::int64_t candidates = 0;           // rows the adapter produced
  std::int64_t skipped = 0;              // entries the adapter left out (bad names, rows)
  std::int64_t unreadable = 0;           // failed to read or decode
  std::int64_t duplicates_removed = 0;   // extra copies with agreeing labels
  std::int64_t conflicting_dropped = 0;  // members of byte-identical groups with differing labels
  std::int64_t written = 0;              // rows in the manifest
  std::vector<SkippedItem> skipped_items;
  std::vector<IngestProblem> unreadable_items;
  std::vector<DuplicateItem> duplicates;
  std::map<int, std::int64_t> age_decades;      // 0 -> 0-9, 10 -> 10-19 ...; -1 unknown (written rows)
  std::map<std::string, std::int64_t> genders;  // "male", "female", "unknown"
  std::map<int, std::int64_t> races;            // -1 unknown
  std::map<std::string, std::int64_t> formats;  // decoded formats (validated runs)
  bool validated = true;
  int threads = 1;
  double seconds = 0;

  std::string to_json() const;
  std::string to_markdown() const;
};

// Runs the ingest and writes the manifest and the report files. Throws only for problems with
// the whole run (unknown format, missing source, unwritable output); per-file problems are counted.
IngestReport ingest_dataset(const IngestOptions& options);

}  // namespace faceage::data
