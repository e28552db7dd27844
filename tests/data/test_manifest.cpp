#include "faceage/data/manifest.hpp"

#include <gtest/gtest.h>

#include <filesystem>

#include "faceage/core/error.hpp"
#include "faceage/core/fs.hpp"
#include "support/temp_dir.hpp"

namespace faceage::data {
namespace {

namespace fs = std::filesystem;

TEST(Manifest, ReadsAndNormalisesLabels) {
  testing::TempDir dir;
  write_file_atomic(dir.file("m/manifest.csv"),
                    std::string("file,age,gender,race,subject,split,extra\n"
                                "img/a.jpg,25,male,0,s1,train,x\n"
                                "\"img/b, c.jpg\",3,F,4,,test,\n"
                                "/abs/d.jpg,,1,,,,\n"
                                "e.jpg,40,0,2,s2,val,\n"));
  Manifest m = read_manifest(dir.file("m/manifest.csv"));
  const std::string base = (dir.path() / "m").lexically_normal().string();
  EXPECT_EQ(m.base_dir, base);
  ASSERT_EQ(m.rows.size(), 4u);
  EXPECT_EQ(m.rows[0].file, "img/a.jpg");
  EXPECT_EQ(m.rows[0].path, base + "/img/a.jpg");
  EXPECT_EQ(m.rows[0].age, 25);
  EXPECT_EQ(m.rows[0].gender, "male");
  EXPECT_EQ(m.rows[0].race, 0);
  EXPECT_EQ(m.rows[0].subject, "s1");
  EXPECT_EQ(m.rows[0].split, "train");
  EXPECT_EQ(m.rows[1].file, "img/b, c.jpg");
  EXPECT_EQ(m.rows[1].gender, "female");
  EXPECT_EQ(m.rows[2].path, "/abs/d.jpg");
  EXPECT_EQ(m.rows[2].age, -1);
  EXPECT_EQ(m.rows[2].gender, "female");  // UTKFace: 1 = female
  EXPECT_EQ(m.rows[2].race, -1);
  EXPECT_EQ(m.rows[3].gender, "male");    // UTKFace: 0 = male
}

TEST(Manifest, BadValuesNameLineAndColumn) {
  testing::TempDir dir;
  auto error_for = [&](const std::string& text) -> std::string {
    write_file_atomic(dir.file("bad.csv"), text);
    try {
      read_manifest(dir.file("bad.csv"));
    } catch (const Error& e) {
      EXPECT_EQ(e.code(), ErrorCode::kInvalidArgument);
      return e.what();
    }
    return "no error";
  };
  EXPECT_NE(error_for("file,age\na.jpg,1\nb.jpg,old\n").find("line 3, column 2 ('age')"), std::string::npos);
  EXPECT_NE(error_for("file,age\na.jpg,151\n").find("line 2, column 2"), std::string::npos);
  EXPECT_NE(error_for("file,age,gender\na.jpg,1,robot\n").find("column 3 ('gender')"), std::string::npos);
  EXPECT_NE(error_for("file,age,race\na.jpg,1,5\n").find("('race')"), std::string::npos);
  EXPECT_NE(error_for("file,age,split\na.jpg,1,holdout\n").find("('split')"), std::string::npos);
  EXPECT_NE(error_for("file,age\n,1\n").find("('file')"), std::string::npos);
  EXPECT_NE(error_for("path,age\na.jpg,1\n").find("'file' and 'age'"), std::string::npos);
  try {
    read_manifest(dir.file("missing.csv"));
    FAIL();
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::kNotFound);
  }
}

TEST(Manifest, WriteIsRelativeToTheOutputAndRoundTrips) {
  testing::TempDir dir;
  Manifest m;
  m.base_dir = (dir.path() / "images").string();
  ManifestRow a;
  a.file = "x, \"y\".jpg";
  a.age = 30;
  a.gender = "female";
  a.race = 2;
  ManifestRow b;
  b.file = "sub/z.jpg";
  b.path = (dir.path() / "images/sub/z.jpg").string();
  b.age = -1;
  m.rows = {a, b};

  const std::string out = dir.file("out/manifest.csv");
  write_manifest(m, out);
  const std::string text = read_file_text(out);
  EXPECT_EQ(text, "file,age,gender,race\n\"../images/x, \"\"y\"\".jpg\",30,female,2\n../images/sub/z.jpg,,,\n");

  Manifest back = read_manifest(out);
  ASSERT_EQ(back.rows.size(), 2u);
  EXPECT_EQ(fs::path(back.rows[0].path), (dir.path() / "images/x, \"y\".jpg").lexically_normal());
  EXPECT_EQ(back.rows[0].age, 30);
  EXPECT_EQ(back.rows[0].gender, "female");
  EXPECT_EQ(back.rows[0].race, 2);
  EXPECT_EQ(fs::path(back.rows[1].path), (dir.path() / "images/sub/z.jpg").lexically_normal());
  EXPECT_EQ(back.rows[1].age, -1);

  // Writing the read manifest elsewhere resolves the same files.
  write_manifest(back, dir.file("deeper/still/m2.csv"));
  Manifest again = read_manifest(dir.file("deeper/still/m2.csv"));
  EXPECT_EQ(again.rows[0].path, back.rows[0].path);
  EXPECT_EQ(again.rows[1].path, back.rows[1].path);
}

TEST(Manifest, ExtraColumnsFollowAndReadersIgnoreThem) {
  testing::TempDir dir;
  Manifest m;
  m.base_dir = dir.path().string();
  ManifestRow a;
  a.file = "a.jpg";
  a.age = 4;
  ManifestRow b;
  b.file = "b.jpg";
  b.age = 60;
  b.split = "val";
  m.rows = {a, b};
  const std::string out = dir.file("m.csv");
  write_manifest(m, out, {{"degradations", {"grayscale+jpeg20", "none"}}});
  EXPECT_EQ(read_file_text(out), "file,age,gender,split,degradations\na.jpg,4,,,grayscale+jpeg20\nb.jpg,60,,val,none\n");
  const Manifest back = read_manifest(out);
  ASSERT_EQ(back.rows.size(), 2u);
  EXPECT_EQ(back.rows[1].age, 60);
  EXPECT_EQ(back.rows[1].split, "val");
  try {
    write_manifest(m, out, {{"degradations", {"one value"}}});
    ADD_FAILURE() << "a column with the wrong number of values was written";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::kInternal);
  }
}

