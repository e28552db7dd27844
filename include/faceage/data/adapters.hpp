#pragma once
// Dataset adapters: turn a source (a folder of images, a labels CSV) into one Manifest.
// Create by name from the registry (utkface, age-folders, csv, utkface-labels); an adapter
// never stops on a bad entry: it skips it and says why in `skipped`.
#include <map>
#include <string>
#include <vector>

#include "faceage/core/registry.hpp"
#include "faceage/data/manifest.hpp"

namespace faceage::data {

struct SkippedItem {
  std::string file;    // the entry as found (file name, folder, or "labels.csv line 12")
  std::string reason;
};

struct AdapterOptions {
  std::string source;      // a directory or a CSV file (per adapter)
  // csv: the directory `file` values are relative to. Default: the CSV's directory, or its
  // sibling images/ folder when the files are there (the UTKFace labels.csv layout).
  std::string image_root;
  // csv: manifest column -> source column, e.g. {"file","path"},{"age","Age"}. Keys: file, age,
  // gender, race, subject, split. Unmapped keys use a source column of the same name if present.
  std::map<std::string, std::string> column_map;
};

struct AdapterResult {
  Manifest manifest;                 // rows with resolved paths; not yet validated
  std::vector<SkippedItem> skipped;  // entries left out, with the reason
};

using AdapterRegistry = Registry<AdapterResult(const AdapterOptions&)>;

// Adds the built-in adapters: utkface, age-folders, csv, utkface-labels.
void register_builtin_adapters(AdapterRegistry& registry);
// The registry of built-in adapters, built once.
const AdapterRegistry& dataset_adapters();

// UTKFace file name "AGE_GENDER_RACE_DATE...": fills the labels, or returns false with `reason`.
bool parse_utkface_name(const std::string& file_name, int& age, std::string& gender, int& race, std::string& reason);

// "file=path,age=Age,gender=sex" -> map; kInvalidArgument naming a bad entry or unknown key.
std::map<std::string, std::string> parse_column_map(const std::string& spec);

}  // namespace faceage::data
