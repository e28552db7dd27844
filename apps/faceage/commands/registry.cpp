// `faceage registry list | show V | register BUNDLE | promote V | rollback  --registry DIR`
// (docs/monitoring.md). The registry copies bundles in; stage changes are audited.
#include <cstdio>
#include <cstdlib>
#include <iostream>

#include "commands/commands.hpp"
#include "faceage/models/bundle.hpp"
#include "faceage/monitor/model_registry.hpp"

namespace faceage::cli {
namespace {

struct RegistryArgs {
  std::string dir, bundle, user, reason;
  int version = 0, parent = 0;
};

std::string metric_text(const nlohmann::json& metrics, const char* key) {
  if (!metrics.contains(key) || !metrics[key].is_number()) return "-";
  char text[32];
  std::snprintf(text, sizeof text, "%.4g", metrics[key].get<double>());
  return text;
}

void print_version_line(const monitor::ModelVersion& v) {
  std::printf("%7d  %-10s  %-24s  %-12s  %7s  %8s  %s\n", v.version, monitor::stage_name(v.stage), v.created_at.c_str(),
              v.sha256.substr(0, 12).c_str(), metric_text(v.metrics, "val_mae").c_str(),
              metric_text(v.metrics, "val_gender_acc").c_str(), v.name.c_str());
}

}  // namespace

void add_registry_command(CLI::App& app, CliState& state) {
  auto args = std::make_shared<RegistryArgs>();
  auto* cmd = app.add_subcommand("registry", "model versions with stages (staging, production, archived) and an audit trail");
  cmd->require_subcommand(1);
  cmd->fallthrough();  // --registry may follow the subcommand
  cmd->add_option("--registry", args->dir, "the registry directory (created by the first register)")->required();
  const char* default_user = std::getenv("USER");
  args->user = default_user && *default_user ? default_user : "unknown";
  cmd->add_option("--user", args->user, "who makes the change (default: $USER)");
  auto change = [args] { return monitor::Change{args->user, args->reason}; };

  cmd->add_subcommand("list", "every version with its stage and validation metrics")->callback([args, &state] {
    const monitor::ModelRegistry registry(args->dir, /*create=*/false);
    std::printf("%7s  %-10s  %-24s  %-12s  %7s  %8s  %s\n", "version", "stage", "created_at", "sha256", "val_mae",
                "val_gacc", "name");
    for (const auto& v : registry.versions()) print_version_line(v);
    state.exit_code = 0;
  });

  auto* show = cmd->add_subcommand("show", "one version as JSON: checksum, metrics, lineage, audit trail");
  show->add_option("version", args->version, "version number")->required();
  show->callback([args, &state] {
    const monitor::ModelRegistry registry(args->dir, /*create=*/false);
    nlohmann::json out = to_json(registry.version(args->version));
    out["audit"] = nlohmann::json::array();
    for (const auto& entry : registry.audit(args->version)) out["audit"].push_back(to_json(entry));
    std::cout << out.dump(2) << "\n";
    state.exit_code = 0;
  });

  auto* add = cmd->add_subcommand("register", "copy a bundle in as a new staging version (metrics and lineage from its JSON)");
  add->add_option("bundle", args->bundle, "bundle or ensemble file")->required()->check(CLI::ExistingFile);
  add->add_option("--parent", args->parent, "the version this one was trained from")->check(CLI::PositiveNumber);
  add->add_option("--reason", args->reason, "why (kept in the audit trail)");
  add->callback([args, change, &state] {
    auto request = monitor::register_request_from_bundle_info(args->bundle, models::read_bundle_info(args->bundle));
    if (args->parent > 0) request.parent_version = args->parent;
    monitor::ModelRegistry registry(args->dir);
    const auto v = registry.register_version(request, change());
    std::printf("registered version %d (%s) from %s\n", v.version, v.sha256.substr(0, 12).c_str(), args->bundle.c_str());
    state.exit_code = 0;
  });

  auto* promote = cmd->add_subcommand("promote", "make a version production (the current one is archived)");
  promote->add_option("version", args->version, "version number")->required();
  promote->add_option("--reason", args->reason, "why (kept in the audit trail)")->required();
  promote->callback([args, change, &state] {
    monitor::ModelRegistry registry(args->dir, /*create=*/false);
    const auto v = registry.promote(args->version, change());
    std::printf("version %d is production%s\n", v.version,
                v.replaced ? (" (version " + std::to_string(*v.replaced) + " archived)").c_str() : "");
    state.exit_code = 0;
  });

  auto* rollback = cmd->add_subcommand("rollback", "archive the production version and restore the one it replaced");
  rollback->add_option("--reason", args->reason, "why (kept in the audit trail)")->required();
  rollback->callback([args, change, &state] {
    monitor::ModelRegistry registry(args->dir, /*create=*/false);
    const auto v = registry.rollback(change());
    std::printf("version %d is production again\n", v.version);
    state.exit_code = 0;
  });
}

}  // namespace faceage::cli
