#pragma once
// The model registry: a directory the user names, holding registry.db (SQLite) and bundles/ (each
// registered bundle copied in, named by version and SHA-256, so a registered file never changes
// under the registry). Tables:
//   versions(version, sha256, bundle, source, name, metrics, lineage, stage, replaced, created_at)
//   audit(id, time, user, action, version, from_stage, to_stage, reason)
// Rules, kept in one transaction per change:
//   - a new version starts in `staging`;
//   - at most one version is `production` (also a unique index in the database);
//   - promote V: the current production (if any) goes to `archived` and V becomes production,
//     remembering which version it replaced;
//   - rollback: the production version goes to `archived` and the version it replaced comes back,
//     so repeated rollbacks walk back through earlier productions;
//   - every change writes an audit row: who, when, why, from which stage to which.
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace faceage::sqlite {
class Database;
}

namespace faceage::monitor {

enum class Stage { kStaging, kProduction, kArchived };
const char* stage_name(Stage stage);
Stage parse_stage(const std::string& name);  // kInvalidArgument listing the stages

struct ModelVersion {
  int version = 0;          // 1, 2, ... in registration order
  std::string sha256;       // of the bundle file
  std::string bundle_path;  // the registry's copy (absolute)
  std::string source_path;  // where it was registered from
  std::string name;
  nlohmann::json metrics = nlohmann::json::object();  // {"val_mae": 4.40, ...}
  // {"training_config": ..., "data_checksums": {"train_manifest": "<sha256>", ...}, "parent_version": N}
  nlohmann::json lineage = nlohmann::json::object();
  Stage stage = Stage::kStaging;
  std::optional<int> replaced;  // the production version this one replaced when last promoted
  std::string created_at;       // ISO 8601
};

struct AuditEntry {
  std::int64_t id = 0;
  std::string time;  // ISO 8601
  std::string user;
  std::string action;  // register, promote, archive, rollback
  int version = 0;
  std::string from_stage, to_stage;  // empty from_stage for register
  std::string reason;
};

// Who makes a change and why (the audit row).
struct Change {
  std::string user;
  std::string reason;
};

struct RegisterRequest {
  std::string bundle_path;
  std::string name;
  nlohmann::json metrics = nlohmann::json::object();
  nlohmann::json lineage = nlohmann::json::object();
  std::optional<int> parent_version;  // stored as lineage.parent_version; must exist
};

// Metrics (metadata.val_*, test_*) and lineage (training config, manifest checksums) from a
// bundle's bundle.json as models::read_bundle_info returns it; an ensemble file gives each member's
// under lineage.members. Pure JSON work: the registry never loads a model.
RegisterRequest register_request_from_bundle_info(const std::string& bundle_path, const nlohmann::json& info);

class ModelRegistry {
 public:
  // Opens DIR/registry.db, creating DIR and the database when `create` (else kNotFound).
  explicit ModelRegistry(const std::string& dir, bool create = true);
  ~ModelRegistry();
  ModelRegistry(const ModelRegistry&) = delete;
  ModelRegistry& operator=(const ModelRegistry&) = delete;

  // Copies the bundle in and records it in staging. kNotFound for a missing bundle,
  // kInvalidArgument when the same bytes are already registered (naming that version) or the
  // parent does not exist.
  ModelVersion register_version(const RegisterRequest& request, const Change& change);
  // kNotFound for an unknown version; kInvalidArgument when it already is production.
  ModelVersion promote(int version, const Change& change);
  // A staging or production version to archived; kInvalidArgument when already archived.
  ModelVersion archive(int version, const Change& change);
  // Restores the version the production one replaced; returns it. kInvalidArgument when there is
  // no production version or it replaced none.
  ModelVersion rollback(const Change& change);

  std::vector<ModelVersion> versions() const;
  ModelVersion version(int version) const;  // kNotFound
  std::optional<ModelVersion> production() const;
  // Oldest first; all versions when `version` is empty.
  std::vector<AuditEntry> audit(std::optional<int> version = std::nullopt) const;
  const std::string& dir() const { return dir_; }

 private:
  // Moves a version between stages and writes the audit row (inside the caller's transaction).
  void set_stage(int version, Stage from, Stage to, const std::string& action, const Change& change);
  std::optional<ModelVersion> find(int version) const;
  ModelVersion version_to_move(int version, Stage to) const;  // kInvalidArgument when already there
  std::string dir_;
  std::unique_ptr<sqlite::Database> db_;
};

nlohmann::json to_json(const ModelVersion& version);
nlohmann::json to_json(const AuditEntry& entry);

}  // namespace faceage::monitor
