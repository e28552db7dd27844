#include "faceage/lifecycle/reference.hpp"

#include "faceage/core/check.hpp"
#include "faceage/core/strings.hpp"
#include "faceage/data/manifest.hpp"
#include "faceage/infer/monitoring.hpp"
#include "faceage/models/bundle.hpp"

namespace faceage::lifecycle {

monitor::ReferenceProfile profile_model(const ModelProfileOptions& options, const Context& context) {
  const data::Manifest manifest = data::read_manifest(options.manifest);
  std::vector<std::string> paths;
  paths.reserve(manifest.rows.size());
  for (const auto& row : manifest.rows) paths.push_back(data::resolved_path(manifest, row));
  FACEAGE_CHECK(!paths.empty(), ErrorCode::kInvalidArgument, options.manifest << " lists no image to profile");
  auto predictor_options = options.predictor;
  predictor_options.all_faces = false;
  infer::Predictor predictor(predictor_options, context);
  std::vector<monitor::LoggedFace> faces;
  std::size_t failed = 0;
  predictor.predict_files(paths, [&](infer::ImagePrediction&& image) {
    if (!image.ok()) ++failed;
    for (auto& face : infer::logged_faces(image)) faces.push_back(std::move(face));
  });
  FACEAGE_CHECK(!faces.empty(), ErrorCode::kInvalidArgument,
                "no image of " << options.manifest << " gave a face to profile (" << failed << " failed)");
  const std::string source = "answers of " + join(predictor.info().paths, ", ") + " on " + options.manifest + " (" +
                             std::to_string(faces.size()) + " faces, " + std::to_string(failed) + " images failed)";
  return monitor::build_reference_profile(faces, source, options.profile);
}

void embed_reference_profile(const std::string& bundle_path, const monitor::ReferenceProfile& profile) {
  const auto info = models::read_bundle_info(bundle_path);
  FACEAGE_CHECK(!info.contains("members"), ErrorCode::kInvalidArgument,
                bundle_path << " is an ensemble file; embed the profile in its members before packing them");
  models::Bundle bundle = models::load_bundle(bundle_path);
  bundle.metadata[monitor::kBundleProfileKey] = monitor::to_json(profile);
  models::save_bundle(bundle, bundle_path);
}

monitor::ReferenceProfile embed_validation_profile(const std::string& bundle_path, const Context& context) {
  const auto info = models::read_bundle_info(bundle_path);
  const std::string val = info.value("metadata", nlohmann::json::object()).value("val_manifest", "");
  FACEAGE_CHECK(!val.empty(), ErrorCode::kInvalidArgument,
                bundle_path << " names no validation manifest (metadata.val_manifest); use faceage monitor profile --data");
  ModelProfileOptions options;
  options.predictor.model_paths = {bundle_path};
  // float32: the profile describes the model as trained, the same on every machine.
  options.predictor.precision = models::InferencePrecision::kFloat32;
  options.manifest = val;
  auto profile = profile_model(options, context);
  profile.source = "validation split: " + profile.source;
  embed_reference_profile(bundle_path, profile);
  return profile;
}

}  // namespace faceage::lifecycle
