#include <gtest/gtest.h>

#include <opencv2/imgcodecs.hpp>

#include "../support/quiet_context.hpp"
#include "../support/temp_dir.hpp"
#include "faceage/core/error.hpp"
#include "faceage/train/crop_cache.hpp"

namespace faceage::train {
namespace {

data::Manifest two_images(const testing::TempDir& dir) {
  data::Manifest manifest;
  manifest.base_dir = dir.path().string();
  for (int i = 0; i < 2; ++i) {
    const std::string path = dir.file("face" + std::to_string(i) + ".png");
    cv::imwrite(path, cv::Mat(64, 64, CV_8UC3, cv::Scalar(90 + 40 * i, 120, 160)));
    manifest.rows.push_back({path, path, 30 + i, "male", 0, "", "train"});
  }
  return manifest;
}

// A face pipeline that cannot be built is the run's error, and nothing is cached: once, a copied
// binary that did not find YuNet cached every image as failed, and later runs with the same
// settings found "0 usable training images" with no reason given.
TEST(CropSet, AFacePipelineThatCannotBeBuiltFailsTheRunAndCachesNothing) {
  testing::TempDir dir;
  CropCacheOptions options;
  options.cache_dir = dir.file("cache");
  options.face.detector = "yunet";
  options.face.detector_options.model_path = dir.file("missing.onnx");
  options.progress = false;
  const auto manifest = two_images(dir);
  EXPECT_THROW(CropSet::build(manifest, options, testing::quiet_context()), Error);

  // The same images with a pipeline that works (no detector: the inputs are crops) all succeed.
  options.face.detector = "none";
  options.face.detector_options.model_path.clear();
  CropSetReport report;
  const auto set = CropSet::build(manifest, options, testing::quiet_context(), &report);
  EXPECT_EQ(report.failed, 0u);
  EXPECT_EQ(set.size(), 2u);
}

}  // namespace
}  // namespace faceage::train
