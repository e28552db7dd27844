#include "faceage/data/adapters.hpp"

#include <algorithm>
#include <cctype>
#include <filesystem>

#include "faceage/core/error.hpp"
#include "faceage/core/strings.hpp"
#include "faceage/data/csv.hpp"
#include "faceage/data/image_io.hpp"

namespace faceage::data {

namespace fs = std::filesystem;

namespace {

const std::vector<std::string> kManifestColumns{"file", "age", "gender", "race", "subject", "split"};

std::string absolute_normal(const std::string& path) {
  std::error_code ec;
  fs::path abs = fs::absolute(fs::path(path), ec);
  return (ec ? fs::path(path) : abs).lexically_normal().string();
}

fs::path require_directory(const std::string& source, const std::string& adapter) {
  std::error_code ec;
  if (!fs::exists(source, ec)) throw Error(ErrorCode::kNotFound, "'" + source + "' does not exist");
  if (!fs::is_directory(source, ec)) {
    throw Error(ErrorCode::kInvalidArgument, "the " + adapter + " adapter needs a directory; '" + source + "' is a file",
                "point it at the folder that holds the images");
  }
  fs::path dir(absolute_normal(source));
  // lexically_normal keeps a trailing separator ("dir/"); drop it so relative paths work.
  if (!dir.has_filename()) dir = dir.parent_path();
  return dir;
}

std::string relative_to(const std::string& path, const fs::path& base) {
  return fs::path(path).lexically_relative(base).string();
}

bool all_digits(const std::string& text) {
  return !text.empty() && std::all_of(text.begin(), text.end(), [](unsigned char c) { return std::isdigit(c) != 0; });
}

AdapterResult load_utkface(const AdapterOptions& options) {
  const fs::path dir = require_directory(options.source, "utkface");
  AdapterResult result;
  result.manifest.base_dir = dir.string();
  for (const auto& path : list_images({dir.string()})) {
    const std::string relative = relative_to(path, dir);
    ManifestRow row;
    std::string reason;
    if (!parse_utkface_name(fs::path(path).filename().string(), row.age, row.gender, row.race, reason)) {
      result.skipped.push_back({relative, reason});
      continue;
    }
    row.file = relative;
    row.path = path;
    result.manifest.rows.push_back(std::move(row));
  }
  return result;
}

AdapterResult load_age_folders(const AdapterOptions& options) {
  const fs::path dir = require_directory(options.source, "age-folders");
  AdapterResult result;
  result.manifest.base_dir = dir.string();
  std::vector<fs::path> entries;
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(dir, ec)) entries.push_back(entry.path());
  if (ec) throw Error(ErrorCode::kIo, "cannot list '" + dir.string() + "': " + ec.message());
  std::sort(entries.begin(), entries.end());
  for (const auto& entry : entries) {
    const std::string name = entry.filename().string();
    if (!fs::is_directory(entry, ec)) {
      if (has_image_extension(name)) result.skipped.push_back({name, "not inside an age folder"});
      continue;
    }
    int age = -1;
    if (!all_digits(name) || name.size() > 3 || !parse_age(name, age)) {
      result.skipped.push_back({name + "/", "folder name is not an age (expected digits 0..150, e.g. 007 or 25)"});
      continue;
    }
    for (const auto& path : list_images({entry.string()})) {
      ManifestRow row;
      row.file = relative_to(path, dir);
      row.path = path;
      row.age = age;
      result.manifest.rows.push_back(std::move(row));
    }
  }
  return result;
}

// The directory a labels CSV's `file` values are relative to, when not given.
std::string default_image_root(const fs::path& csv_dir, const CsvTable& table, int file_col) {
  std::error_code ec;
  const fs::path images = csv_dir / "images";
  if (file_col >= 0 && !table.rows.empty() && fs::is_directory(images, ec)) {
    const std::string& first = table.rows.front()[file_col];
    if (!fs::exists(csv_dir / first, ec) && fs::exists(images / first, ec)) return images.string();
  }
  return csv_dir.string();
}

AdapterResult load_csv(const AdapterOptions& options) {
  std::error_code ec;
  if (!fs::exists(options.source, ec)) throw Error(ErrorCode::kNotFound, "'" + options.source + "' does not exist");
  if (fs::is_directory(options.source, ec)) {
    throw Error(ErrorCode::kInvalidArgument, "the csv adapter needs a CSV file; '" + options.source + "' is a directory",
                "pass the CSV file itself, or use --format utkface-labels for a folder with labels.csv");
  }
  const std::string csv_path = absolute_normal(options.source);
  const CsvTable table = read_csv(csv_path);

  std::map<std::string, int> columns;  // manifest column -> source column index
  for (const auto& [key, source_column] : options.column_map) {
    if (std::find(kManifestColumns.begin(), kManifestColumns.end(), key) == kManifestColumns.end()) {
      throw Error(ErrorCode::kInvalidArgument, "unknown manifest column '" + key + "' in the column map",
                  "map file, age, gender, race, subject or split");
    }
    const int index = table.column(source_column);
    if (index < 0) {
      throw Error(ErrorCode::kInvalidArgument,
                  csv_path + " has no column '" + source_column + "' (mapped to " + key + "); columns: " +
                      join(table.header, ","));
    }
    columns[key] = index;
  }
  for (const auto& key : kManifestColumns) {
    if (!columns.count(key) && table.column(key) >= 0) columns[key] = table.column(key);
  }
  for (const char* required : {"file", "age"}) {
    if (!columns.count(required)) {
      throw Error(ErrorCode::kInvalidArgument,
                  csv_path + " has no '" + required + "' column (columns: " + join(table.header, ",") + ")",
                  std::string("map one with --map ") + required + "=COLUMN");
    }
  }
  auto column = [&](const char* key) { return columns.count(key) ? columns.at(key) : -1; };
  const int file_col = column("file"), age_col = column("age"), gender_col = column("gender");
  const int race_col = column("race"), subject_col = column("subject"), split_col = column("split");

  const fs::path csv_dir = fs::path(csv_path).parent_path();
  const std::string root =
      options.image_root.empty() ? default_image_root(csv_dir, table, file_col) : absolute_normal(options.image_root);

  AdapterResult result;
  result.manifest.base_dir = root;
  const std::string csv_name = fs::path(csv_path).filename().string();
  for (std::size_t i = 0; i < table.rows.size(); ++i) {
    const auto& fields = table.rows[i];
    const std::string where = csv_name + " line " + std::to_string(table.row_lines[i]);
    auto skip = [&](const std::string& reason) { result.skipped.push_back({where, reason}); };
    ManifestRow row;
    row.file = trim(fields[file_col]);
    if (row.file.empty()) {
      skip("empty file name");
      continue;
    }
    if (!parse_age(fields[age_col], row.age)) {
      skip("age '" + fields[age_col] + "' is not an integer 0..150");
      continue;
    }
    if (gender_col >= 0 && !parse_gender(fields[gender_col], row.gender)) {
      skip("gender '" + fields[gender_col] + "' is not male/female, m/f or 0/1");
      continue;
    }
    if (race_col >= 0 && !parse_race(fields[race_col], row.race)) {
      skip("race '" + fields[race_col] + "' is not 0..4");
      continue;
    }
    if (subject_col >= 0) row.subject = trim(fields[subject_col]);
    if (split_col >= 0) {
      row.split = to_lower(trim(fields[split_col]));
      if (row.split == "validation" || row.split == "valid") row.split = "val";
      if (!row.split.empty() && row.split != "train" && row.split != "val" && row.split != "test") {
        skip("split '" + fields[split_col] + "' is not train/val/test");
        continue;
      }
    }
    row.path = resolved_path(result.manifest, row);
    result.manifest.rows.push_back(std::move(row));
  }
  return result;
}

AdapterResult load_utkface_labels(const AdapterOptions& options) {
  std::error_code ec;
  AdapterOptions csv = options;
  if (fs::is_directory(options.source, ec)) {
    csv.source = (fs::path(options.source) / "labels.csv").string();
    if (!fs::exists(csv.source, ec)) {
      throw Error(ErrorCode::kNotFound, "'" + options.source + "' has no labels.csv",
                  "utkface-labels expects a folder with labels.csv and images/; for bare images use --format utkface");
    }
  }
  return load_csv(csv);
}

}  // namespace

