#include "faceage/data/ingest.hpp"

#include <gtest/gtest.h>

#include <filesystem>
#include <nlohmann/json.hpp>

#include "data/dataset_helpers.hpp"
#include "faceage/core/error.hpp"
#include "faceage/core/fs.hpp"
#include "faceage/data/manifest.hpp"
#include "support/temp_dir.hpp"

namespace faceage::data {
namespace {

namespace fs = std::filesystem;

// A UTKFace-style folder with every kind of problem ingest must handle.
void make_messy_utkface(const testing::TempDir& dir) {
  for (int i = 0; i < 5; ++i) test::write_jpeg(dir.file("utk/" + std::to_string(20 + i) + "_0_1_2017010" + std::to_string(i) + ".jpg"), i);
  // Copy of 20_0_1 under another name with the same labels: kept once.
  fs::copy_file(dir.file("utk/20_0_1_20170100.jpg"), dir.file("utk/20_0_1_20179999.jpg"));
  // Same bytes, different labels: both dropped.
  test::write_jpeg(dir.file("utk/50_1_2_20170200.jpg"), 77);
  fs::copy_file(dir.file("utk/50_1_2_20170200.jpg"), dir.file("utk/51_1_2_20170201.jpg"));
  // Corrupt, truncated, empty.
  write_file_atomic(dir.file("utk/30_0_0_20170300.jpg"), std::string("this is not a jpeg at all"));
  auto bytes = read_file_bytes(dir.file("utk/21_0_1_20170101.jpg"));
  bytes.resize(bytes.size() / 2);
  write_file_atomic(dir.file("utk/31_0_0_20170301.jpg"), bytes);
  write_file_atomic(dir.file("utk/32_0_0_20170302.jpg"), std::string());
  // Malformed name.
  test::write_jpeg(dir.file("utk/39_1_20170116174525125.jpg"), 40);
}

TEST(Ingest, CountsProblemsAndWritesGoodRows) {
  testing::TempDir dir;
  make_messy_utkface(dir);
  IngestOptions options;
  options.source = dir.file("utk");
  options.format = "utkface";
  options.out = dir.file("out/manifest.csv");
  options.threads = 2;
  options.progress = 0;
  IngestReport r = ingest_dataset(options);
  EXPECT_EQ(r.candidates, 11);
  EXPECT_EQ(r.skipped, 1);
  EXPECT_EQ(r.unreadable, 3);
  EXPECT_EQ(r.duplicates_removed, 1);
  EXPECT_EQ(r.conflicting_dropped, 2);
  EXPECT_EQ(r.written, 5);
  EXPECT_EQ(r.formats.at("jpeg"), 8);
  EXPECT_EQ(r.age_decades.at(20), 5);
  EXPECT_EQ(r.genders.at("male"), 5);
  EXPECT_EQ(r.races.at(1), 5);

  ASSERT_EQ(r.duplicates.size(), 3u);
  EXPECT_EQ(r.duplicates[0].file, "20_0_1_20179999.jpg");
  EXPECT_EQ(r.duplicates[0].duplicate_of, "20_0_1_20170100.jpg");
  EXPECT_FALSE(r.duplicates[0].conflicting);
  EXPECT_TRUE(r.duplicates[1].conflicting);
  std::vector<std::string> unreadable;
  for (const auto& u : r.unreadable_items) {
    unreadable.push_back(u.file);
    EXPECT_EQ(u.code, "unreadable_image");
  }
  EXPECT_EQ(unreadable, (std::vector<std::string>{"30_0_0_20170300.jpg", "31_0_0_20170301.jpg", "32_0_0_20170302.jpg"}));

  Manifest m = read_manifest(dir.file("out/manifest.csv"));
  ASSERT_EQ(m.rows.size(), 5u);
  for (const auto& row : m.rows) EXPECT_TRUE(fs::exists(row.path)) << row.path;
  EXPECT_EQ(m.rows[0].file, "../utk/20_0_1_20170100.jpg");

  const std::string report_dir = dir.file("out/manifest.report");
  ASSERT_TRUE(fs::exists(report_dir + "/report.md"));
  auto json = nlohmann::json::parse(read_file_text(report_dir + "/report.json"));
  EXPECT_EQ(json["counts"]["written"], 5);
  EXPECT_EQ(json["unreadable_items"].size(), 3u);
  EXPECT_EQ(json["age_decades"]["20-29"], 5);
  const std::string md = read_file_text(report_dir + "/report.md");
  EXPECT_NE(md.find("39_1_20170116174525125.jpg"), std::string::npos);
  EXPECT_NE(md.find("labels differ"), std::string::npos);
}

TEST(Ingest, NoValidateStillFindsDuplicatesButNotCorruptBytes) {
  testing::TempDir dir;
  make_messy_utkface(dir);
  IngestOptions options;
  options.source = dir.file("utk");
  options.format = "utkface";
  options.out = dir.file("m.csv");
  options.report_dir = dir.file("rep");
  options.validate = false;
  options.threads = 1;
  options.progress = 0;
  IngestReport r = ingest_dataset(options);
  EXPECT_EQ(r.unreadable, 0);
  EXPECT_EQ(r.duplicates_removed, 1);
  EXPECT_EQ(r.conflicting_dropped, 2);
  EXPECT_EQ(r.written, 8);
  EXPECT_TRUE(fs::exists(dir.file("rep/report.json")));
}

TEST(Ingest, MissingFilesInACsvAreReportedNotFatal) {
  testing::TempDir dir;
  test::write_jpeg(dir.file("imgs/a.jpg"), 1);
  write_file_atomic(dir.file("labels.csv"), std::string("file,age\na.jpg,3\nmissing.jpg,4\n"));
  IngestOptions options;
  options.source = dir.file("labels.csv");
  options.format = "csv";
  options.image_root = dir.file("imgs");
  options.out = dir.file("m.csv");
  options.progress = 0;
  IngestReport r = ingest_dataset(options);
  EXPECT_EQ(r.written, 1);
  ASSERT_EQ(r.unreadable_items.size(), 1u);
  EXPECT_EQ(r.unreadable_items[0].code, "not_found");
}

TEST(Ingest, WholeRunErrors) {
  IngestOptions options;
  options.source = "/nonexistent";
  options.format = "utkface";
  options.out = "/tmp/unused.csv";
  EXPECT_THROW(ingest_dataset(options), Error);
  options.format = "nope";
  EXPECT_THROW(ingest_dataset(options), Error);
  options.out.clear();
  EXPECT_THROW(ingest_dataset(options), Error);
}

}  // namespace
}  // namespace faceage::data
