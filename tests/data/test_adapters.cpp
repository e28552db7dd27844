#include "faceage/data/adapters.hpp"

#include <gtest/gtest.h>

#include <filesystem>

#include "data/dataset_helpers.hpp"
#include "faceage/core/error.hpp"
#include "faceage/core/fs.hpp"
#include "support/temp_dir.hpp"

namespace faceage::data {
namespace {

namespace fs = std::filesystem;

AdapterResult run(const std::string& name, const std::string& source, const std::string& image_root = {},
                  const std::string& map = {}) {
  AdapterOptions options;
  options.source = source;
  options.image_root = image_root;
  options.column_map = parse_column_map(map);
  return dataset_adapters().create(name, options);
}

TEST(Adapters, RegistryListsBuiltins) {
  EXPECT_EQ(dataset_adapters().names(), (std::vector<std::string>{"age-folders", "csv", "utkface", "utkface-labels"}));
  try {
    run("imdb", "/tmp");
    FAIL();
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::kNotFound);
    EXPECT_NE(std::string(e.what()).find("utkface"), std::string::npos);
  }
}

TEST(Adapters, UtkfaceNameParser) {
  int age = 0, race = 0;
  std::string gender, reason;
  EXPECT_TRUE(parse_utkface_name("25_1_3_20170104231305129.jpg.chip.jpg", age, gender, race, reason));
  EXPECT_EQ(age, 25);
  EXPECT_EQ(gender, "female");
  EXPECT_EQ(race, 3);
  EXPECT_TRUE(parse_utkface_name("55_0_0_20170116232725357jpg.chip.jpg", age, gender, race, reason));
  EXPECT_EQ(gender, "male");
  EXPECT_FALSE(parse_utkface_name("39_1_20170116174525125.jpg.chip.jpg", age, gender, race, reason));
  EXPECT_NE(reason.find("3 '_'-separated fields"), std::string::npos) << reason;
  EXPECT_FALSE(parse_utkface_name("x_0_0_2017.jpg", age, gender, race, reason));
  EXPECT_NE(reason.find("age"), std::string::npos);
  EXPECT_FALSE(parse_utkface_name("20_2_0_2017.jpg", age, gender, race, reason));
  EXPECT_NE(reason.find("gender"), std::string::npos);
  EXPECT_FALSE(parse_utkface_name("20_0_7_2017.jpg", age, gender, race, reason));
  EXPECT_NE(reason.find("race"), std::string::npos);
  EXPECT_FALSE(parse_utkface_name("20_0_1_.jpg", age, gender, race, reason));
  EXPECT_FALSE(parse_utkface_name("200_0_1_2017.jpg", age, gender, race, reason));
}

TEST(Adapters, UtkfaceFolderSkipsMalformedNames) {
  testing::TempDir dir;
  test::write_jpeg(dir.file("utk/25_0_1_20170101.jpg.chip.jpg"), 1);
  test::write_jpeg(dir.file("utk/sub/3_1_4_20170102.jpg"), 2);
  test::write_jpeg(dir.file("utk/39_1_20170116174525125.jpg.chip.jpg"), 3);
  test::write_jpeg(dir.file("utk/abc_0_1_2017.jpg"), 4);
  write_file_atomic(dir.file("utk/readme.txt"), std::string("ignored"));
  AdapterResult r = run("utkface", dir.file("utk"));
  ASSERT_EQ(r.manifest.rows.size(), 2u);
  EXPECT_EQ(r.manifest.rows[0].file, "25_0_1_20170101.jpg.chip.jpg");
  EXPECT_EQ(r.manifest.rows[0].age, 25);
  EXPECT_EQ(r.manifest.rows[0].gender, "male");
  EXPECT_EQ(r.manifest.rows[0].race, 1);
  EXPECT_EQ(r.manifest.rows[1].file, "sub/3_1_4_20170102.jpg");
  EXPECT_EQ(r.manifest.rows[1].gender, "female");
  EXPECT_TRUE(fs::exists(r.manifest.rows[1].path));
  ASSERT_EQ(r.skipped.size(), 2u);
  EXPECT_EQ(r.skipped[0].file, "39_1_20170116174525125.jpg.chip.jpg");
  EXPECT_EQ(r.skipped[1].file, "abc_0_1_2017.jpg");
  EXPECT_THROW(run("utkface", dir.file("nope")), Error);
}

TEST(Adapters, AgeFolders) {
  testing::TempDir dir;
  test::write_jpeg(dir.file("faces/001/a.jpg"), 1);
  test::write_jpeg(dir.file("faces/025/b.png.jpg"), 2);
  test::write_jpeg(dir.file("faces/25/c.jpg"), 3);
  test::write_jpeg(dir.file("faces/misc/d.jpg"), 4);
  test::write_jpeg(dir.file("faces/loose.jpg"), 5);
  test::write_jpeg(dir.file("faces/999/e.jpg"), 6);
  AdapterResult r = run("age-folders", dir.file("faces"));
  ASSERT_EQ(r.manifest.rows.size(), 3u);
  EXPECT_EQ(r.manifest.rows[0].file, "001/a.jpg");
  EXPECT_EQ(r.manifest.rows[0].age, 1);
  EXPECT_EQ(r.manifest.rows[1].age, 25);
  EXPECT_EQ(r.manifest.rows[2].file, "25/c.jpg");
  EXPECT_EQ(r.manifest.rows[2].age, 25);
  EXPECT_EQ(r.manifest.rows[2].gender, "");
  ASSERT_EQ(r.skipped.size(), 3u);  // 999/, loose.jpg, misc/ (sorted)
  EXPECT_EQ(r.skipped[0].file, "999/");
  EXPECT_EQ(r.skipped[1].file, "loose.jpg");
  EXPECT_EQ(r.skipped[2].file, "misc/");
}

TEST(Adapters, CsvWithColumnMapAndImageRoot) {
  testing::TempDir dir;
  write_file_atomic(dir.file("meta/labels.csv"),
                    std::string("path,Age,sex,who\n"
                                "a.jpg,30,M,p1\n"
                                "\"b, 2.jpg\",41,female,p2\n"
                                "c.jpg,abc,m,p3\n"
                                "d.jpg,20,alien,p4\n"
                                ",20,m,p5\n"));
  AdapterResult r = run("csv", dir.file("meta/labels.csv"), dir.file("pics"), "file=path,age=Age,gender=sex,subject=who");
  ASSERT_EQ(r.manifest.rows.size(), 2u);
  EXPECT_EQ(r.manifest.rows[0].path, dir.file("pics/a.jpg"));
  EXPECT_EQ(r.manifest.rows[0].gender, "male");
  EXPECT_EQ(r.manifest.rows[0].subject, "p1");
  EXPECT_EQ(r.manifest.rows[1].file, "b, 2.jpg");
  EXPECT_EQ(r.manifest.rows[1].age, 41);
  ASSERT_EQ(r.skipped.size(), 3u);
  EXPECT_EQ(r.skipped[0].file, "labels.csv line 4");
  EXPECT_NE(r.skipped[0].reason.find("age 'abc'"), std::string::npos);
  EXPECT_NE(r.skipped[1].reason.find("gender 'alien'"), std::string::npos);

  EXPECT_THROW(run("csv", dir.file("meta/labels.csv"), "", "file=nope,age=Age"), Error);
  EXPECT_THROW(run("csv", dir.file("meta/labels.csv"), "", "height=Age"), Error);
  EXPECT_THROW(run("csv", dir.file("meta/labels.csv")), Error);  // no 'file' column without a map
  EXPECT_THROW(parse_column_map("file"), Error);
}

TEST(Adapters, UtkfaceLabelsLayoutFindsImagesFolder) {
  testing::TempDir dir;
  write_file_atomic(dir.file("utk/labels.csv"), std::string("file,age,gender,race\n"
                                                            "1_0_0_2017.jpg,1,male,0\n"
                                                            "2_1_2_2017.jpg,2,female,2\n"));
  test::write_jpeg(dir.file("utk/images/1_0_0_2017.jpg"), 1);
  test::write_jpeg(dir.file("utk/images/2_1_2_2017.jpg"), 2);
  for (const auto& [format, source] : {std::pair<std::string, std::string>{"utkface-labels", dir.file("utk")},
                                       {"utkface-labels", dir.file("utk/labels.csv")},
                                       {"csv", dir.file("utk/labels.csv")}}) {
    SCOPED_TRACE(format + " " + source);
    AdapterResult r = run(format, source);
    ASSERT_EQ(r.manifest.rows.size(), 2u);
    EXPECT_EQ(r.manifest.rows[1].path, dir.file("utk/images/2_1_2_2017.jpg"));
    EXPECT_EQ(r.manifest.rows[1].race, 2);
    EXPECT_EQ(r.manifest.rows[1].gender, "female");
    EXPECT_TRUE(r.skipped.empty());
  }
}

}  // namespace
}  // namespace faceage::data
