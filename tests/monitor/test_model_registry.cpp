#include "faceage/monitor/model_registry.hpp"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "faceage/core/fs.hpp"
#include "support/error_code.hpp"
#include "support/temp_dir.hpp"

namespace faceage::monitor {
namespace {

using faceage::testing::error_of;
using faceage::testing::TempDir;

// Distinct bytes standing in for bundles: the registry never opens a model.
std::string fake_bundle(const TempDir& tmp, int n) {
  const std::string path = tmp.file("bundle" + std::to_string(n) + ".fab");
  std::ofstream(path) << "bundle number " << n << std::string(1000, static_cast<char>('a' + n));
  return path;
}

// Registers `count` distinct fake bundles as versions 1..count.
void register_fakes(ModelRegistry& registry, const TempDir& tmp, int count) {
  for (int n = 1; n <= count; ++n) {
    RegisterRequest request;
    request.bundle_path = fake_bundle(tmp, n);
    registry.register_version(request, {"ci", "nightly"});
  }
}

int production_count(const ModelRegistry& registry) {
  int n = 0;
  for (const auto& v : registry.versions()) n += v.stage == Stage::kProduction ? 1 : 0;
  return n;
}

TEST(ModelRegistry, RegistersCopiesWithTheirChecksum) {
  TempDir tmp;
  ModelRegistry registry(tmp.file("reg"));
  RegisterRequest request;
  request.bundle_path = fake_bundle(tmp, 1);
  request.metrics = {{"val_mae", 4.4}};
  request.lineage = {{"training_config", "model:\n  arch: mobilenet_v2\n"}};
  const auto v1 = registry.register_version(request, {"alice", "first model"});
  EXPECT_EQ(v1.version, 1);
  EXPECT_EQ(v1.stage, Stage::kStaging);
  EXPECT_EQ(v1.sha256, sha256_file(request.bundle_path));
  EXPECT_EQ(sha256_file(v1.bundle_path), v1.sha256);
  EXPECT_NE(v1.bundle_path, request.bundle_path);
  EXPECT_DOUBLE_EQ(v1.metrics.at("val_mae").get<double>(), 4.4);
  // Same bytes again: refused. A parent that does not exist: refused.
  EXPECT_EQ(error_of([&] { registry.register_version(request, {"alice", ""}); }), ErrorCode::kInvalidArgument);
  RegisterRequest child;
  child.bundle_path = fake_bundle(tmp, 2);
  child.parent_version = 9;
  EXPECT_EQ(error_of([&] { registry.register_version(child, {"alice", ""}); }), ErrorCode::kInvalidArgument);
  child.parent_version = 1;
  const auto v2 = registry.register_version(child, {"alice", "fine-tuned"});
  EXPECT_EQ(v2.version, 2);
  EXPECT_EQ(v2.lineage.at("parent_version").get<int>(), 1);
  RegisterRequest missing;
  missing.bundle_path = tmp.file("nope.fab");
  EXPECT_EQ(error_of([&] { registry.register_version(missing, {"alice", ""}); }), ErrorCode::kNotFound);
  EXPECT_EQ(error_of([&] { registry.register_version(child, {"", ""}); }), ErrorCode::kInvalidArgument);
  // The files in bundles/ are exactly the registered versions (a refused one left none behind).
  EXPECT_EQ(std::distance(std::filesystem::directory_iterator(tmp.file("reg/bundles")), {}), 2);
}

TEST(ModelRegistry, OneProductionVersionAndRollbackRestoresThePrevious) {
  TempDir tmp;
  ModelRegistry registry(tmp.file("reg"));
  register_fakes(registry, tmp, 3);
  EXPECT_FALSE(registry.production().has_value());
  EXPECT_EQ(error_of([&] { registry.rollback({"ci", "nothing yet"}); }), ErrorCode::kInvalidArgument);

  registry.promote(1, {"alice", "first release"});
  registry.promote(2, {"bob", "better MAE"});
  EXPECT_EQ(production_count(registry), 1);
  EXPECT_EQ(registry.production()->version, 2);
  EXPECT_EQ(registry.version(1).stage, Stage::kArchived);
  EXPECT_EQ(error_of([&] { registry.promote(2, {"bob", "again"}); }), ErrorCode::kInvalidArgument);
  registry.promote(3, {"carol", "retrained"});
  EXPECT_EQ(production_count(registry), 1);

  // Rollbacks walk back through the productions: 3 -> 2 -> 1, then nothing is left.
  EXPECT_EQ(registry.rollback({"dave", "3 is worse on grayscale"}).version, 2);
  EXPECT_EQ(registry.version(3).stage, Stage::kArchived);
  EXPECT_EQ(production_count(registry), 1);
  EXPECT_EQ(registry.rollback({"dave", "2 too"}).version, 1);
  EXPECT_EQ(error_of([&] { registry.rollback({"dave", "and 1?"}); }), ErrorCode::kInvalidArgument);
  EXPECT_EQ(registry.production()->version, 1);

  EXPECT_EQ(error_of([&] { registry.promote(7, {"x", ""}); }), ErrorCode::kNotFound);
  EXPECT_EQ(registry.archive(1, {"erin", "retired"}).stage, Stage::kArchived);
  EXPECT_FALSE(registry.production().has_value());
  EXPECT_EQ(error_of([&] { registry.archive(1, {"erin", ""}); }), ErrorCode::kInvalidArgument);
}

TEST(ModelRegistry, AuditSaysWhoWhenWhyAndSurvivesReopening) {
  TempDir tmp;
  {
    ModelRegistry registry(tmp.file("reg"));
    register_fakes(registry, tmp, 2);
    registry.promote(1, {"alice", "first release"});
    registry.promote(2, {"bob", "better MAE"});
    registry.rollback({"carol", "complaints"});
  }
  ModelRegistry reopened(tmp.file("reg"), /*create=*/false);
  EXPECT_EQ(reopened.production()->version, 1);
  const auto audit = reopened.audit();
  // register x2, promote 1, (archive 1 + promote 2), (archive 2 + restore 1)
  ASSERT_EQ(audit.size(), 7u);
  EXPECT_EQ(audit[0].action, "register");
  EXPECT_EQ(audit[0].to_stage, "staging");
  EXPECT_EQ(audit[3].version, 1);
  EXPECT_EQ(audit[3].from_stage, "production");
  EXPECT_EQ(audit[3].to_stage, "archived");
  EXPECT_EQ(audit[3].reason, "replaced by version 2: better MAE");
  EXPECT_EQ(audit[6].user, "carol");
  EXPECT_EQ(audit[6].action, "rollback");
  EXPECT_EQ(audit[6].to_stage, "production");
  EXPECT_EQ(audit[6].reason, "complaints");
  EXPECT_EQ(audit[6].time.size(), 24u);  // 2026-12-04T14:00:00.000Z
  EXPECT_EQ(reopened.audit(2).size(), 3u);
  EXPECT_EQ(error_of([&] { ModelRegistry none(tmp.file("other"), false); }), ErrorCode::kNotFound);
}

TEST(ModelRegistry, ReadsMetricsAndLineageFromBundleInfo) {
  const nlohmann::json info = {
      {"format", "faceage-bundle"},
      {"metadata",
       {{"name", "utk-mbv2"}, {"config", {{"model", {{"arch", "mobilenet_v2"}}}}}, {"epoch", 17},
        {"val_mae", 4.40}, {"val_gender_acc", 0.943}, {"train_manifest", "/data/train.csv"},
        {"train_manifest_sha256", "9309a7"}, {"created_by", "faceage train"}}}};
  const auto request = register_request_from_bundle_info("b.fab", info);
  EXPECT_EQ(request.name, "utk-mbv2");
  EXPECT_DOUBLE_EQ(request.metrics.at("val_mae").get<double>(), 4.40);
  EXPECT_FALSE(request.metrics.contains("epoch"));
  EXPECT_EQ(request.lineage.at("training_config").at("model").at("arch"), "mobilenet_v2");
  EXPECT_EQ(request.lineage.at("data_checksums").at("train_manifest").at("sha256"), "9309a7");
  EXPECT_EQ(request.lineage.at("data_checksums").at("train_manifest").at("path"), "/data/train.csv");
  const nlohmann::json ensemble = {{"format", "faceage-ensemble"},
                                   {"metadata", {{"name", "pair"}}},
                                   {"members", {{{"info", info}}, {{"info", info}}}}};
  const auto pair = register_request_from_bundle_info("e.fab", ensemble);
  EXPECT_EQ(pair.name, "pair");
  ASSERT_EQ(pair.lineage.at("members").size(), 2u);
  EXPECT_DOUBLE_EQ(pair.lineage["members"][1]["metrics"]["val_mae"].get<double>(), 4.40);
  const nlohmann::json average = {
      {"format", "faceage-bundle"},
      {"metadata",
       {{"name", "soup"}, {"created_by", "faceage models average"},
        {"averaged_from",
         {{{"source", "a.fab"}, {"sha256", "aa"}, {"weight", 0.25}, {"metadata", info["metadata"]}},
          {{"source", "b.fab"}, {"sha256", "bb"}, {"weight", 0.75}, {"metadata", {{"val_mae", 4.5}}}}}}}}};
  const auto soup = register_request_from_bundle_info("s.fab", average);
  EXPECT_EQ(soup.name, "soup");
  EXPECT_TRUE(soup.metrics.empty());  // the average itself was never scored by a trainer
  EXPECT_EQ(soup.lineage.at("created_by"), "faceage models average");
  ASSERT_EQ(soup.lineage.at("averaged_from").size(), 2u);
  const auto& first = soup.lineage["averaged_from"][0];
  EXPECT_EQ(first.at("source"), "a.fab");
  EXPECT_EQ(first.at("sha256"), "aa");
  EXPECT_DOUBLE_EQ(first.at("weight").get<double>(), 0.25);
  EXPECT_EQ(first.at("training_config").at("model").at("arch"), "mobilenet_v2");
  EXPECT_EQ(first.at("data_checksums").at("train_manifest").at("sha256"), "9309a7");
  EXPECT_DOUBLE_EQ(soup.lineage["averaged_from"][1]["metrics"]["val_mae"].get<double>(), 4.5);
}

}  // namespace
}  // namespace faceage::monitor