bool parse_utkface_name(const std::string& file_name, int& age, std::string& gender, int& race, std::string& reason) {
  const std::vector<std::string> parts = split(file_name, '_');
  if (parts.size() < 4) {
    reason = "only " + std::to_string(parts.size()) + " '_'-separated fields; expected AGE_GENDER_RACE_DATE";
    return false;
  }
  if (!all_digits(parts[0]) || !parse_age(parts[0], age)) {
    reason = "age field '" + parts[0] + "' is not an integer 0..150";
    return false;
  }
  if (parts[1] != "0" && parts[1] != "1") {
    reason = "gender field '" + parts[1] + "' is not 0 (male) or 1 (female)";
    return false;
  }
  parse_gender(parts[1], gender);
  if (parts[2].size() != 1 || !parse_race(parts[2], race)) {
    reason = "race field '" + parts[2] + "' is not 0..4";
    return false;
  }
  if (parts[3].empty() || !std::isdigit(static_cast<unsigned char>(parts[3][0]))) {
    reason = "date field '" + parts[3] + "' does not start with digits";
    return false;
  }
  return true;
}

std::map<std::string, std::string> parse_column_map(const std::string& spec) {
  std::map<std::string, std::string> out;
  if (trim(spec).empty()) return out;
  for (const auto& item : split(spec, ',')) {
    const auto eq = item.find('=');
    const std::string key = trim(item.substr(0, eq));
    const std::string value = eq == std::string::npos ? std::string() : trim(item.substr(eq + 1));
    if (eq == std::string::npos || key.empty() || value.empty()) {
      throw Error(ErrorCode::kInvalidArgument, "--map entry '" + item + "' is not KEY=COLUMN",
                  "e.g. --map file=path,age=Age,gender=sex");
    }
    if (std::find(kManifestColumns.begin(), kManifestColumns.end(), key) == kManifestColumns.end()) {
      throw Error(ErrorCode::kInvalidArgument, "--map key '" + key + "' is not a manifest column",
                  "keys: file, age, gender, race, subject, split");
    }
    out[key] = value;
  }
  return out;
}

void register_builtin_adapters(AdapterRegistry& registry) {
  registry.add("utkface", load_utkface, "folder of UTKFace images named AGE_GENDER_RACE_DATE...jpg");
  registry.add("age-folders", load_age_folders, "folders named by age (001/, 25/ ...), gender unknown");
  registry.add("csv", load_csv, "a labels CSV with a column mapping (--map) and an image root (--image-root)");
  registry.add("utkface-labels", load_utkface_labels, "a folder with labels.csv (file,age,gender,race) and images/");
}

const AdapterRegistry& dataset_adapters() {
  static const AdapterRegistry registry = [] {
    AdapterRegistry r("dataset format");
    register_builtin_adapters(r);
    return r;
  }();
  return registry;
}

}  // namespace faceage::data
