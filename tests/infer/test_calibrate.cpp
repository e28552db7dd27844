#include "faceage/infer/calibrate.hpp"

#include <filesystem>
#include <fstream>

#include <gtest/gtest.h>

#include "faceage/face/detector.hpp"
#include "faceage/models/bundle.hpp"
#include "support/quiet_context.hpp"
#include "support/temp_dir.hpp"

namespace faceage::infer {
namespace {

using testing::quiet_context;

// A manifest of copies of the astronaut crop labelled with ages 2..60 (the answers are all alike;
// the labels spread, so both sides of every gate and a spread of residuals are present).
std::string write_manifest(const testing::TempDir& dir, int rows) {
  const std::string crop = std::string(FACEAGE_FIXTURES_DIR) + "/faces/astronaut_crop.jpg";
  std::ofstream manifest(dir.file("val.csv"));
  manifest << "file,age,gender\n";
  for (int i = 0; i < rows; ++i) {
    const std::string name = "face" + std::to_string(i) + ".jpg";
    std::filesystem::copy_file(crop, dir.file(name));
    manifest << name << "," << 2 + (i * 58) / (rows - 1) << ",female\n";
  }
  return dir.file("val.csv");
}

// The bundle records `detector` as its face pipeline's.
void write_untrained(const std::string& path, const std::string& detector = "none") {
  models::ModelOptions model;
  model.arch = "mobilenet_v2";
  auto bundle = models::untrained_bundle(model, 64);
  bundle.face_pipeline["detector"] = detector;
  bundle.metadata["licence"] = "test data licence";
  models::save_bundle(bundle, path);
}

CalibrateOptions calibrate_options(const std::string& model, const std::string& manifest, const std::string& out) {
  CalibrateOptions options;
  options.model_path = model;
  options.manifest_csv = manifest;
  options.out_path = out;
  options.coverages = {0.9};
  options.gates = {18};
  options.predictor.detector = "none";
  options.predictor.precision = models::InferencePrecision::kFloat32;
  options.progress = 0;
  return options;
}

// What a calibrated file answers: calibrated p_minor at the gate, conformal interval at the coverage.
FacePrediction answer_of(const std::string& model) {
  PredictorOptions options;
  options.model_paths = {model};
  options.detector = "none";
  options.precision = models::InferencePrecision::kFloat32;
  options.coverage = 0.9;
  options.minor_gate = 18;
  Predictor predictor(options, quiet_context());
  const auto prediction = predictor.predict_file(std::string(FACEAGE_FIXTURES_DIR) + "/faces/astronaut_crop.jpg");
  EXPECT_TRUE(prediction.ok());
  return prediction.faces.at(0);
}

TEST(CalibrateModel, FitsStoresAndThePredictorAppliesItForBundlesAndEnsembles) {
  testing::TempDir dir;
  const auto manifest = write_manifest(dir, 40);
  write_untrained(dir.file("a.fab"));
  write_untrained(dir.file("b.fab"));
  EXPECT_FALSE(answer_of(dir.file("a.fab")).p_minor_calibrated);

  const auto summary = calibrate_model(calibrate_options(dir.file("a.fab"), manifest, dir.file("a-cal.fab")), quiet_context());
  EXPECT_EQ(summary.images, 40);
  EXPECT_EQ(summary.faces, 40);
  ASSERT_EQ(summary.coverages.size(), 1u);
  EXPECT_GE(summary.coverages[0].after, 0.9) << "split-conformal covers at least the nominal rate in-sample";
  ASSERT_EQ(summary.gates.size(), 1u);
  EXPECT_EQ(summary.gates[0].minors, 11);  // ages 2..17 of 2 + i*58/39
  EXPECT_LE(summary.gates[0].ece_after, summary.gates[0].ece_before + 1e-9);
  EXPECT_NE(format_calibration_summary(summary).find("coverage 0.90"), std::string::npos);

  const auto face = answer_of(dir.file("a-cal.fab"));
  EXPECT_TRUE(face.p_minor_calibrated);
  EXPECT_TRUE(face.conformal_interval);
  // Every calibration answer was the same face: calibrated p_minor is near the minors' share.
  EXPECT_NEAR(face.p_minor, 11.0 / 40.0, 0.05);

  models::EnsembleOptions ensemble;
  models::save_ensemble({dir.file("a.fab"), dir.file("b.fab")}, dir.file("ab.fab"), ensemble);
  auto ensemble_options = calibrate_options(dir.file("ab.fab"), manifest, dir.file("ab-cal.fab"));
  ensemble_options.predictor.detector.clear();  // the members' own ("none")
  calibrate_model(ensemble_options, quiet_context());
  EXPECT_EQ(models::read_bundle_info(dir.file("ab-cal.fab")).at("format"), "faceage-ensemble");
  const auto ensemble_face = answer_of(dir.file("ab-cal.fab"));
  EXPECT_TRUE(ensemble_face.p_minor_calibrated);
  EXPECT_TRUE(ensemble_face.conformal_interval);
}

// A calibration holds for the crops it was fitted on: a copy calibrated under another detector
// records that detector (and the terms of the landmark model it aligns with), so it serves as it
// was calibrated. An ensemble keeps its members' pipelines, so it refuses another detector.
TEST(CalibrateModel, ACopyCalibratedUnderAnotherDetectorRecordsIt) {
  testing::TempDir dir;
  const auto manifest = write_manifest(dir, 12);
  write_untrained(dir.file("a.fab"), "yunet");
  calibrate_model(calibrate_options(dir.file("a.fab"), manifest, dir.file("a-none.fab")), quiet_context());
  const auto info = models::read_bundle_info(dir.file("a-none.fab"));
  EXPECT_EQ(info.at("face_pipeline").at("detector"), "none");
  EXPECT_EQ(info.at("metadata").at("licence"), "test data licence");

  auto dlib_options = calibrate_options(dir.file("a.fab"), manifest, dir.file("a-dlib.fab"));
  dlib_options.predictor.detector = "dlib-hog";
  calibrate_model(dlib_options, quiet_context());
  const auto dlib_info = models::read_bundle_info(dir.file("a-dlib.fab"));
  EXPECT_EQ(dlib_info.at("face_pipeline").at("detector"), "dlib-hog");
  EXPECT_EQ(dlib_info.at("metadata").at("licence"),
            "test data licence; " + face::landmark_licence_note("dlib-hog"));

  write_untrained(dir.file("b.fab"), "yunet");
  models::save_ensemble({dir.file("a.fab"), dir.file("b.fab")}, dir.file("ab.fab"), models::EnsembleOptions{});
  try {
    calibrate_model(calibrate_options(dir.file("ab.fab"), manifest, dir.file("ab-cal.fab")), quiet_context());
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::kInvalidArgument);
  }
  EXPECT_FALSE(std::filesystem::exists(dir.file("ab-cal.fab")));
}

TEST(CalibrateModel, AnEmptySelectionIsAClearError) {
  testing::TempDir dir;
  const auto manifest = write_manifest(dir, 3);
  write_untrained(dir.file("a.fab"));
  auto options = calibrate_options(dir.file("a.fab"), manifest, dir.file("out.fab"));
  options.split = "val";  // the manifest has no split column
  try {
    calibrate_model(options, quiet_context());
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::kInvalidArgument);
  }
  EXPECT_FALSE(std::filesystem::exists(dir.file("out.fab")));
}

}  // namespace
}  // namespace faceage::infer
