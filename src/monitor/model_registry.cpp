#include "faceage/monitor/model_registry.hpp"

#include <filesystem>

#include "faceage/core/check.hpp"
#include "faceage/core/fs.hpp"
#include "faceage/core/sqlite.hpp"
#include "faceage/core/strings.hpp"
#include "faceage/monitor/time.hpp"

namespace faceage::monitor {
namespace {

namespace fs = std::filesystem;
using sqlite::Statement;

constexpr Stage kStages[] = {Stage::kStaging, Stage::kProduction, Stage::kArchived};
const char* const kVersionColumns =
    "version, sha256, bundle, source, name, metrics, lineage, stage, replaced, created_at";

nlohmann::json parse_stored_json(const std::string& text, const std::string& what) {
  try {
    return nlohmann::json::parse(text);
  } catch (const nlohmann::json::exception&) {
    throw Error(ErrorCode::kConfig, "the model registry holds unreadable " + what);
  }
}

ModelVersion version_from_row(const Statement& s) {
  ModelVersion v;
  v.version = s.integer(0);
  v.sha256 = s.text(1);
  v.bundle_path = s.text(2);
  v.source_path = s.text(3);
  v.name = s.text(4);
  v.metrics = parse_stored_json(s.text(5), "metrics of version " + std::to_string(v.version));
  v.lineage = parse_stored_json(s.text(6), "lineage of version " + std::to_string(v.version));
  v.stage = parse_stage(s.text(7));
  if (!s.null(8)) v.replaced = s.integer(8);
  v.created_at = format_iso8601(s.real(9));
  return v;
}

// A bundle's metrics and lineage from the "metadata" object a trainer writes.
void describe_training(const nlohmann::json& metadata, nlohmann::json& metrics, nlohmann::json& lineage) {
  if (!metadata.is_object()) return;
  nlohmann::json checksums = nlohmann::json::object();
  for (const auto& [key, value] : metadata.items()) {
    if (value.is_number() && (starts_with(key, "val_") || starts_with(key, "test_"))) metrics[key] = value;
    if (value.is_string() && ends_with(key, "_sha256")) {
      const std::string data = key.substr(0, key.size() - 7);
      checksums[data] = {{"sha256", value}, {"path", metadata.value(data, "")}};
    }
  }
  if (metadata.contains("config")) lineage["training_config"] = metadata["config"];
  lineage["data_checksums"] = checksums;
  for (const char* key : {"epoch", "train_images", "created_by"})
    if (metadata.contains(key)) lineage[key] = metadata[key];
}

// One training run's lineage with its metrics inside: how an ensemble member or an averaged source is recorded.
nlohmann::json run_lineage(const nlohmann::json& metadata) {
  nlohmann::json metrics = nlohmann::json::object(), lineage = nlohmann::json::object();
  describe_training(metadata, metrics, lineage);
  lineage["metrics"] = metrics;
  return lineage;
}

void require_user(const Change& change) {
  FACEAGE_CHECK(!change.user.empty(), ErrorCode::kInvalidArgument, "a registry change needs a user");
}

}  // namespace

const char* stage_name(Stage stage) {
  switch (stage) {
    case Stage::kStaging: return "staging";
    case Stage::kProduction: return "production";
    case Stage::kArchived: return "archived";
  }
  return "staging";
}

Stage parse_stage(const std::string& name) {
  for (Stage s : kStages)
    if (name == stage_name(s)) return s;
  throw Error(ErrorCode::kInvalidArgument, "unknown stage '" + name + "'", "stages: staging, production, archived");
}

RegisterRequest register_request_from_bundle_info(const std::string& bundle_path, const nlohmann::json& info) {
  RegisterRequest request;
  request.bundle_path = bundle_path;
  const nlohmann::json metadata = info.value("metadata", nlohmann::json::object());
  request.name = metadata.is_object() ? metadata.value("name", "") : "";
  if (info.value("format", "") == "faceage-ensemble") {
    if (metadata.is_object() && metadata.contains("metrics") && metadata["metrics"].is_object())
      request.metrics = metadata["metrics"];
    nlohmann::json members = nlohmann::json::array();
    for (const auto& member : info.value("members", nlohmann::json::array()))
      members.push_back(
          run_lineage(member.value("info", nlohmann::json::object()).value("metadata", nlohmann::json::object())));
    request.lineage["members"] = members;
  } else {
    describe_training(metadata, request.metrics, request.lineage);
    // A weight average (`faceage models average`) was not trained itself: its lineage is each
    // source's training, as an ensemble's is each member's.
    if (metadata.is_object() && metadata.contains("averaged_from") && metadata["averaged_from"].is_array()) {
      nlohmann::json sources = nlohmann::json::array();
      for (const auto& source : metadata["averaged_from"]) {
        nlohmann::json lineage = run_lineage(source.value("metadata", nlohmann::json::object()));
        for (const char* key : {"source", "sha256", "weight"})
          if (source.contains(key)) lineage[key] = source[key];
        sources.push_back(lineage);
      }
      request.lineage["averaged_from"] = sources;
    }
  }
  return request;
}

ModelRegistry::ModelRegistry(const std::string& dir, bool create) : dir_(fs::absolute(dir).lexically_normal().string()) {
  const std::string db_path = (fs::path(dir_) / "registry.db").string();
  if (!create && !fs::exists(db_path))
    throw Error(ErrorCode::kNotFound, "no model registry at " + dir_,
                "faceage registry register --registry DIR --bundle B creates one");
  std::error_code ec;
  fs::create_directories(fs::path(dir_) / "bundles", ec);
  if (ec) throw Error(ErrorCode::kIo, "cannot create the model registry directory " + dir_ + ": " + ec.message());
  sqlite::OpenOptions options;
  options.description = "model registry";
  db_ = std::make_unique<sqlite::Database>(db_path, options);
  db_->exec("CREATE TABLE IF NOT EXISTS versions(version INTEGER PRIMARY KEY, sha256 TEXT NOT NULL UNIQUE,"
            " bundle TEXT NOT NULL, source TEXT NOT NULL, name TEXT NOT NULL, metrics TEXT NOT NULL,"
            " lineage TEXT NOT NULL, stage TEXT NOT NULL, replaced INTEGER, created_at REAL NOT NULL)");
  // The one-production rule holds even against a writer that bypasses this class.
  db_->exec("CREATE UNIQUE INDEX IF NOT EXISTS one_production ON versions(stage) WHERE stage = 'production'");
  db_->exec("CREATE TABLE IF NOT EXISTS audit(id INTEGER PRIMARY KEY, time REAL NOT NULL, user TEXT NOT NULL,"
            " action TEXT NOT NULL, version INTEGER NOT NULL, from_stage TEXT NOT NULL, to_stage TEXT NOT NULL,"
            " reason TEXT NOT NULL)");
}

ModelRegistry::~ModelRegistry() = default;

std::optional<ModelVersion> ModelRegistry::find(int version) const {
  Statement s(*db_, std::string("SELECT ") + kVersionColumns + " FROM versions WHERE version = ?1");
  s.bind(1, version);
  if (s.step()) return version_from_row(s);
  return std::nullopt;
}

ModelVersion ModelRegistry::version(int version) const {
  auto found = find(version);
  if (!found)
    throw Error(ErrorCode::kNotFound, "model registry " + dir_ + " has no version " + std::to_string(version),
                "faceage registry list --registry " + dir_);
  return *found;
}

ModelVersion ModelRegistry::version_to_move(int number, Stage to) const {
  ModelVersion v = version(number);
  if (v.stage == to)
    throw Error(ErrorCode::kInvalidArgument, "version " + std::to_string(number) + " already is " + stage_name(to));
  return v;
}

std::vector<ModelVersion> ModelRegistry::versions() const {
  std::vector<ModelVersion> out;
  Statement s(*db_, std::string("SELECT ") + kVersionColumns + " FROM versions ORDER BY version");
  while (s.step()) out.push_back(version_from_row(s));
  return out;
}

std::optional<ModelVersion> ModelRegistry::production() const {
  Statement s(*db_, std::string("SELECT ") + kVersionColumns + " FROM versions WHERE stage = 'production'");
  if (s.step()) return version_from_row(s);
  return std::nullopt;
}

std::vector<AuditEntry> ModelRegistry::audit(std::optional<int> version) const {
  std::vector<AuditEntry> out;
  Statement s(*db_, "SELECT id, time, user, action, version, from_stage, to_stage, reason FROM audit"
                    " WHERE ?1 IS NULL OR version = ?1 ORDER BY id");
  if (version) s.bind(1, *version); else s.bind_null(1);
  while (s.step()) {
    AuditEntry e;
    e.id = s.integer64(0);
    e.time = format_iso8601(s.real(1));
    e.user = s.text(2);
    e.action = s.text(3);
    e.version = s.integer(4);
    e.from_stage = s.text(5);
    e.to_stage = s.text(6);
    e.reason = s.text(7);
    out.push_back(std::move(e));
  }
  return out;
}

void ModelRegistry::set_stage(int version, Stage from, Stage to, const std::string& action, const Change& change) {
  Statement(*db_, "UPDATE versions SET stage = ?2 WHERE version = ?1")
      .bind(1, version).bind(2, std::string(stage_name(to))).run();
  Statement(*db_, "INSERT INTO audit(time, user, action, version, from_stage, to_stage, reason)"
                  " VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7)")
      .bind(1, unix_now()).bind(2, change.user).bind(3, action).bind(4, version)
      .bind(5, std::string(stage_name(from))).bind(6, std::string(stage_name(to))).bind(7, change.reason).run();
}

ModelVersion ModelRegistry::register_version(const RegisterRequest& request, const Change& change) {
  require_user(change);
  if (!fs::is_regular_file(request.bundle_path))
    throw Error(ErrorCode::kNotFound, "no bundle file at " + request.bundle_path);
  const std::string sha256 = sha256_file(request.bundle_path);
  nlohmann::json lineage = request.lineage.is_object() ? request.lineage : nlohmann::json::object();
  if (request.parent_version) lineage["parent_version"] = *request.parent_version;
  int number = 0;
  std::string copy;
  db_->transaction([&] {
    {
      Statement s(*db_, "SELECT version FROM versions WHERE sha256 = ?1");
      s.bind(1, sha256);
      if (s.step())
        throw Error(ErrorCode::kInvalidArgument,
                    request.bundle_path + " is already registered as version " + std::to_string(s.integer(0)));
    }
    if (request.parent_version && !find(*request.parent_version))
      throw Error(ErrorCode::kInvalidArgument,
                  "parent version " + std::to_string(*request.parent_version) + " is not in the registry");
    {
      Statement s(*db_, "SELECT COALESCE(MAX(version), 0) + 1 FROM versions");
      s.step();
      number = s.integer(0);
    }
    copy = (fs::path(dir_) / "bundles" /
            ("v" + std::to_string(number) + "-" + sha256.substr(0, 12) + fs::path(request.bundle_path).extension().string()))
               .string();
    write_file_atomic(copy, read_file_bytes(request.bundle_path));
    try {
      Statement(*db_, "INSERT INTO versions(version, sha256, bundle, source, name, metrics, lineage, stage, created_at)"
                      " VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7, 'staging', ?8)")
          .bind(1, number).bind(2, sha256).bind(3, copy)
          .bind(4, fs::absolute(request.bundle_path).lexically_normal().string()).bind(5, request.name)
          .bind(6, request.metrics.dump()).bind(7, lineage.dump()).bind(8, unix_now()).run();
      Statement(*db_, "INSERT INTO audit(time, user, action, version, from_stage, to_stage, reason)"
                      " VALUES(?1, ?2, 'register', ?3, '', 'staging', ?4)")
          .bind(1, unix_now()).bind(2, change.user).bind(3, number).bind(4, change.reason).run();
    } catch (...) {
      std::error_code ec;
      fs::remove(copy, ec);  // no row, no file
      throw;
    }
  });
  return version(number);
}

ModelVersion ModelRegistry::promote(int number, const Change& change) {
  require_user(change);
  db_->transaction([&] {
    const ModelVersion target = version_to_move(number, Stage::kProduction);
    const auto current = production();
    if (current) {
      set_stage(current->version, Stage::kProduction, Stage::kArchived, "promote",
                {change.user, "replaced by version " + std::to_string(number) + ": " + change.reason});
    }
    set_stage(number, target.stage, Stage::kProduction, "promote", change);
    // Only a promotion rewrites `replaced`: a rollback keeps the restored version's, so the next
    // rollback goes further back.
    Statement s(*db_, "UPDATE versions SET replaced = ?2 WHERE version = ?1");
    s.bind(1, number);
    if (current) s.bind(2, current->version); else s.bind_null(2);
    s.run();
  });
  return version(number);
}

ModelVersion ModelRegistry::archive(int number, const Change& change) {
  require_user(change);
  db_->transaction([&] {
    const ModelVersion target = version_to_move(number, Stage::kArchived);
    set_stage(number, target.stage, Stage::kArchived, "archive", change);
  });
  return version(number);
}

ModelVersion ModelRegistry::rollback(const Change& change) {
  require_user(change);
  int restored = 0;
  db_->transaction([&] {
    const auto current = production();
    if (!current)
      throw Error(ErrorCode::kInvalidArgument, "model registry " + dir_ + " has no production version to roll back");
    if (!current->replaced)
      throw Error(ErrorCode::kInvalidArgument,
                  "production version " + std::to_string(current->version) + " replaced no earlier version",
                  "promote the version you want instead");
    const ModelVersion previous = version(*current->replaced);
    set_stage(current->version, Stage::kProduction, Stage::kArchived, "rollback", change);
    set_stage(previous.version, previous.stage, Stage::kProduction, "rollback", change);
    restored = previous.version;
  });
  return version(restored);
}

nlohmann::json to_json(const ModelVersion& v) {
  nlohmann::json j = {{"version", v.version},   {"sha256", v.sha256},   {"bundle", v.bundle_path},
                      {"source", v.source_path}, {"name", v.name},       {"metrics", v.metrics},
                      {"lineage", v.lineage},    {"stage", stage_name(v.stage)}, {"created_at", v.created_at}};
  j["replaced"] = v.replaced ? nlohmann::json(*v.replaced) : nlohmann::json();
  return j;
}

nlohmann::json to_json(const AuditEntry& e) {
  return {{"id", e.id},         {"time", e.time},         {"user", e.user},         {"action", e.action},
          {"version", e.version}, {"from_stage", e.from_stage}, {"to_stage", e.to_stage}, {"reason", e.reason}};
}

}  // namespace faceage::monitor
