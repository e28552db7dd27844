#include "faceage/data/manifest.hpp"

#include <charconv>
#include <filesystem>

#include "faceage/core/check.hpp"
#include "faceage/core/error.hpp"
#include "faceage/core/strings.hpp"
#include "faceage/data/csv.hpp"

namespace faceage::data {

namespace fs = std::filesystem;

namespace {

bool parse_int(const std::string& text, int& value) {
  const char* begin = text.data();
  const char* end = begin + text.size();
  auto [ptr, ec] = std::from_chars(begin, end, value);
  return ec == std::errc() && ptr == end;
}

std::string absolute_dir_of(const std::string& path) {
  std::error_code ec;
  fs::path abs = fs::absolute(fs::path(path), ec);
  if (ec) abs = fs::path(path);
  return abs.lexically_normal().parent_path().string();
}

}  // namespace

bool parse_gender(const std::string& text, std::string& gender) {
  const std::string t = to_lower(trim(text));
  if (t.empty()) {
    gender.clear();
  } else if (t == "male" || t == "m" || t == "0") {
    gender = "male";
  } else if (t == "female" || t == "f" || t == "1") {
    gender = "female";
  } else {
    return false;
  }
  return true;
}

bool parse_age(const std::string& text, int& age) {
  const std::string t = trim(text);
  if (t.empty()) {
    age = -1;
    return true;
  }
  int value = 0;
  if (!parse_int(t, value) || value < 0 || value > 150) return false;
  age = value;
  return true;
}

bool parse_race(const std::string& text, int& race) {
  const std::string t = trim(text);
  if (t.empty()) {
    race = -1;
    return true;
  }
  int value = 0;
  if (!parse_int(t, value) || value < 0 || value > 4) return false;
  race = value;
  return true;
}

std::string resolved_path(const Manifest& manifest, const ManifestRow& row) {
  if (!row.path.empty()) return row.path;
  fs::path file(row.file);
  if (file.is_absolute() || manifest.base_dir.empty()) return file.lexically_normal().string();
  return (fs::path(manifest.base_dir) / file).lexically_normal().string();
}

ManifestImages images_of_split(const Manifest& manifest, const std::string& split, const std::string& manifest_csv) {
  ManifestImages images;
  for (const auto& row : manifest.rows) {
    if (!split.empty() && row.split != split) continue;
    const std::string path = resolved_path(manifest, row);
    if (images.file_of_path.emplace(path, row.file).second) images.paths.push_back(path);
  }
  FACEAGE_CHECK(!images.paths.empty(), ErrorCode::kInvalidArgument,
                manifest_csv << ": no rows" << (split.empty() ? "" : " in split '" + split + "'"));
  return images;
}

Manifest read_manifest(const std::string& path) {
  const CsvTable table = read_csv(path);
  const int file_col = table.column("file");
  const int age_col = table.column("age");
  if (file_col < 0 || age_col < 0) {
    throw Error(ErrorCode::kInvalidArgument,
                path + ": the header must have 'file' and 'age' columns (found: " + join(table.header, ",") + ")",
                "a manifest's header is file,age,gender[,race][,subject][,split]");
  }
  const int gender_col = table.column("gender");
  const int race_col = table.column("race");
  const int subject_col = table.column("subject");
  const int split_col = table.column("split");

  Manifest manifest;
  manifest.base_dir = absolute_dir_of(path);
  manifest.rows.reserve(table.rows.size());
  for (std::size_t i = 0; i < table.rows.size(); ++i) {
    const auto& fields = table.rows[i];
    auto bad = [&](int col, const std::string& what) -> Error {
      return Error(ErrorCode::kInvalidArgument,
                   path + " line " + std::to_string(table.row_lines[i]) + ", column " + std::to_string(col + 1) + " ('" +
                       table.header[col] + "'): '" + fields[col] + "' " + what);
    };
    ManifestRow row;
    row.file = fields[file_col];
    if (trim(row.file).empty()) throw bad(file_col, "is empty; every row needs a file");
    if (!parse_age(fields[age_col], row.age)) throw bad(age_col, "is not an age (an integer 0..150, or empty)");
    if (gender_col >= 0 && !parse_gender(fields[gender_col], row.gender)) {
      throw bad(gender_col, "is not a gender (male/female, m/f, 0/1, or empty)");
    }
    if (race_col >= 0 && !parse_race(fields[race_col], row.race)) throw bad(race_col, "is not a race (0..4, or empty)");
    if (subject_col >= 0) row.subject = fields[subject_col];
    if (split_col >= 0) {
      row.split = trim(fields[split_col]);
      if (!row.split.empty() && row.split != "train" && row.split != "val" && row.split != "test") {
        throw bad(split_col, "is not a split (train, val, test, or empty)");
      }
    }
    row.path = resolved_path(manifest, row);
    manifest.rows.push_back(std::move(row));
  }
  return manifest;
}

void write_manifest(const Manifest& manifest, const std::string& path, const std::vector<ManifestColumn>& extra) {
  bool any_race = false, any_subject = false, any_split = false;
  for (const auto& row : manifest.rows) {
    any_race |= row.race >= 0;
    any_subject |= !row.subject.empty();
    any_split |= !row.split.empty();
  }
  std::vector<std::string> header{"file", "age", "gender"};
  if (any_race) header.push_back("race");
  if (any_subject) header.push_back("subject");
  if (any_split) header.push_back("split");
  for (const auto& column : extra) {
    if (column.values.size() != manifest.rows.size()) {
      throw Error(ErrorCode::kInternal, "write_manifest: column '" + column.name + "' has " +
                                            std::to_string(column.values.size()) + " values for " +
                                            std::to_string(manifest.rows.size()) + " rows");
    }
    header.push_back(column.name);
  }

  std::error_code ec;
  const fs::path out_dir = fs::path(absolute_dir_of(path));
  const fs::path cwd = fs::current_path(ec);
  CsvWriter writer(header);
  std::vector<std::string> fields;
  for (std::size_t i = 0; i < manifest.rows.size(); ++i) {
    const ManifestRow& row = manifest.rows[i];
    fs::path resolved(resolved_path(manifest, row));
    if (!resolved.is_absolute()) resolved = (cwd / resolved).lexically_normal();
    fs::path relative = resolved.lexically_relative(out_dir);
    fields.clear();
    fields.push_back(relative.empty() ? resolved.string() : relative.string());
    fields.push_back(row.age >= 0 ? std::to_string(row.age) : std::string());
    fields.push_back(row.gender);
    if (any_race) fields.push_back(row.race >= 0 ? std::to_string(row.race) : std::string());
    if (any_subject) fields.push_back(row.subject);
    if (any_split) fields.push_back(row.split);
    for (const auto& column : extra) fields.push_back(column.values[i]);
    writer.add_row(fields);
  }
  writer.save(path);
}

}  // namespace faceage::data