TEST(Manifest, LabelParsers) {
  std::string g;
  EXPECT_TRUE(parse_gender(" M ", g));
  EXPECT_EQ(g, "male");
  EXPECT_TRUE(parse_gender("Female", g));
  EXPECT_EQ(g, "female");
  EXPECT_TRUE(parse_gender("", g));
  EXPECT_EQ(g, "");
  EXPECT_FALSE(parse_gender("2", g));
  int v = 0;
  EXPECT_TRUE(parse_age("0", v));
  EXPECT_EQ(v, 0);
  EXPECT_FALSE(parse_age("-1", v));
  EXPECT_FALSE(parse_age("25.5", v));
  EXPECT_TRUE(parse_race("4", v));
  EXPECT_FALSE(parse_race("5", v));
}

TEST(Manifest, ImagesOfSplitAreDistinctInManifestOrderWithTheirWrittenNames) {
  Manifest m;
  m.base_dir = "/data";
  m.rows = {{"b.jpg", "", 30, "", -1, "", "val"},  {"a.jpg", "", 20, "", -1, "", "train"},
            {"./b.jpg", "", 30, "", -1, "", "val"}, {"c.jpg", "", 40, "", -1, "", "val"},
            {"/abs/d.jpg", "", 5, "", -1, "", ""}};
  const auto val = images_of_split(m, "val", "m.csv");
  EXPECT_EQ(val.paths, (std::vector<std::string>{"/data/b.jpg", "/data/c.jpg"}));  // ./b.jpg is b.jpg again
  EXPECT_EQ(val.file_of_path.at("/data/b.jpg"), "b.jpg");                          // the first row's name
  EXPECT_EQ(val.file_of_path.at("/data/c.jpg"), "c.jpg");
  EXPECT_EQ(images_of_split(m, "", "m.csv").paths.size(), 4u);
  try {
    images_of_split(m, "test", "m.csv");
    FAIL() << "an empty selection was accepted";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::kInvalidArgument);
    EXPECT_NE(std::string(e.what()).find("m.csv: no rows in split 'test'"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace faceage::data
