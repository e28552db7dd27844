#include "faceage/data/ingest.hpp"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <filesystem>
#include <sstream>
#include <thread>
#include <unordered_map>

#include <nlohmann/json.hpp>

#include "faceage/core/error.hpp"
#include "faceage/core/fs.hpp"
#include "faceage/core/progress.hpp"
#include "faceage/core/strings.hpp"

namespace faceage::data {

namespace fs = std::filesystem;

namespace {

struct FileCheck {
  bool ok = false;
  std::string sha256;
  std::string format;
  std::string code;
  std::string reason;
};

FileCheck check_file(const std::string& path, const IngestOptions& options) {
  FileCheck check;
  try {
    std::error_code ec;
    const auto size = fs::file_size(path, ec);
    if (!ec && static_cast<std::int64_t>(size) > options.decode.max_bytes) {
      throw Error(ErrorCode::kTooLarge, path + ": " + std::to_string(size) + " bytes exceeds the limit of " +
                                            std::to_string(options.decode.max_bytes) + " bytes");
    }
    const std::vector<std::uint8_t> bytes = read_file_bytes(path);
    if (options.validate) {
      check.format = decode_image(bytes.data(), bytes.size(), options.decode, path).format;
    }
    check.sha256 = sha256_hex(bytes.data(), bytes.size());
    check.ok = true;
  } catch (const Error& e) {
    check.code = error_code_name(e.code());
    check.reason = e.what();
  } catch (const std::exception& e) {  // e.g. bad_alloc: still one file, never the whole run
    check.code = error_code_name(ErrorCode::kInternal);
    check.reason = path + ": " + e.what();
  }
  return check;
}

std::vector<FileCheck> check_files(const Manifest& manifest, const IngestOptions& options, int threads) {
  const std::size_t n = manifest.rows.size();
  std::vector<FileCheck> checks(n);
  std::atomic<std::size_t> next{0}, done{0};
  ProgressBar bar({options.validate ? "validating" : "hashing", static_cast<std::int64_t>(n), options.progress, "img"});
  // Only the calling thread draws the bar (ProgressBar is not thread-safe); it reads the shared count.
  auto worker = [&](bool draw) {
    for (std::size_t i = next++; i < n; i = next++) {
      checks[i] = check_file(manifest.rows[i].path, options);
      const std::size_t finished = ++done;
      if (draw) bar.update(static_cast<std::int64_t>(finished));
    }
  };
  std::vector<std::thread> pool;
  const int extra = std::max(0, std::min<int>(threads, static_cast<int>(n)) - 1);
  for (int t = 0; t < extra; ++t) pool.emplace_back(worker, false);
  worker(bar.enabled());
  for (auto& t : pool) t.join();
  bar.update(static_cast<std::int64_t>(n));
  bar.finish();
  return checks;
}

bool same_labels(const ManifestRow& a, const ManifestRow& b) {
  return a.age == b.age && a.gender == b.gender && a.race == b.race;
}

std::string decade_label(int decade) {
  return decade < 0 ? "unknown" : std::to_string(decade) + "-" + std::to_string(decade + 9);
}

std::string default_report_dir(const std::string& out) {
  fs::path p(out);
  if (to_lower(p.extension().string()) == ".csv") p.replace_extension();
  return p.string() + ".report";
}

}  // namespace

IngestReport ingest_dataset(const IngestOptions& options) {
  if (options.out.empty()) {
    throw Error(ErrorCode::kInvalidArgument, "no output manifest given", "pass --out manifest.csv");
  }
  if (options.threads < 0) throw Error(ErrorCode::kInvalidArgument, "threads must be >= 0 (0: all cores)");
  const auto start = std::chrono::steady_clock::now();
  AdapterOptions adapter_options;
  adapter_options.source = options.source;
  adapter_options.image_root = options.image_root;
  adapter_options.column_map = options.column_map;
  AdapterResult adapted = dataset_adapters().create(options.format, adapter_options);

  IngestReport report;
  report.source = options.source;
  report.format = options.format;
  report.manifest_path = options.out;
  report.report_dir = options.report_dir.empty() ? default_report_dir(options.out) : options.report_dir;
  report.validated = options.validate;
  report.candidates = static_cast<std::int64_t>(adapted.manifest.rows.size());
  report.skipped = static_cast<std::int64_t>(adapted.skipped.size());
  report.skipped_items = std::move(adapted.skipped);
  const unsigned hardware = std::max(1u, std::thread::hardware_concurrency());
  report.threads = options.threads > 0 ? options.threads : static_cast<int>(hardware);

  const Manifest& manifest = adapted.manifest;
  const std::vector<FileCheck> checks = check_files(manifest, options, report.threads);

  // Byte-identical groups in manifest order: the first member represents the group.
  std::vector<char> keep(manifest.rows.size(), 0);
  std::unordered_map<std::string, std::vector<std::size_t>> groups;
  std::vector<std::string> group_order;
  for (std::size_t i = 0; i < checks.size(); ++i) {
    const FileCheck& check = checks[i];
    if (!check.ok) {
      report.unreadable_items.push_back({manifest.rows[i].file, check.code, check.reason});
      continue;
    }
    if (!check.format.empty()) ++report.formats[check.format];
    auto& members = groups[check.sha256];
    if (members.empty()) group_order.push_back(check.sha256);
    members.push_back(i);
  }
  for (const auto& sha : group_order) {
    const auto& members = groups[sha];
    const ManifestRow& first = manifest.rows[members.front()];
    bool conflicting = false;
    for (std::size_t m = 1; m < members.size(); ++m) conflicting |= !same_labels(first, manifest.rows[members[m]]);
    if (conflicting) {
      for (std::size_t m = 0; m < members.size(); ++m) {
        report.duplicates.push_back(
            {manifest.rows[members[m]].file, m == 0 ? manifest.rows[members[1]].file : first.file, true});
      }
      report.conflicting_dropped += static_cast<std::int64_t>(members.size());
      continue;
    }
    keep[members.front()] = 1;
    for (std::size_t m = 1; m < members.size(); ++m) {
      report.duplicates.push_back({manifest.rows[members[m]].file, first.file, false});
      ++report.duplicates_removed;
    }
  }
  report.unreadable = static_cast<std::int64_t>(report.unreadable_items.size());

  Manifest good;
  good.base_dir = manifest.base_dir;
  for (std::size_t i = 0; i < manifest.rows.size(); ++i) {
    if (!keep[i]) continue;
    const ManifestRow& row = manifest.rows[i];
    good.rows.push_back(row);
    ++report.age_decades[row.age < 0 ? -1 : row.age / 10 * 10];
    ++report.genders[row.gender.empty() ? "unknown" : row.gender];
    ++report.races[row.race];
  }
  report.written = static_cast<std::int64_t>(good.rows.size());
  write_manifest(good, options.out);
  report.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  write_file_atomic((fs::path(report.report_dir) / "report.json").string(), report.to_json());
  write_file_atomic((fs::path(report.report_dir) / "report.md").string(), report.to_markdown());
  return report;
}

std::string IngestReport::to_json() const {
  using nlohmann::json;
  json j;
  j["source"] = source;
  j["format"] = format;
  j["manifest"] = manifest_path;
  j["validated"] = validated;
  j["threads"] = threads;
  j["seconds"] = seconds;
  j["counts"] = {{"candidates", candidates},          {"skipped", skipped},
                 {"unreadable", unreadable},          {"duplicates_removed", duplicates_removed},
                 {"conflicting_dropped", conflicting_dropped}, {"written", written}};
  json ages = json::object();
  for (const auto& [decade, count] : age_decades) ages[decade_label(decade)] = count;
  j["age_decades"] = ages;
  j["genders"] = genders;
  json race_counts = json::object();
  for (const auto& [race, count] : races) race_counts[race < 0 ? "unknown" : std::to_string(race)] = count;
  j["races"] = race_counts;
  j["formats"] = formats;
  json skipped_json = json::array();
  for (const auto& s : skipped_items) skipped_json.push_back({{"file", s.file}, {"reason", s.reason}});
  j["skipped_items"] = skipped_json;
  json unreadable_json = json::array();
  for (const auto& u : unreadable_items) unreadable_json.push_back({{"file", u.file}, {"code", u.code}, {"reason", u.reason}});
  j["unreadable_items"] = unreadable_json;
  json dup_json = json::array();
  for (const auto& d : duplicates) {
    dup_json.push_back({{"file", d.file}, {"duplicate_of", d.duplicate_of}, {"conflicting_labels", d.conflicting}});
  }
  j["duplicates"] = dup_json;
  return j.dump(2) + "\n";
}

std::string IngestReport::to_markdown() const {
  std::ostringstream md;
  auto pct = [](std::int64_t n, std::int64_t total) {
    std::ostringstream os;
    os.setf(std::ios::fixed);
    os.precision(1);
    os << (total > 0 ? 100.0 * static_cast<double>(n) / static_cast<double>(total) : 0.0) << "%";
    return os.str();
  };
  md << "# Ingest report\n\n";
  md << "- source: `" << source << "` (format `" << format << "`)\n";
  md << "- manifest: `" << manifest_path << "`\n";
  md << "- " << (validated ? "every image decoded" : "images not decoded (--no-validate)") << "; " << threads
     << " threads; " << seconds << " s\n\n";
  md << "| candidates | skipped names/rows | unreadable | duplicate copies removed | conflicting duplicates dropped | written |\n";
  md << "| --- | --- | --- | --- | --- | --- |\n";
  md << "| " << candidates << " | " << skipped << " | " << unreadable << " | " << duplicates_removed << " | "
     << conflicting_dropped << " | " << written << " |\n\n";
  md << "## Ages (written rows)\n\n| decade | images | share |\n| --- | --- | --- |\n";
  for (const auto& [decade, count] : age_decades) {
    md << "| " << decade_label(decade) << " | " << count << " | " << pct(count, written) << " |\n";
  }
  md << "\n## Gender\n\n| gender | images | share |\n| --- | --- | --- |\n";
  for (const auto& [gender, count] : genders) md << "| " << gender << " | " << count << " | " << pct(count, written) << " |\n";
  md << "\n## Race\n\n| race | images |\n| --- | --- |\n";
  static const char* kRaceNames[] = {"0 White", "1 Black", "2 Asian", "3 Indian", "4 Others"};
  for (const auto& [race, count] : races) {
    md << "| " << (race >= 0 && race <= 4 ? kRaceNames[race] : "unknown") << " | " << count << " |\n";
  }
  if (!formats.empty()) {
    md << "\n## Formats\n\n";
    for (const auto& [format_name, count] : formats) md << "- " << format_name << ": " << count << "\n";
  }
  md << "\n## Unreadable files (" << unreadable_items.size() << ")\n\n";
  for (const auto& u : unreadable_items) md << "- `" << u.file << "` (" << u.code << "): " << u.reason << "\n";
  md << "\n## Duplicates (" << duplicates.size() << ")\n\n";
  for (const auto& d : duplicates) {
    md << "- `" << d.file << "` has the same bytes as `" << d.duplicate_of << "`"
       << (d.conflicting ? ": labels differ, all copies dropped" : ": copy removed") << "\n";
  }
  md << "\n## Skipped by the adapter (" << skipped_items.size() << ")\n\n";
  for (const auto& s : skipped_items) md << "- `" << s.file << "`: " << s.reason << "\n";
  return md.str();
}

}  // namespace faceage::data
