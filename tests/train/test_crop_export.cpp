#include <fstream>

#include <gtest/gtest.h>
#include <opencv2/imgcodecs.hpp>

#include "../support/quiet_context.hpp"
#include "../support/temp_dir.hpp"
#include "faceage/core/error.hpp"
#include "faceage/data/manifest.hpp"
#include "faceage/train/crop_export.hpp"

namespace faceage::train {
namespace {

// A crop comes out at the asked size with its colours in place (the cache holds RGB, files BGR).
TEST(ExportCrops, WritesEachCropAtTheAskedSizeWithItsColoursAndLabels) {
  testing::TempDir dir;
  const cv::Scalar bgr(40, 120, 200);
  const std::string image = dir.file("face.png");
  cv::imwrite(image, cv::Mat(64, 64, CV_8UC3, bgr));
  {
    std::ofstream manifest(dir.file("manifest.csv"));
    manifest << "file,age,gender\nface.png,37,female\n";
  }
  ExportCropsOptions options;
  options.manifest = dir.file("manifest.csv");
  options.out_dir = dir.file("out");
  options.cache_dir = dir.file("cache");
  options.face.detector = "none";
  options.face.crop_size = 48;
  options.size = 24;
  options.format = "png";
  options.progress = 0;
  const ExportCropsReport report = export_crops(options, testing::quiet_context());
  ASSERT_EQ(report.written, 1u);
  EXPECT_EQ(report.failed, 0u);

  const data::Manifest written = data::read_manifest(report.manifest_path);
  ASSERT_EQ(written.rows.size(), 1u);
  EXPECT_EQ(written.rows[0].age, 37);
  EXPECT_EQ(written.rows[0].gender, "female");
  const cv::Mat crop = cv::imread(data::resolved_path(written, written.rows[0]));
  ASSERT_EQ(crop.rows, 24);
  ASSERT_EQ(crop.cols, 24);
  const cv::Vec3b centre = crop.at<cv::Vec3b>(12, 12);
  EXPECT_EQ(centre, cv::Vec3b(40, 120, 200));

  // Read back: the recorded pipeline is the exporting one; the export is read whole at 24 px.
  const ExportedCrops exported = read_exported_crops(report.pipeline_path);
  EXPECT_EQ(exported.recorded_pipeline["crop_size"], 48);
  EXPECT_EQ(exported.read_options.detector, "none");
  EXPECT_EQ(exported.read_options.crop_size, 24);
}

TEST(ExportCrops, RefusesASizeLargerThanThePipelinesCropAndAnUnknownFormat) {
  testing::TempDir dir;
  ExportCropsOptions options;
  options.manifest = dir.file("manifest.csv");
  options.out_dir = dir.file("out");
  options.cache_dir = dir.file("cache");
  options.face.detector = "none";
  options.face.crop_size = 48;
  options.size = 64;  // an export never enlarges: the extra pixels would be made up
  EXPECT_THROW(export_crops(options, testing::quiet_context()), Error);
  options.size = 32;
  options.format = "gif";
  EXPECT_THROW(export_crops(options, testing::quiet_context()), Error);
}

TEST(ExportedCrops, AFileThatIsNotACropExportIsAConfigError) {
  testing::TempDir dir;
  {
    std::ofstream out(dir.file("face_pipeline.json"));
    out << R"({"detector": "yunet"})";
  }
  try {
    read_exported_crops(dir.file("face_pipeline.json"));
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::kConfig);
  }
  EXPECT_THROW(read_exported_crops(dir.file("missing.json")), Error);
}

}  // namespace
}  // namespace faceage::train
