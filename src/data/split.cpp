#include "faceage/data/split.hpp"

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <map>
#include <numeric>
#include <random>

#include <nlohmann/json.hpp>

#include "faceage/core/error.hpp"
#include "faceage/core/fs.hpp"

namespace faceage::data {

namespace fs = std::filesystem;

namespace {

// Unbiased draw in [0, bound) by rejection; std::uniform_int_distribution is implementation-defined.
std::uint64_t bounded(std::mt19937_64& rng, std::uint64_t bound) {
  const std::uint64_t limit = std::numeric_limits<std::uint64_t>::max() - std::numeric_limits<std::uint64_t>::max() % bound;
  std::uint64_t x = rng();
  while (x >= limit) x = rng();
  return x % bound;
}

template <class T>
void shuffle(std::vector<T>& items, std::mt19937_64& rng) {
  for (std::size_t i = items.size(); i > 1; --i) std::swap(items[i - 1], items[bounded(rng, i)]);
}

// A unit of assignment: one row, or all rows of one subject.
struct Unit {
  std::string key;  // subject or file: sorts units deterministically before the shuffle
  std::vector<std::size_t> rows;
  std::string stratum;
};

std::string stratum_of(const Manifest& manifest, const std::vector<std::size_t>& rows) {
  // A subject's stratum: rounded mean age of its rows with an age, most common gender.
  long sum = 0, aged = 0, male = 0, female = 0;
  for (std::size_t r : rows) {
    const ManifestRow& row = manifest.rows[r];
    if (row.age >= 0) {
      sum += row.age;
      ++aged;
    }
    male += row.gender == "male";
    female += row.gender == "female";
  }
  const int age = aged ? static_cast<int>(std::lround(static_cast<double>(sum) / static_cast<double>(aged))) : -1;
  const char* gender = male > female ? "male" : (female > male ? "female" : (male ? "mixed" : "unknown"));
  return age_band(age) + "|" + gender;
}

void validate(const SplitOptions& options) {
  if (options.fractions.size() != 3) {
    throw Error(ErrorCode::kInvalidArgument,
                "fractions must be three numbers (train,val,test); got " + std::to_string(options.fractions.size()),
                "e.g. --fractions 0.8,0.1,0.1");
  }
  double sum = 0;
  for (double f : options.fractions) {
    if (!(f >= 0.0) || !std::isfinite(f)) {
      throw Error(ErrorCode::kInvalidArgument, "fractions must be >= 0", "e.g. --fractions 0.8,0.1,0.1");
    }
    sum += f;
  }
  if (std::abs(sum - 1.0) > 1e-6) {
    throw Error(ErrorCode::kInvalidArgument, "fractions must sum to 1; they sum to " + std::to_string(sum),
                "e.g. --fractions 0.8,0.1,0.1");
  }
}

}  // namespace

std::string age_band(int age) {
  if (age < 0) return "unknown";
  if (age <= 2) return "0-2";
  if (age <= 9) return "3-9";
  if (age <= 17) return "10-17";
  if (age <= 29) return "18-29";
  if (age >= 70) return "70+";
  const int decade = age / 10 * 10;
  return std::to_string(decade) + "-" + std::to_string(decade + 9);
}

std::array<Manifest, 3> split_manifest(const Manifest& manifest, const SplitOptions& options) {
  std::vector<int> assignment(manifest.rows.size(), -1);
  if (options.use_split_column) {
    std::map<std::string, int> subject_split;
    for (std::size_t i = 0; i < manifest.rows.size(); ++i) {
      const ManifestRow& row = manifest.rows[i];
      const auto it = std::find(kSplitNames.begin(), kSplitNames.end(), row.split);
      if (it == kSplitNames.end()) {
        throw Error(ErrorCode::kInvalidArgument,
                    "row " + std::to_string(i + 1) + " ('" + row.file + "') has no split ('" + row.split + "')",
                    "with --use-split-column every row needs train, val or test; or drop the flag");
      }
      assignment[i] = static_cast<int>(it - kSplitNames.begin());
      if (!row.subject.empty()) {
        auto [pos, inserted] = subject_split.emplace(row.subject, assignment[i]);
        if (!inserted && pos->second != assignment[i]) {
          throw Error(ErrorCode::kInvalidArgument,
                      "subject '" + row.subject + "' appears in both " + kSplitNames[pos->second] + " and " +
                          kSplitNames[assignment[i]] + " in the split column",
                      "identity leakage between splits; fix the split column or split without it");
        }
      }
    }
  } else {
    validate(options);
    // Units: rows grouped by subject; rows without a subject stand alone.
    std::map<std::string, std::vector<std::size_t>> by_subject;
    std::vector<Unit> units;
    for (std::size_t i = 0; i < manifest.rows.size(); ++i) {
      const ManifestRow& row = manifest.rows[i];
      if (row.subject.empty()) {
        units.push_back({"f:" + row.file, {i}, {}});
      } else {
        by_subject[row.subject].push_back(i);
      }
    }
    for (auto& [subject, rows] : by_subject) units.push_back({"s:" + subject, std::move(rows), {}});
    for (auto& unit : units) unit.stratum = stratum_of(manifest, unit.rows);
    // Sorting first makes the result independent of the input order; the row index breaks ties
    // between identical file names.
    std::sort(units.begin(), units.end(), [](const Unit& a, const Unit& b) {
      return a.stratum != b.stratum ? a.stratum < b.stratum : (a.key != b.key ? a.key < b.key : a.rows < b.rows);
    });
    std::mt19937_64 rng(options.seed);
    std::array<double, 3> assigned{0, 0, 0};
    double total = 0;
    for (std::size_t begin = 0; begin < units.size();) {
      std::size_t end = begin;
      while (end < units.size() && units[end].stratum == units[begin].stratum) ++end;
      std::vector<std::size_t> order(end - begin);
      std::iota(order.begin(), order.end(), begin);
      shuffle(order, rng);
      // Greedy on the running totals: each unit goes to the split furthest below its share. The
      // totals carry across strata, so small strata do not all round towards train.
      for (std::size_t u : order) {
        const double weight = static_cast<double>(units[u].rows.size());
        int best = 0;
        double best_deficit = -1e300;
        for (int k = 0; k < 3; ++k) {
          if (options.fractions[k] <= 0) continue;
          const double deficit = options.fractions[k] * (total + weight) - assigned[k];
          if (deficit > best_deficit + 1e-9) {
            best_deficit = deficit;
            best = k;
          }
        }
        assigned[best] += weight;
        total += weight;
        for (std::size_t r : units[u].rows) assignment[r] = best;
      }
      begin = end;
    }
  }
  std::array<Manifest, 3> out;
  for (auto& m : out) m.base_dir = manifest.base_dir;
  for (std::size_t i = 0; i < manifest.rows.size(); ++i) {
    ManifestRow row = manifest.rows[i];
    row.split = kSplitNames[assignment[i]];
    out[assignment[i]].rows.push_back(std::move(row));
  }
  return out;
}

SplitSummary write_splits(const std::string& manifest_path, const std::string& out_dir, const SplitOptions& options) {
  if (out_dir.empty()) throw Error(ErrorCode::kInvalidArgument, "no output directory given", "pass --out DIR");
  const Manifest manifest = read_manifest(manifest_path);
  const std::array<Manifest, 3> parts = split_manifest(manifest, options);
  SplitSummary summary;
  nlohmann::json strata = nlohmann::json::object();
  for (int k = 0; k < 3; ++k) {
    summary.counts[k] = parts[k].rows.size();
    summary.paths[k] = (fs::path(out_dir) / (std::string(kSplitNames[k]) + ".csv")).string();
    write_manifest(parts[k], summary.paths[k]);
    for (const auto& row : parts[k].rows) {
      auto& cell = strata[age_band(row.age) + "|" + (row.gender.empty() ? "unknown" : row.gender)][kSplitNames[k]];
      cell = cell.is_null() ? 1 : cell.get<int>() + 1;
    }
  }
  nlohmann::json info;
  info["source"] = manifest_path;
  info["source_sha256"] = sha256_file(manifest_path);
  info["seed"] = options.seed;
  info["fractions"] = options.fractions;
  info["use_split_column"] = options.use_split_column;
  info["counts"] = {{"train", summary.counts[0]}, {"val", summary.counts[1]}, {"test", summary.counts[2]}};
  info["strata"] = strata;
  write_file_atomic((fs::path(out_dir) / "split.json").string(), info.dump(2) + "\n");
  return summary;
}

}  // namespace faceage::data
