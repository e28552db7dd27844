#include "faceage/eval/predictions.hpp"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cctype>
#include <charconv>
#include <string_view>
#include <cmath>
#include <filesystem>
#include <unordered_map>

#include "faceage/data/csv.hpp"
#include "faceage/core/check.hpp"
#include "faceage/core/fs.hpp"
#include "faceage/core/strings.hpp"

namespace faceage::eval {
namespace {

std::string_view trim_view(std::string_view t) {
  while (!t.empty() && std::isspace(static_cast<unsigned char>(t.front()))) t.remove_prefix(1);
  while (!t.empty() && std::isspace(static_cast<unsigned char>(t.back()))) t.remove_suffix(1);
  return t;
}

// Strict number: the whole trimmed field must parse; empty -> NaN with ok=true.
bool parse_number(const std::string& field, double& out) {
  const std::string_view t = trim_view(field);
  if (t.empty()) {
    out = kNaN;
    return true;
  }
  const char* first = t.data();
  if (*first == '+') ++first;
  const char* last = t.data() + t.size();
  const auto [ptr, ec] = std::from_chars(first, last, out);
  if (ec != std::errc() || ptr != last) {
    // from_chars does not read "nan"/"inf" spellings other systems may write.
    const std::string lower = to_lower(std::string(t));
    if (lower == "nan" || lower == "na" || lower == "none" || lower == "null") {
      out = kNaN;
      return true;
    }
    return false;
  }
  return true;
}

std::string normalise_gender(const std::string& value) {
  const std::string v = to_lower(trim(value));
  if (v == "male" || v == "m" || v == "man") return "male";
  if (v == "female" || v == "f" || v == "woman") return "female";
  return "";
}

std::string normalise_path(const std::string& p) {
  const std::string_view t = trim_view(p);
  std::string s(t);
  std::replace(s.begin(), s.end(), '\\', '/');  // Windows-style paths from other systems
  // lexically_normal is slow; most paths ("img/1.jpg") need nothing, so only odd ones go through it.
  const bool odd = s.find("./") != std::string::npos || s.find("//") != std::string::npos ||
                   (s.size() >= 2 && s.compare(s.size() - 2, 2, "/.") == 0);
  if (s.empty() || !odd) return s;
  return std::filesystem::path(s).lexically_normal().generic_string();
}

std::string basename_of(const std::string& p) {
  const auto slash = p.find_last_of('/');
  return slash == std::string::npos ? p : p.substr(slash + 1);
}

void keep(std::vector<std::string>& list, const std::string& item, std::size_t max) {
  if (list.size() < max) list.push_back(item);
}

}  // namespace

void ColumnMap::set(const std::string& assignment) {
  const auto eq = assignment.find('=');
  const std::string key = trim(assignment.substr(0, eq));
  const std::string column = eq == std::string::npos ? std::string() : trim(assignment.substr(eq + 1));
  std::pair<const char*, std::string*> keys[] = {
      {"file", &file}, {"face", &face}, {"w", &w}, {"h", &h}, {"age", &age}, {"age_low", &age_low},
      {"age_high", &age_high}, {"gender", &gender}, {"gender_prob", &gender_prob}, {"female_prob", &female_prob},
      {"p_minor", &p_minor}, {"unreliable", &unreliable}, {"error", &error}};
  std::vector<std::string> names;
  for (auto& [name, target] : keys) {
    if (key == name) {
      FACEAGE_CHECK(!column.empty(), ErrorCode::kInvalidArgument,
                    "--map '" << assignment << "': expected key=column, e.g. age=pred_age");
      *target = column;
      return;
    }
    names.emplace_back(name);
  }
  throw Error(ErrorCode::kInvalidArgument, "--map '" + assignment + "': unknown key '" + key + "'",
              "valid keys: " + join(names, ", "));
}

PredictionsTable parse_predictions_csv(const std::string& text, const ColumnMap& columns, const std::string& source) {
  const data::CsvTable csv = data::parse_csv(text, source, {.ragged_rows = true});
  PredictionsTable table;
  FACEAGE_CHECK(!csv.header.empty(), ErrorCode::kInvalidArgument, source << ": empty CSV, expected a header row");
  for (const auto& f : csv.header) table.columns.push_back(trim(f));

  auto find = [&](const std::string& name) -> int {
    for (std::size_t i = 0; i < table.columns.size(); ++i) {
      if (table.columns[i] == name) return static_cast<int>(i);
    }
    return -1;
  };
  const int c_file = find(columns.file), c_age = find(columns.age);
  if (c_file < 0 || c_age < 0) {
    throw Error(ErrorCode::kInvalidArgument,
                source + ": no '" + (c_file < 0 ? columns.file : columns.age) + "' column (header: " +
                    join(table.columns, ",") + ")",
                "name the columns with --map, e.g. --map file=image --map age=pred_age");
  }
  const int c_face = find(columns.face), c_w = find(columns.w), c_h = find(columns.h);
  const int c_low = find(columns.age_low), c_high = find(columns.age_high);
  const int c_gender = find(columns.gender), c_gprob = find(columns.gender_prob);
  const int c_fprob = find(columns.female_prob), c_error = find(columns.error);
  const int c_minor = find(columns.p_minor), c_unreliable = find(columns.unreliable);

  for (std::size_t r = 0; r < csv.rows.size(); ++r) {
    const std::vector<std::string>& fields = csv.rows[r];
    PredictionRow row;
    row.line = csv.row_lines[r];
    auto get = [&](int c) -> const std::string& {
      static const std::string kEmpty;
      return (c >= 0 && static_cast<std::size_t>(c) < fields.size()) ? fields[static_cast<std::size_t>(c)] : kEmpty;
    };
    row.file = trim(get(c_file));
    if (c_error >= 0) row.error = trim(get(c_error));
    std::vector<std::string> problems;
    auto number = [&](int c, const char* what, double& out) {
      if (c < 0) return;
      if (!parse_number(get(c), out)) problems.push_back(std::string(what) + " '" + get(c) + "' is not a number");
    };
    double face = kNaN, w = kNaN, h = kNaN, gprob = kNaN;
    number(c_age, "age", row.age);
    number(c_low, "age_low", row.age_low);
    number(c_high, "age_high", row.age_high);
    number(c_face, "face", face);
    number(c_w, "w", w);
    number(c_h, "h", h);
    number(c_gprob, "gender_prob", gprob);
    number(c_fprob, "female_prob", row.female_prob);
    number(c_minor, "p_minor", row.p_minor);
    if (c_unreliable >= 0) {
      const std::string flag = trim(get(c_unreliable));
      if (flag == "1" || flag == "true") row.unreliable = 1;
      if (flag == "0" || flag == "false") row.unreliable = 0;
    }
    if (std::isfinite(face)) row.face = static_cast<int>(face);
    if (std::isfinite(w) && std::isfinite(h)) row.box_area = w * h;
    row.gender = normalise_gender(get(c_gender));
    if (!std::isfinite(row.female_prob) && std::isfinite(gprob) && !row.gender.empty()) {
      row.female_prob = row.gender == "female" ? gprob : 1.0 - gprob;
    }
    if (row.error.empty()) {
      if (row.file.empty()) problems.push_back("empty file name");
      if (problems.empty() && !std::isfinite(row.age)) problems.push_back("no age");
      if (!problems.empty()) row.error = "line " + std::to_string(row.line) + ": " + join(problems, "; ");
    }
    table.rows.push_back(std::move(row));
  }
  return table;
}

PredictionsTable read_predictions_csv(const std::string& path, const ColumnMap& columns) {
  return parse_predictions_csv(read_file_text(path), columns, path);
}

std::vector<FilePrediction> select_faces(const PredictionsTable& table) {
  std::vector<FilePrediction> out;
  std::unordered_map<std::string, std::size_t> index;
  for (const PredictionRow& row : table.rows) {
    auto [it, inserted] = index.emplace(row.file, out.size());
    if (inserted) {
      FilePrediction fp;
      fp.file = row.file;
      fp.failed = true;
      fp.error = row.error;
      out.push_back(std::move(fp));
    }
    FilePrediction& fp = out[it->second];
    if (!row.error.empty()) continue;
    const PredictionRow& best = fp.chosen;
    bool better = fp.faces == 0;
    if (!better) {
      const bool both_boxes = std::isfinite(row.box_area) && std::isfinite(best.box_area);
      better = both_boxes ? row.box_area > best.box_area : row.face < best.face;
    }
    if (better) fp.chosen = row;
    ++fp.faces;
    fp.failed = false;
    fp.error.clear();
  }
  return out;
}

MatchReport match_predictions(const std::vector<FilePrediction>& predictions, const std::vector<GroundTruth>& truth,
                              const MatchOptions& options) {
  MatchReport report;
  std::unordered_map<std::string, std::size_t> by_file, by_path;
  std::unordered_map<std::string, std::ptrdiff_t> by_base;  // -1: ambiguous
  for (std::size_t i = 0; i < truth.size(); ++i) {
    by_file.emplace(normalise_path(truth[i].file), i);
    if (!truth[i].path.empty()) by_path.emplace(normalise_path(truth[i].path), i);
    auto [it, inserted] = by_base.emplace(basename_of(truth[i].file), static_cast<std::ptrdiff_t>(i));
    if (!inserted && it->second != static_cast<std::ptrdiff_t>(i)) it->second = -1;
  }

  std::vector<const FilePrediction*> assigned(truth.size(), nullptr);
  report.prediction_files = static_cast<std::int64_t>(predictions.size());
  for (const FilePrediction& p : predictions) {
    const std::string key = normalise_path(p.file);
    std::ptrdiff_t hit = -1;
    if (auto it = by_file.find(key); it != by_file.end()) {
      hit = static_cast<std::ptrdiff_t>(it->second);
    } else if (auto it2 = by_path.find(key); it2 != by_path.end()) {
      hit = static_cast<std::ptrdiff_t>(it2->second);
    } else if (options.basename_fallback) {
      if (auto it3 = by_base.find(basename_of(key)); it3 != by_base.end()) {
        if (it3->second < 0) {
          ++report.ambiguous_basename;
        } else {
          hit = it3->second;
          ++report.matched_by_basename;
        }
      }
    }
    if (hit < 0) {
      ++report.unmatched_predictions;
      keep(report.unmatched_prediction_files, p.file, options.max_listed);
      continue;
    }
    const std::size_t idx = static_cast<std::size_t>(hit);
    if (assigned[idx] != nullptr) {
      ++report.duplicate_predictions;  // the first prediction for a row wins
      continue;
    }
    assigned[idx] = &p;
    ++report.matched;
  }

  for (std::size_t i = 0; i < truth.size(); ++i) {
    const GroundTruth& t = truth[i];
    const bool in_split = options.split.empty() || t.split == options.split;
    const FilePrediction* p = assigned[i];
    if (!in_split) {
      if (p) ++report.outside_split;
      continue;
    }
    if (!p) {
      ++report.missing_predictions;
      keep(report.missing_prediction_files, t.file, options.max_listed);
      continue;
    }
    if (p->failed) {
      ++report.failed_files;
      keep(report.failed, t.file + ": " + p->error, options.max_listed);
      continue;
    }
    EvalRecord r;
    r.file = t.file;
    r.true_age = t.age;
    r.true_gender = t.gender;
    r.race = t.race;
    r.pred_age = p->chosen.age;
    r.age_low = p->chosen.age_low;
    r.age_high = p->chosen.age_high;
    r.pred_gender = p->chosen.gender;
    r.female_prob = p->chosen.female_prob;
    r.p_minor = p->chosen.p_minor;
    r.unreliable = p->chosen.unreliable;
    report.records.push_back(std::move(r));
  }
  return report;
}

nlohmann::json to_json(const MatchReport& r) {
  return {{"scored", r.records.size()},
          {"prediction_files", r.prediction_files},
          {"matched", r.matched},
          {"matched_by_basename", r.matched_by_basename},
          {"failed_files", r.failed_files},
          {"unmatched_predictions", r.unmatched_predictions},
          {"missing_predictions", r.missing_predictions},
          {"ambiguous_basename", r.ambiguous_basename},
          {"duplicate_predictions", r.duplicate_predictions},
          {"outside_split", r.outside_split},
          {"failed", r.failed},
          {"unmatched_prediction_files", r.unmatched_prediction_files},
          {"missing_prediction_files", r.missing_prediction_files}};
}

}  // namespace faceage::eval
