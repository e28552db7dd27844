#pragma once
// The one manifest format every stage reads: CSV with header `file,age,gender[,race][,subject][,split]`.
//  - file:    relative to the manifest's directory (absolute paths are accepted too)
//  - age:     integer years 0..150; empty = unknown (-1)
//  - gender:  "male" / "female"; on input also m/f and 0/1 (UTKFace: 0 male, 1 female); empty = unknown
//  - race:    integer 0..4 (UTKFace: White, Black, Asian, Indian, Others); empty = unknown (-1)
//  - subject: identity label (splits keep a subject's images together); optional
//  - split:   train / val / test; optional
// Other columns are ignored on input.
#include <map>
#include <string>
#include <vector>

namespace faceage::data {

struct ManifestRow {
  std::string file;     // as written in the manifest
  std::string path;     // resolved: absolute or relative to the working directory
  int age = -1;
  std::string gender;   // "male", "female" or "" (unknown)
  int race = -1;
  std::string subject;
  std::string split;
};

struct Manifest {
  std::string base_dir;  // directory `file` is relative to
  std::vector<ManifestRow> rows;
};

// kNotFound when missing; kInvalidArgument naming the line and column for a bad value or a
// missing required column (file, age).
Manifest read_manifest(const std::string& path);

// A column written after the manifest's own (readers ignore it): one value per row.
struct ManifestColumn {
  std::string name;
  std::vector<std::string> values;
};

// Writes atomically; `file` is written relative to the output file's directory (computed from
// each row's resolved path, or from base_dir/file when path is empty). Optional columns (race,
// subject, split) are written only when some row has a value; `extra` columns follow them
// (kInternal when one has not exactly one value per row).
void write_manifest(const Manifest& manifest, const std::string& path, const std::vector<ManifestColumn>& extra = {});

// Label normalisation shared by manifests and adapters. Return false on a value they do not know.
bool parse_gender(const std::string& text, std::string& gender);  // "" -> "" (unknown)
bool parse_age(const std::string& text, int& age);                // "" -> -1; 0..150
bool parse_race(const std::string& text, int& race);              // "" -> -1; 0..4

// The resolved path of a row of `manifest` (path when set, else base_dir/file).
std::string resolved_path(const Manifest& manifest, const ManifestRow& row);

// The distinct images a run over a manifest reads: the resolved paths of the rows of `split`
// (every row when empty), in manifest order, and each one's `file` as written, which is the name
// its prediction record carries so scoring matches rows exactly. kInvalidArgument naming
// `manifest_csv` and the split when no row is selected.
struct ManifestImages {
  std::vector<std::string> paths;
  std::map<std::string, std::string> file_of_path;
};
ManifestImages images_of_split(const Manifest& manifest, const std::string& split, const std::string& manifest_csv);

}  // namespace faceage::data
